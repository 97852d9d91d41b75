/**
 * The SQL layer: one kysely instance over SQLite (default, better-sqlite3), PostgreSQL (pg) or MySQL
 * (mysql2), chosen by URL, with the schema migrated on open. pg and mysql2 load only when asked for.
 */
import Database from 'better-sqlite3';
import { Kysely, MysqlDialect, PostgresDialect, SqliteDialect } from 'kysely';
import { type DbKind, parseDbUrl } from './db-url.js';
import { migrateToLatest } from './migrations.js';
import type { StoreSchema } from './schema.js';

export interface SqlStore {
  db: Kysely<StoreSchema>;
  kind: DbKind;
  /** Closes the pool / file. */
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Connections in the pool (PostgreSQL/MySQL). Default 5. */
  poolSize?: number;
}

/** Opens the database named by `url` (see db-url.ts) and applies pending migrations. */
export async function openSqlStore(url: string | undefined, opts: OpenOptions = {}): Promise<SqlStore> {
  const target = parseDbUrl(url);
  let db: Kysely<StoreSchema>;
  if (target.kind === 'sqlite') {
    const file = new Database(target.location);
    // WAL lets the ops sub-commands read while the service writes.
    if (target.location !== ':memory:') file.pragma('journal_mode = WAL');
    file.pragma('busy_timeout = 5000');
    db = new Kysely<StoreSchema>({ dialect: new SqliteDialect({ database: file }) });
  } else if (target.kind === 'postgres') {
    const pg = await import('pg');
    const Pool = pg.default.Pool;
    const pool = new Pool({ connectionString: target.location, max: opts.poolSize ?? 5 });
    // An idle client losing its server must not crash the process; the next query reconnects.
    pool.on('error', () => {});
    db = new Kysely<StoreSchema>({ dialect: new PostgresDialect({ pool }) });
  } else {
    const mysql = await import('mysql2');
    const pool = mysql.createPool({ uri: target.location, connectionLimit: opts.poolSize ?? 5 });
    db = new Kysely<StoreSchema>({ dialect: new MysqlDialect({ pool }) });
  }
  try {
    await migrateToLatest(db as Kysely<unknown>, target.kind);
  } catch (e) {
    await db.destroy();
    throw e;
  }
  return { db, kind: target.kind, close: () => db.destroy() };
}

/** True for a unique-constraint violation in any of the three databases (a lost race on insert). */
export function isUniqueViolation(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const code = (e as { code?: unknown }).code;
  return (
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    code === '23505' ||
    code === 'ER_DUP_ENTRY'
  );
}
