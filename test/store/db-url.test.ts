import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_SQLITE_FILE, parseDbUrl, redactDbUrl } from '../../src/store/db-url.js';

test('database URLs select the dialect', () => {
  assert.deepEqual(parseDbUrl(undefined), { kind: 'sqlite', location: DEFAULT_SQLITE_FILE });
  assert.deepEqual(parseDbUrl(':memory:'), { kind: 'sqlite', location: ':memory:' });
  assert.deepEqual(parseDbUrl('sqlite::memory:'), { kind: 'sqlite', location: ':memory:' });
  assert.deepEqual(parseDbUrl('sqlite:/var/lib/imc.db'), { kind: 'sqlite', location: '/var/lib/imc.db' });
  assert.deepEqual(parseDbUrl('sqlite:///var/lib/imc.db'), { kind: 'sqlite', location: '/var/lib/imc.db' });
  assert.deepEqual(parseDbUrl('rooms.db'), { kind: 'sqlite', location: 'rooms.db' });
  assert.equal(parseDbUrl('postgres://u:p@127.0.0.1:5432/imc').kind, 'postgres');
  assert.equal(parseDbUrl('postgresql://127.0.0.1/imc').kind, 'postgres');
  assert.equal(parseDbUrl('mysql://u:p@127.0.0.1/imc').kind, 'mysql');
  assert.throws(() => parseDbUrl('redis://x'), /unsupported database URL scheme/);
  assert.throws(() => parseDbUrl('sqlite:'), /no file path/);
});

test('passwords are hidden in logs', () => {
  assert.equal(redactDbUrl('postgres://imc:secret@db/imc'), 'postgres://imc:***@db/imc');
  assert.equal(redactDbUrl('sqlite:x.db'), 'sqlite:x.db');
});
