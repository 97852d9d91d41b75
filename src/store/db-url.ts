/**
 * Database URLs accepted by `--db`: `sqlite:PATH` (or a bare path), `sqlite::memory:` / `:memory:` for tests,
 * `postgres://…` / `postgresql://…`, `mysql://…`.
 */
export type DbKind = 'sqlite' | 'postgres' | 'mysql';

export interface DbTarget {
  kind: DbKind;
  /** SQLite: file path or ':memory:'. Others: the connection URL as given. */
  location: string;
}

/** The file used when `--db` is omitted: in the working directory. */
export const DEFAULT_SQLITE_FILE = 'sipmedia-imc.sqlite';

/** Parses a `--db` value; throws Error with a message fit for the user when it cannot be used. */
export function parseDbUrl(url: string | undefined): DbTarget {
  if (url === undefined || url === '') return { kind: 'sqlite', location: DEFAULT_SQLITE_FILE };
  if (url === ':memory:') return { kind: 'sqlite', location: ':memory:' };
  const m = /^([a-z][a-z0-9+.-]*):/i.exec(url);
  const scheme = m?.[1]?.toLowerCase();
  if (scheme === 'sqlite' || scheme === 'sqlite3' || scheme === 'file') {
    let rest = url.slice(scheme.length + 1);
    if (rest.startsWith('//')) rest = rest.slice(2);
    if (rest === '') throw new Error(`database URL '${url}' has no file path`);
    return { kind: 'sqlite', location: rest };
  }
  if (scheme === 'postgres' || scheme === 'postgresql') return { kind: 'postgres', location: url };
  if (scheme === 'mysql') return { kind: 'mysql', location: url };
  // Windows drive letters aside, anything else with a scheme is a mistake; a bare path means SQLite.
  if (scheme !== undefined && scheme.length > 1)
    throw new Error(`unsupported database URL scheme '${scheme}:' (use sqlite:, postgres:// or mysql://)`);
  return { kind: 'sqlite', location: url };
}

/** The URL with any password replaced, for logs. */
export function redactDbUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@');
}
