/**
 * Schema migrations, applied in name order by kysely's Migrator at start-up. Each dialect gets the id column
 * it supports (SQLite/MySQL auto-increment, PostgreSQL serial). Never edit a released migration: add one.
 */
import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely';
import type { DbKind } from './db-url.js';

function imcRoomsMembers(kind: DbKind): Migration {
  const id = kind === 'postgres' ? 'serial' : 'integer';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('imc_rooms')
        .addColumn('id', id, (c) => (kind === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('name', 'varchar(64)', (c) => c.notNull())
        .addColumn('domain', 'varchar(64)', (c) => c.notNull())
        .addColumn('flag', 'integer', (c) => c.notNull().defaultTo(0))
        .addUniqueConstraint('imc_rooms_name_domain', ['name', 'domain'])
        .execute();
      await db.schema
        .createTable('imc_members')
        .addColumn('id', id, (c) => (kind === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('room_id', 'integer', (c) => c.notNull())
        .addColumn('username', 'varchar(64)', (c) => c.notNull())
        .addColumn('domain', 'varchar(64)', (c) => c.notNull())
        .addColumn('flag', 'integer', (c) => c.notNull().defaultTo(0))
        .addUniqueConstraint('imc_members_room_user', ['room_id', 'username', 'domain'])
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('imc_members').execute();
      await db.schema.dropTable('imc_rooms').execute();
    },
  };
}

/** All migrations by name (sorted by name when applied). */
export function migrationsFor(kind: DbKind): Record<string, Migration> {
  return { '0001_imc_rooms_members': imcRoomsMembers(kind) };
}

/** Brings the schema up to date; throws with kysely's error when a migration fails. */
export async function migrateToLatest(db: Kysely<unknown>, kind: DbKind): Promise<string[]> {
  const provider: MigrationProvider = { getMigrations: async () => migrationsFor(kind) };
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
