// npm run create-admin -- --username NAME [--email E]
//
// Creates an admin account on the configured store (the server's own environment: DATA_DIR, or
// DATABASE_URL for PostgreSQL). The password comes from ADMIN_PASSWORD or from a prompt (hidden on a
// terminal), never from an argument: arguments end up in shell history and in every process listing.
//
// It does not take the DATA_DIR lock file, so it also works while the server runs (SQLite in WAL mode
// lets a second connection write); the running server sees the new admin at once.
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { loadConfig, ConfigError } from '../config.ts';
import { openPostgres, openSqlite } from '../store/open.ts';
import { hashPassword } from '../auth/passwords.ts';
import { UsernameTaken } from '../store/port.ts';

const USAGE = 'Usage: npm run create-admin -- --username NAME [--email EMAIL]\n' + 'The password is read from ADMIN_PASSWORD, or prompted for.\n';
// The same rules as registration (src/http/routes/accounts.ts).
const USERNAME = /^[\w.@+-]{1,150}$/;
const EMAIL = /^[^@\s]+@[^@\s]+$/;

class UsageError extends Error {}

function parse(argv: string[]): { username: string; email: string } {
  if (argv.some((a) => /^-{1,2}(?:p|pw|pwd|pass|passwd|password)(?:[=_-]|$)/i.test(a) || /^-p./.test(a))) {
    throw new UsageError(
      'Passwords are never accepted as arguments (they would land in shell history and process listings).\n' +
        'Set ADMIN_PASSWORD in the environment, or run without it to be prompted.',
    );
  }
  let values: { username?: string; email?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { username: { type: 'string', short: 'u' }, email: { type: 'string', short: 'e' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const username = values.username?.trim() ?? '';
  if (!username) throw new UsageError('--username is required.');
  if (!USERNAME.test(username)) throw new UsageError('The username may hold letters, digits and @.+-_ only, up to 150 characters.');
  const email = values.email?.trim() ?? '';
  if (email && (!EMAIL.test(email) || email.includes('\u0000') || email.length > 254)) throw new UsageError(`"${email}" is not a valid email address.`);
  return { username, email };
}

/** Reads one line from a terminal without echoing it. */
function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let value = '';
    // Raw mode (no echo) before the question, so nothing typed after the question can be echoed.
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    process.stderr.write(question);
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done();
        if (ch === '\u0003') return done(new UsageError('Cancelled.'));
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** Reads the first line of a non-terminal stdin (a pipe or a file). */
function readLine(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    process.stderr.write(question);
    const rl = createInterface({ input: process.stdin, terminal: false });
    let answered = false;
    rl.once('line', (line) => {
      answered = true;
      rl.close();
      resolve(line);
    });
    rl.once('close', () => {
      if (!answered) reject(new UsageError('No password given: set ADMIN_PASSWORD or type one at the prompt.'));
    });
  });
}

async function readPassword(): Promise<string> {
  const fromEnv = process.env.ADMIN_PASSWORD;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (process.stdin.isTTY) {
    const first = await promptHidden('Password: ');
    const second = await promptHidden('Password (again): ');
    if (first !== second) throw new UsageError('The passwords did not match.');
    return first;
  }
  return readLine('Password: ');
}

async function main(): Promise<number> {
  const { username, email } = parse(process.argv.slice(2));
  const config = loadConfig();
  const password = await readPassword();
  if (password.length === 0) throw new UsageError('The password may not be empty.');
  if (password.length > 1024) throw new UsageError('The password may hold at most 1024 characters.');
  if (password.includes('\u0000')) throw new UsageError('The password may not contain NUL characters.');

  const store = config.databaseUrl ? await openPostgres({ url: config.databaseUrl, poolSize: 2 }) : await openSqlite({ file: join(config.dataDir, 'switchboard.sqlite3') });
  try {
    if (await store.findUserByUsername(username)) throw new UsernameTaken();
    const user = await store.createAdmin({ username, email, firstName: '', lastName: '', passwordHash: await hashPassword(password) });
    const where = config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : join(config.dataDir, 'switchboard.sqlite3');
    process.stdout.write(`Created admin "${user.username}" (user id ${user.id}) in ${where}.\n`);
    return 0;
  } finally {
    await store.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`create-admin: ${err.message}\n${USAGE}`);
      process.exit(2);
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`create-admin: configuration error: ${err.message}\n`);
      process.exit(2);
    }
    if (err instanceof UsernameTaken) {
      process.stderr.write(`create-admin: a user with that username already exists.\n`);
      process.exit(1);
    }
    process.stderr.write(`create-admin: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
