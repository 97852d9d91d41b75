import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveHost } from '../../src/cli/host-resolver.js';

// localhost is answered from /etc/hosts: no query leaves the machine (names that would reach DNS are tested
// with a fake resolver in test/engine/interfaces.test.ts).
test('the system resolver answers localhost from /etc/hosts', () => {
  assert.ok(resolveHost('localhost').includes('127.0.0.1'));
});
