// `npm run create-admin`: runs src/cli/create-admin.ts through tsx in a source checkout, or the compiled
// dist/cli/create-admin.js where only the build is present (the production image ships no src/ nor tsx).
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/create-admin.ts', import.meta.url);
const compiled = new URL('../dist/cli/create-admin.js', import.meta.url);

if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  process.stderr.write('create-admin: neither src/cli/create-admin.ts nor dist/cli/create-admin.js is present.\n');
  process.exit(1);
}
