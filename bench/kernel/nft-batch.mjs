#!/usr/bin/env node
/**
 * How long kernel offload's nft transactions take (issue 8: setting up 1,000 calls must not take more than a
 * second longer with offload): 1,000 streams added in one transaction through the daemon's long-lived
 * `nft -i` session, then one stream added and removed on its own with the 1,000 installed. In a network
 * namespace of its own, as root; uses the built dist/ (npm run build). Prints JSON; stops by itself.
 *
 *   node bench/kernel/nft-batch.mjs [rounds=5]
 */
import { spawnSync } from 'node:child_process';
import { NftSession } from '../../dist/dataplane/kernel/nft-session.js';
import { createTable, updateBatch } from '../../dist/dataplane/kernel/ruleset.js';
import { median } from '../lib/stats.mjs';

const rounds = Math.max(1, Math.min(50, Number(process.argv[2] ?? 5) || 5));
if (process.getuid?.() !== 0 || spawnSync('nft', ['--version']).status !== 0) {
  console.error('nft-batch: needs root and nft');
  process.exit(2);
}
const ns = `smnb${process.pid}`;
if (spawnSync('ip', ['netns', 'add', ns]).status !== 0) {
  console.error('nft-batch: ip netns add failed');
  process.exit(2);
}

const stream = (i) => ({
  src: `10.1.${i >> 8}.${i & 255}`,
  sport: 4000,
  laddr: '10.0.0.1',
  lport: 20000 + 2 * i,
  dst: '10.0.1.2',
  dport: 5000,
  eaddr: '10.0.1.1',
  eport: 40000 + 2 * i,
});

async function timed(sess, line) {
  const t0 = performance.now();
  const r = await sess.run(line);
  if (!r.ok) throw new Error(r.output);
  return performance.now() - t0;
}

const result = { rounds, batch1000Ms: [], oneAddMs: [], oneDeleteMs: [] };
try {
  for (let r = 0; r < rounds; r++) {
    const sess = new NftSession('nft', ['ip', 'netns', 'exec', ns]);
    try {
      const table = `nb${r}`;
      await timed(sess, createTable('ip', table));
      const many = Array.from({ length: 1000 }, (_, i) => stream(i));
      result.batch1000Ms.push(await timed(sess, updateBatch('ip', table, [], many)));
      const one = stream(1000);
      result.oneAddMs.push(await timed(sess, updateBatch('ip', table, [], [one])));
      result.oneDeleteMs.push(await timed(sess, updateBatch('ip', table, [one], [])));
      await timed(sess, `delete table ip ${table}`);
    } finally {
      sess.close();
    }
  }
} finally {
  spawnSync('ip', ['netns', 'del', ns]);
}
const ms = (x) => Math.round(x * 10) / 10;
const summary = (xs) => ({ median: ms(median(xs)), all: xs.map(ms) });
console.log(
  JSON.stringify({
    rounds,
    batch1000Ms: summary(result.batch1000Ms),
    oneAddMs: summary(result.oneAddMs),
    oneDeleteMs: summary(result.oneDeleteMs),
  }),
);
