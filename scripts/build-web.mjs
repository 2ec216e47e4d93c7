// Builds the browser console into web/dist/ when it is missing or older than its sources, so that
// `npm start` serves a working console with no extra step. `--force` always builds.
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = fileURLToPath(new URL('../web/', import.meta.url));
const stamp = join(web, 'dist', '.built');

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'dist' || e.name === 'node_modules') continue;
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

export async function buildWeb({ force = false } = {}) {
  if (!force && existsSync(stamp) && statSync(stamp).mtimeMs >= newest(web)) return false;
  let vite;
  try {
    vite = await import('vite');
  } catch {
    if (existsSync(stamp)) return false;
    process.stderr.write('The web console is not built and vite is not installed (npm install): /chat/, /agent/ and /admin/ answer 503.\n');
    return false;
  }
  const started = Date.now();
  await vite.build({ configFile: join(web, 'vite.config.ts') });
  writeFileSync(stamp, new Date().toISOString() + '\n');
  process.stderr.write(`Built the web console in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildWeb({ force: process.argv.includes('--force') }).catch((err) => {
    process.stderr.write(`Web console build failed: ${err.message}\n`);
    process.exit(1);
  });
}
