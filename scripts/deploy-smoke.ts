// The compose stack, checked from outside as a user would (npm run test:deploy runs it):
// an admin made with `npm run create-admin` inside a container, a rep and a customer chatting across the
// two replicas through nginx, then the customer's replica stopped with SIGTERM (docker stop) and the
// customer resuming through nginx on the other, with nothing lost.
// Usage: node --import tsx scripts/deploy-smoke.ts <nginx base url> <compose command...>
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import assert from 'node:assert/strict';
import { chatPath, connect, http, login, openConversation, registerCustomer, uniqueName, type TestSocket } from '../test/helpers/client.ts';

const [base, ...compose] = process.argv.slice(2);
if (!base || compose.length === 0) throw new Error('usage: deploy-smoke.ts <base url> <compose command...>');
const wsBase = base.replace(/^http/, 'ws');
const run = (args: string[], input?: string) => execFileSync(compose[0], [...compose.slice(1), ...args], { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
const docker = (args: string[]) => execFileSync('/usr/bin/docker', args, { encoding: 'utf8' });
const step = (what: string) => process.stdout.write(`smoke: ${what}\n`);

const container = (service: string) => run(['ps', '-q', service]).trim();
// The app logs JSON lines to stdout.
const logsOf = (service: string) => docker(['logs', container(service)]);
const homeOf = (userId: number, conv: string) =>
  ['app1', 'app2'].find((s) => logsOf(s).split('\n').some((l) => l.includes('"socket ready"') && l.includes(`"userId":${userId}`) && l.includes(conv)));

async function main() {
  const password = `pw-${uniqueName('admin')}`;
  const adminName = uniqueName('admin');
  const made = run(['exec', '-T', '-e', `ADMIN_PASSWORD=${password}`, 'app1', 'npm', 'run', '-s', 'create-admin', '--', '--username', adminName]);
  assert.match(made, /Created admin/);
  step(`create-admin in the container: ${made.trim()}`);
  const admin = await login(base, adminName, password);
  const repName = uniqueName('rep');
  const created = await http(base, 'POST', '/api/admin/reps/', {
    token: admin.access,
    body: { user: { username: repName, email: `${repName}@example.com`, first_name: 'Rep', last_name: 'X' }, max_capacity: 3, password: 'pw-123456', password1: 'pw-123456' },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const rep = { ...(await login(base, repName, 'pw-123456')), userId: created.body.user.id as number };
  const refused = await http(base, 'POST', '/api/register_customer_rep/', {
    body: { user: { username: uniqueName('rep'), email: 'x@example.com', first_name: 'R', last_name: 'X' }, max_capacity: 3, password: 'pw-123456', password1: 'pw-123456' },
  });
  assert.ok(refused.status === 401 || refused.status === 403, `REP_REGISTRATION=admin refuses an anonymous rep (${refused.status})`);

  const cust = await registerCustomer(base);
  const conv = await openConversation(base, cust);
  const c = connect(wsBase, chatPath(conv), { token: cust.access, header: false });
  await c.waitType('assigned', 30_000);
  let r: TestSocket | undefined;
  let custHome: string | undefined;
  for (let attempt = 0; attempt < 8 && !r; attempt++) {
    const s = connect(wsBase, chatPath(conv), { token: rep.access });
    await s.opened;
    s.send({ type: 'ping' });
    await s.waitType('pong');
    custHome = homeOf(cust.userId, conv);
    const repHome = homeOf(rep.userId, conv);
    if (custHome && repHome && custHome !== repHome) r = s;
    else {
      s.close();
      await s.waitClose();
    }
  }
  assert.ok(r && custHome, 'the customer and the rep are on different replicas');
  step(`customer on ${custHome}, rep on the other replica`);
  c.send({ type: 'message', text: 'hello', client_id: 'c1' });
  await r.waitFor((f) => f.type === 'message' && f.message === 'hello');
  r.send({ type: 'message', text: 'hi, how can I help?', client_id: 'r1' });
  await c.waitFor((f) => f.type === 'message' && f.message === 'hi, how can I help?');
  step('chat across replicas through nginx: ok');

  for (let i = 1; i <= 10; i++) c.send({ type: 'message', text: `m${i}`, client_id: `d${i}` });
  await c.waitFor((f) => f.type === 'message' && f.client_id === 'd3');
  const victim = container(custHome);
  // Asynchronously: a blocking call would freeze this client, which then never answers the close handshake,
  // and the replica's drain would wait for it until its 10 s bound (exit 1).
  const stopped = promisify(execFile)('/usr/bin/docker', ['stop', '-t', '15', victim]);
  assert.equal(await c.waitClose(20_000), 1012);
  await stopped;
  const exitCode = docker(['inspect', '-f', '{{.State.ExitCode}}', victim]).trim();
  assert.equal(exitCode, '0', 'the replica exits 0 after draining');
  step(`docker stop (SIGTERM) ${custHome}: socket closed 1012, exit ${exitCode}`);
  const lastSeq = Math.max(...c.ofType('message').map((f) => f.seq as number));
  const back = connect(wsBase, chatPath(conv), { token: cust.access, header: false, query: `last_seq=${lastSeq}` });
  await back.opened;
  back.send({ type: 'message', text: 'after', client_id: 'after' });
  const afterFrame = await back.waitFor((f) => f.type === 'message' && f.client_id === 'after');
  await r.waitFor((f) => f.type === 'message' && f.client_id === 'after');
  const history = await http(base, 'GET', `/api/conversations/${conv}/messages/?limit=100`, { token: cust.access });
  const seqs = history.body.map((m: any) => m.seq).sort((a: number, b: number) => a - b);
  assert.deepEqual(seqs, Array.from({ length: afterFrame.seq }, (_, i) => i + 1), 'gapless history');
  for (let i = 1; i <= 10; i++) assert.ok(history.body.some((m: any) => m.text === `m${i}`), `m${i} stored`);
  step(`resumed through nginx on the other replica: ${afterFrame.seq} messages, gapless, nothing lost`);
  back.close();
  r.close();
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`smoke: FAILED: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
