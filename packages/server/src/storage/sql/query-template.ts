import type { Compilable, CompiledQuery, Kysely, QueryResult } from 'kysely';
import type { Database } from './schema.ts';

type Db = Kysely<Database>;

/** Where a named parameter goes while a template is compiled; replaced by the value at each run. */
class Slot {
  constructor(readonly name: string) {}
}

type Binding = { slot: string } | { constant: unknown };

interface Compiled {
  query: CompiledQuery;
  bindings: Binding[];
}

/**
 * A query of fixed shape, built and compiled by Kysely once per SQL dialect and then run with new
 * parameter values. Building and compiling are most of Kysely's cost for the small, hot queries of
 * a token request; the SQL text and its placeholders never change between calls, only the values.
 *
 * `build` receives the parameters as stand-ins and must use each one as a plain value (a column
 * value, a comparison operand), never to decide the query's shape: no array parameter spread into
 * an `in` list (a list of separate parameters, fixed in length, is fine), no branches on a value,
 * no `undefined` to leave a column out. The first run fixes the parameter names; every run must
 * pass the same names.
 */
export class QueryTemplate<P extends Record<string, unknown>, R> {
  readonly #build: (db: Db, params: P) => Compilable<R>;
  readonly #byDialect = new WeakMap<object, Compiled>();

  constructor(build: (db: Db, params: P) => Compilable<R>) {
    this.#build = build;
  }

  /** Runs the query on `db` (the store's connection or a transaction) with `params`. */
  async run(db: Db, params: P): Promise<QueryResult<R>> {
    // A transaction shares its Kysely instance's adapter, so both reuse one compiled query.
    const dialectKey = db.getExecutor().adapter;
    let compiled = this.#byDialect.get(dialectKey);
    if (!compiled) {
      compiled = this.#compile(db, params);
      this.#byDialect.set(dialectKey, compiled);
    }
    const parameters: unknown[] = new Array(compiled.bindings.length);
    for (let i = 0; i < parameters.length; i++) {
      const binding = compiled.bindings[i] as Binding;
      if ('constant' in binding) {
        parameters[i] = binding.constant;
      } else {
        if (!(binding.slot in params)) throw new TypeError(`query parameter "${binding.slot}" is missing`);
        parameters[i] = params[binding.slot];
      }
    }
    return db.executeQuery<R>({ ...compiled.query, parameters } as CompiledQuery<R>);
  }

  #compile(db: Db, params: P): Compiled {
    const stand = Object.fromEntries(Object.keys(params).map((name) => [name, new Slot(name)])) as P;
    const query = this.#build(db, stand).compile();
    const bindings = query.parameters.map(
      (value): Binding => (value instanceof Slot ? { slot: value.name } : { constant: value }),
    );
    return { query, bindings };
  }
}

/** Declares a query template; see `QueryTemplate`. */
export function queryTemplate<P extends Record<string, unknown>, R>(
  build: (db: Db, params: P) => Compilable<R>,
): QueryTemplate<P, R> {
  return new QueryTemplate(build);
}
