// PostgreSQL parses and plans an unnamed statement every time it runs, and Kysely sends every query unnamed.
// A close runs about a dozen small statements and the message writer one large one, thousands of times a
// second across instances: this client class names each distinct parameterized text, so that each connection
// parses it once and PostgreSQL settles on a generic plan after its first five runs. In a loop of a close's
// statements it halved the backend's CPU per transaction (bench/README.md, "PostgreSQL named statements").
//
// A named statement outlives a schema change: after a migration adds a column to a table, a `select *` from it
// that a connection prepared before fails once on that connection with "cached plan must not change result
// type" (0A000), and runs from then on (test/contract/pg-named-statements.test.ts). During a rolling upgrade
// whose migration changes columns, the instances still on the old version see that once per connection and
// statement.
import pg from 'pg';
import { createHash } from 'node:crypto';

/** Distinct texts named at most: a query built with a variable-length list has one text per length. */
export const MAX_NAMED_TEXTS = 1000;

/** One process-wide name per text (names are per connection on the server, so one name serves every connection). */
const names = new Map<string, string>();

function nameFor(text: string): string | undefined {
  const known = names.get(text);
  if (known !== undefined || names.size >= MAX_NAMED_TEXTS) return known;
  const name = `sb_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
  names.set(text, name);
  return name;
}

export class NamedStatementClient extends pg.Client {
  // pg's overloads are many; only the forms Kysely (text, values) and pg's pool (text, values, callback) use
  // are named: everything else goes through untouched.
  override query(...args: unknown[]): any {
    const [text, values, callback] = args;
    const name = typeof text === 'string' && Array.isArray(values) && values.length > 0 ? nameFor(text) : undefined;
    if (name === undefined || args.length > 3 || (args.length === 3 && typeof callback !== 'function')) {
      return (super.query as (...a: unknown[]) => unknown)(...args);
    }
    const config = { name, text: text as string, values: values as unknown[] };
    return args.length === 3 ? super.query(config, callback as (err: Error, res: pg.QueryResult) => void) : super.query(config);
  }
}
