// Copies what tsc does not emit (the routing Lua scripts, the plain-JavaScript worker entry points) from src/ into dist/, keeping their paths.
import { cpSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src');
const dist = join(root, 'dist');

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.lua') || name.endsWith('.mjs')) cpSync(path, join(dist, relative(src, path)));
  }
}
walk(src);
