#!/usr/bin/env node
/**
 * How long kernel offload's nf_tables transactions take (issue 8: setting up 1,000 calls must not take more
 * than a second longer with offload): 1,000 streams added in one transaction over the daemon's netlink
 * socket, then one stream added and removed on its own with the 1,000 installed, and the counters of 10,000
 * streams read in one dump. In a network namespace of
 * its own, as root; uses the built dist/ and the native addon (npm run build). Prints JSON; stops by itself.
 *
 *   node bench/kernel/nft-batch.mjs [rounds=5]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NetlinkSession } from '../../dist/dataplane/kernel/netlink-session.js';
import { COUNTER_RECORD, elementData, elementKey } from '../../dist/dataplane/kernel/nft-netlink.js';
import { median } from '../lib/stats.mjs';

const rounds = Math.max(1, Math.min(50, Number(process.argv[2] ?? 5) || 5));

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
let ids = 0;
/** A map element as the daemon adds it (with an id in its comment, which counter reads name it by). */
const item = (e) => [elementKey('ip', e), elementData('ip', e, 1), ++ids];

async function timed(nl, batch) {
  const t0 = performance.now();
  const errs = await nl.apply(batch);
  if (errs.length) throw new Error(JSON.stringify(errs));
  return performance.now() - t0;
}

/** In the namespace: the measurement itself. */
async function child() {
  const result = { batch1000Ms: [], oneAddMs: [], oneDeleteMs: [], dump10000Ms: [] };
  for (let r = 0; r < rounds; r++) {
    const nl = NetlinkSession.connect();
    try {
      const table = `nb${r}`;
      await timed(nl, nl.batch('ip', table).createTable());
      const many = Array.from({ length: 1000 }, (_, i) => item(stream(i)));
      result.batch1000Ms.push(
        await timed(nl, nl.batch('ip', table).addEgress(1, '10.0.1.1').addElements(many)),
      );
      const one = stream(1000);
      result.oneAddMs.push(await timed(nl, nl.batch('ip', table).addElements([item(one)])));
      result.oneDeleteMs.push(await timed(nl, nl.batch('ip', table).deleteElements([elementKey('ip', one)])));
      // Counters of 10,000 streams: the periodic read at that size.
      const more = Array.from({ length: 9000 }, (_, i) => item(stream(1001 + i)));
      await timed(nl, nl.batch('ip', table).addElements(more));
      const t0 = performance.now();
      const n = (await nl.counters('ip', table)).length / COUNTER_RECORD;
      if (n !== 10000) throw new Error(`dumped ${n} counters`);
      result.dump10000Ms.push(performance.now() - t0);
    } finally {
      nl.close();
    }
  }
  const ms = (x) => Math.round(x * 100) / 100;
  const summary = (xs) => ({ median: ms(median(xs)), all: xs.map(ms) });
  console.log(
    JSON.stringify({
      rounds,
      batch1000Ms: summary(result.batch1000Ms),
      oneAddMs: summary(result.oneAddMs),
      oneDeleteMs: summary(result.oneDeleteMs),
      dump10000Ms: summary(result.dump10000Ms),
    }),
  );
}

if (process.env.SIPMEDIA_NFT_BATCH_CHILD === '1') await child();
else {
  if (process.getuid?.() !== 0) {
    console.error('nft-batch: needs root');
    process.exit(2);
  }
  const ns = `smnb${process.pid}`;
  if (spawnSync('ip', ['netns', 'add', ns]).status !== 0) {
    console.error('nft-batch: ip netns add failed');
    process.exit(2);
  }
  try {
    const r = spawnSync(
      'ip',
      [
        'netns',
        'exec',
        ns,
        'env',
        'SIPMEDIA_NFT_BATCH_CHILD=1',
        process.execPath,
        fileURLToPath(import.meta.url),
        String(rounds),
      ],
      { stdio: 'inherit', timeout: 120_000 },
    );
    process.exitCode = r.status ?? 1;
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}
