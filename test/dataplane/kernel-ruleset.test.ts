import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { NftSession } from '../../src/dataplane/kernel/nft-session.js';
import {
  type KernelEntry,
  createTable,
  elements,
  parseCounters,
  resetBatch,
  updateBatch,
} from '../../src/dataplane/kernel/ruleset.js';

const e: KernelEntry = {
  src: '10.0.0.2',
  sport: 4000,
  laddr: '10.0.0.1',
  lport: 30000,
  dst: '10.0.1.2',
  dport: 5000,
  eaddr: '10.0.1.1',
  eport: 30002,
};

test('elements are keyed so each lookup sees fields not yet rewritten', () => {
  const x = elements(e);
  // daddr is the gate and the counter: the whole original 4-tuple.
  assert.equal(x.daddr, '10.0.0.2 . 4000 . 10.0.0.1 . 30000 : 10.0.1.2');
  assert.equal(x.sport, '10.0.0.2 . 4000 . 30000 : 30002');
  // dport is rewritten after sport: keyed by the egress port the packet carries by then.
  assert.equal(x.dport, '10.0.0.2 . 30002 . 30000 : 5000');
  assert.equal(x.saddr, '10.0.1.2 . 5000 . 30002 : 10.0.1.1');
});

test('one update line deletes by key then adds; reset flushes first', () => {
  const line = updateBatch('ip', 't', [e], [{ ...e, dport: 5002 }]);
  assert.ok(!line.includes('\n'));
  assert.ok(
    line.indexOf('delete element ip t daddr { 10.0.0.2 . 4000 . 10.0.0.1 . 30000 }') <
      line.indexOf('add element'),
  );
  assert.match(line, /add element ip t dport \{ 10\.0\.0\.2 \. 30002 \. 30000 : 5002 \}/);
  assert.match(resetBatch('ip', 't', []), /^flush map ip t daddr; flush map ip t sport; /);
  assert.match(createTable('ip6', 't6'), /add table ip6 t6 \{ flags owner; \}/);
  // --tos: forwarded packets get its DSCP (184 = EF, 46); without it the header is left alone.
  assert.match(createTable('ip', 't', 184), /udp dport set [^;]* map @dport ip dscp set 46;/);
  assert.match(createTable('ip6', 't6', 184), / ip6 dscp set 46;/);
  assert.doesNotMatch(createTable('ip', 't'), /dscp/);
});

test('counters parse from nft JSON and junk is ignored', () => {
  const json = JSON.stringify({
    nftables: [
      { metainfo: {} },
      {
        map: {
          elem: [
            [
              {
                elem: {
                  val: { concat: ['10.0.0.2', 4000, '10.0.0.1', 30000] },
                  counter: { packets: 5, bytes: 1000 },
                },
              },
              '10.0.1.2',
            ],
            'x',
            [{ elem: { val: { concat: ['10.0.0.3', 4000] }, counter: { packets: 1, bytes: 1 } } }, '1.1.1.1'],
          ],
        },
      },
    ],
  });
  assert.deepEqual(parseCounters(json), [{ key: '10.0.0.2|4000|10.0.0.1|30000', packets: 5, bytes: 1000 }]);
  assert.deepEqual(parseCounters('not json'), []);
});

const canNft = process.getuid?.() === 0 && spawnSync('nft', ['--version']).status === 0;
const ns = `smkr${process.pid}`;
if (!canNft) console.log('MISSING PEER: nft (as root) unavailable; nft session test skipped');

// How long that transaction takes is measured by bench/kernel/nft-batch.mjs (docs/kernel-offload.md), not here.
test('1,000 streams go in with one transaction through the long-lived nft', {
  skip: !canNft,
}, async (t) => {
  if (spawnSync('ip', ['netns', 'add', ns]).status !== 0) {
    t.skip('MISSING PEER: ip netns add failed');
    return;
  }
  t.after(() => spawnSync('ip', ['netns', 'del', ns]));
  const sess = new NftSession('nft', ['ip', 'netns', 'exec', ns]);
  try {
    assert.equal(
      (await sess.run(createTable('ip', 'bench', 184))).ok,
      true,
      'nft takes the ruleset, DSCP included',
    );
    const entries = Array.from({ length: 1000 }, (_, i) => ({
      ...e,
      src: `10.1.${i >> 8}.${i & 255}`,
      lport: 30000 + 2 * i,
      eport: 32000 + 2 * i,
    }));
    const r = await sess.run(updateBatch('ip', 'bench', [], entries));
    assert.equal(r.ok, true, r.output);
    const bad = await sess.run(updateBatch('ip', 'bench', [{ ...e, src: '10.9.9.9' }], []));
    assert.equal(bad.ok, false, 'deleting a missing element fails the transaction');
    const list = await sess.run('list map ip bench daddr');
    assert.equal(parseCounters(list.output).length, 1000);
  } finally {
    sess.close();
  }
});
