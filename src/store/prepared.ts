// Queries built once: the hottest statements (a close, the next assignment, the identity and conversation
// reads behind every request) are written with Kysely as everywhere else, compiled on first use, and from
// then on only their parameters change. Building and compiling a Kysely query cost about as much CPU as
// SQLite running it (bench/README.md, "Close churn"); the SQL and the way it runs are the same.
import type { Compilable, CompiledQuery, Kysely, QueryResult } from 'kysely';
import type { Database } from './schema.ts';
import { nameOnServer } from './pg-named-statements.ts';

/** Stands for the i-th argument while the query is built; found again among the compiled parameters. */
class Slot {
  constructor(readonly index: number) {}
}

type Param = { slot: number } | { value: unknown };

export type PreparedQuery<A extends unknown[], O> = (executor: Kysely<Database>, ...args: A) => Promise<QueryResult<O>>;

/**
 * `build` is called once, with placeholders for its arguments, and must pass each argument to Kysely as a
 * value (a parameter of the compiled SQL), never inspect it or use it to choose the query's shape.
 * Every argument must reach the compiled parameters at least once, which is checked at that first build.
 * `executor` is the store's Kysely instance or a transaction of it; the query runs there, as `.execute()` would.
 */
export function prepare<A extends unknown[], O>(root: Kysely<Database>, build: (db: Kysely<Database>, ...args: A) => Compilable<O>): PreparedQuery<A, O> {
  let compiled: { query: CompiledQuery<O>; params: Param[] } | undefined;
  const arity = build.length - 1;
  const compile = () => {
    const slots = Array.from({ length: arity }, (_, i) => new Slot(i));
    const query = build(root, ...(slots as unknown as A)).compile();
    // PostgreSQL: parsed once per connection, with a generic plan (each of these is a lookup by key).
    nameOnServer(query.sql);
    const params: Param[] = query.parameters.map((p) => (p instanceof Slot ? { slot: p.index } : { value: p }));
    for (let i = 0; i < arity; i++) {
      if (!params.some((p) => 'slot' in p && p.slot === i)) throw new Error(`prepared query: argument ${i} is not a parameter of ${query.sql}`);
    }
    return { query, params };
  };
  return (executor, ...args) => {
    compiled ??= compile();
    const { query, params } = compiled;
    const parameters = params.map((p) => ('slot' in p ? args[p.slot] : p.value));
    return executor.executeQuery<O>({ ...query, parameters });
  };
}
