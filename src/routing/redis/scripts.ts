// Loads the routing Lua scripts: one file per atomic operation, named `<operation>-<number of keys>.lua`,
// with `--- @include "<name>"` lines replaced by the shared helpers from includes/ (each inlined once).
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface LuaScript {
  name: string;
  numberOfKeys: number;
  lua: string;
}

const SCRIPT_DIR = dirname(fileURLToPath(import.meta.url));
const INCLUDE = /^--- @include "([^"]+)"[ \t]*$/gm;

function inline(file: string, seen: Set<string>): string {
  const source = readFileSync(file, 'utf8');
  return source.replace(INCLUDE, (_line, name: string) => {
    const path = resolve(dirname(file), name.endsWith('.lua') ? name : `${name}.lua`);
    if (seen.has(path)) return '';
    seen.add(path);
    return inline(path, seen);
  });
}

let cache: Map<string, LuaScript> | undefined;

/** Every script in this directory, by operation name. Read once per process. */
export function routingScripts(): Map<string, LuaScript> {
  if (cache) return cache;
  const scripts = new Map<string, LuaScript>();
  for (const file of readdirSync(SCRIPT_DIR)) {
    const match = /^([A-Za-z]+)-(\d+)\.lua$/.exec(file);
    if (!match) continue;
    const [, name, keys] = match;
    scripts.set(name, { name, numberOfKeys: Number(keys), lua: inline(join(SCRIPT_DIR, file), new Set()) });
  }
  cache = scripts;
  return scripts;
}
