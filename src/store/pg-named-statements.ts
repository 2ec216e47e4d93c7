// PostgreSQL parses and plans an unnamed statement every time it runs, and Kysely sends every query unnamed.
// The store's prepared queries (store/prepared.ts: a close's statements, the assignment's, the identity and
// conversation reads behind every request) run thousands of times a second across instances. This client class
// gives each of them a name, so that each connection parses it once and PostgreSQL settles on a generic plan
// after its first five runs. In a loop of a close's statements that halved the backend's CPU per transaction
// (bench/README.md, "PostgreSQL named statements").
//
// Only those queries are named, because a generic plan is made once for every parameter value: right for a
// lookup by primary key, which is what each of them is, and wrong where the best plan depends on the value
// (a status that is rare in a large table) or on a table's growth (the message writer's batch, which stays
// unnamed for that reason: see pg-message-writer.ts).
//
// A named statement outlives a schema change: after a migration adds a column to a table, a `select *` from it
// that a connection prepared before fails once on that connection with "cached plan must not change result
// type" (0A000), and runs from then on (test/contract/pg-named-statements.test.ts). During a rolling upgrade
// whose migration changes columns, the instances still on the old version see that once per connection and
// statement.
import pg from 'pg';
import { createHash } from 'node:crypto';

/** Text -> name, for the texts the store asked to name (names are per connection on the server, so one serves all). */
const names = new Map<string, string>();

/** Runs `text` as a named statement from now on (store/prepared.ts calls it for each query it compiles). */
export function nameOnServer(text: string): void {
  if (!names.has(text)) names.set(text, `sb_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`);
}

export class NamedStatementClient extends pg.Client {
  // pg's overloads are many; only the forms Kysely (text, values) and pg's pool (text, values, callback) use
  // are named: everything else goes through untouched.
  override query(...args: unknown[]): any {
    const [text, values, callback] = args;
    const name = typeof text === 'string' && Array.isArray(values) && values.length > 0 ? names.get(text) : undefined;
    if (name === undefined || args.length > 3 || (args.length === 3 && typeof callback !== 'function')) {
      return (super.query as (...a: unknown[]) => unknown)(...args);
    }
    const config = { name, text: text as string, values: values as unknown[] };
    return args.length === 3 ? super.query(config, callback as (err: Error, res: pg.QueryResult) => void) : super.query(config);
  }
}
