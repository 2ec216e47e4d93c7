// The shipped deploy/nginx.conf, rendered with test upstreams and a free port, run as a real nginx.
// Under CI=true a missing nginx is a failure, not a skip.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './processes.ts';
import { eventually } from './wait.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const NGINX_CONF = join(ROOT, 'deploy', 'nginx.conf');

function nginxBinary(): string | undefined {
  for (const candidate of [process.env.NGINX_BIN, '/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx']) {
    if (candidate && existsSync(candidate)) return candidate;
  }
  const which = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() : undefined;
}

/** Returns a skip reason outside CI when nginx is missing; throws under CI=true. */
export function requireNginx(): string | false {
  if (nginxBinary()) return false;
  const reason = 'nginx is not installed (apt-get install nginx-light)';
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`${reason}; CI requires it.`);
  console.warn(`SKIPPING nginx tests: ${reason}`);
  return reason;
}

/** The shipped file with its upstream servers, listen port and log targets replaced; nothing else changes. */
export function renderNginxConf(upstreams: string[], port: number, dir: string): string {
  const shipped = readFileSync(NGINX_CONF, 'utf8');
  const servers = upstreams.map((u) => `        server ${u} max_fails=0;`).join('\n');
  const rendered = shipped
    .replace(/(# upstream-servers-begin\n)[\s\S]*?(\n\s*# upstream-servers-end)/, `$1${servers}$2`)
    .replace(/listen 80( backlog=\d+)?;/, `listen 127.0.0.1:${port}$1;`)
    .replace('access_log /dev/stdout switchboard;', `access_log ${join(dir, 'access.log')} switchboard;`)
    .replace('error_log /dev/stderr warn;', `error_log ${join(dir, 'error.log')} warn;\npid ${join(dir, 'nginx.pid')};`)
    // Temp files in the test's own folder, so that nothing needs the system's nginx directories.
    .replace(/http \{\n/, `http {\n    client_body_temp_path ${dir}/body;\n    proxy_temp_path ${dir}/proxy;\n    fastcgi_temp_path ${dir}/fastcgi;\n    uwsgi_temp_path ${dir}/uwsgi;\n    scgi_temp_path ${dir}/scgi;\n`);
  if (!rendered.includes(servers) || !rendered.includes(`listen 127.0.0.1:${port}`)) throw new Error('deploy/nginx.conf no longer has the upstream markers or `listen 80`');
  return rendered;
}

export interface RunningNginx {
  url: string;
  wsUrl: string;
  dir: string;
  accessLog(): string;
  stop(): Promise<void>;
}

export async function startNginx(upstreams: string[]): Promise<RunningNginx> {
  const bin = nginxBinary();
  if (!bin) throw new Error('nginx is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'sb-nginx-'));
  mkdirSync(join(dir, 'logs'));
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, renderNginxConf(upstreams, port, dir));
  const args = ['-p', dir, '-c', conf, '-e', join(dir, 'error.log'), '-g', 'daemon off;'];
  const check = spawnSync(bin, ['-t', ...args], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`nginx -t refused the rendered config: ${check.stderr}`);
  const proc: ChildProcess = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  await eventually(
    async () => {
      if (proc.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
      return (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) })).status > 0;
    },
    { timeoutMs: 10_000, intervalMs: 50, what: 'nginx answering /healthz' },
  );
  return {
    url,
    wsUrl: `ws://127.0.0.1:${port}`,
    dir,
    accessLog: () => readFileSync(join(dir, 'access.log'), 'utf8'),
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        await exited;
      }
    },
  };
}
