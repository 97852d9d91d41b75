#!/usr/bin/env node
/**
 * Transcoding benchmark: A offers PCMU (or with --from=G722 G.722) with `codec: { transcode: [PCMA] }`, B
 * answers PCMA, so every packet is converted; through rtpengine (one thread) and sipmedia (native dataplane,
 * one worker), side by side, A/B/A/B. PCMU <-> PCMA runs in sipmedia's native worker, G.722 in JavaScript.
 * Relay CPU per packet from the relay process's utime + stime over the generator's measured window; loss from
 * the generator's totals (payloads arrive converted, so per-packet latency is not measured).
 *
 *   npx tsc -p tsconfig.build.json && node bench/transcode.mjs [--from=G722] [calls ...]   default: 50 100 200;
 *   about 2 minutes
 */
import { fmt, median } from './lib/stats.mjs';
import { lock, unlock } from './lib/lock.mjs';
import { hardStop, killAll, relayVariants, rtpengineVersion } from './lib/proxies.mjs';
import { buildLoadgen, relayRun } from './lib/relay-run.mjs';

const args = process.argv.slice(2);
const from = args.includes('--from=G722') ? 'G722' : 'PCMU';
const counts = args.map(Number).filter((n) => n > 0 && n <= 2000);
const CALLS = counts.length ? counts : [50, 100, 200];
const ROUNDS = 2;
const RUN = { warmupMs: 2000, measureMs: 5000, transcode: { from } };

lock();
hardStop(10 * 60_000);
try {
  buildLoadgen();
  const variants = relayVariants({ nativeThreads: [1], js: false }).filter((v) => v.name !== 'rtpengine-2t');
  console.log(
    `${from} <-> PCMA; rtpengine ${rtpengineVersion() || 'not installed'}; relays: ${variants.map((v) => v.name).join(', ')}`,
  );
  const rows = [];
  for (const calls of CALLS) {
    for (let r = 0; r < ROUNDS; r++) {
      for (const v of variants) {
        const x = await relayRun(v, calls, RUN);
        rows.push(x);
        console.log(
          `${v.name.padEnd(16)} ${String(calls).padStart(4)} calls: forwarded ${fmt(x.pps_forwarded)} pps, loss ${fmt(x.loss * 100, 2)} %, ` +
            `relay ${fmt(x.relayCores, 3)} cores, ${fmt(x.pktsPerCpuS)} packets per CPU-s${x.noisy ? ' [noisy]' : ''}`,
        );
      }
    }
  }
  console.log(
    '\n| calls | relay | forwarded pps | loss % | relay cores | packets per relay CPU-s (median) |',
  );
  console.log('|---|---|---|---|---|---|');
  for (const calls of CALLS) {
    const med = {};
    for (const v of variants) {
      const xs = rows.filter((x) => x.relay === v.name && x.calls === calls);
      med[v.name] = median(xs.map((x) => x.pktsPerCpuS));
      console.log(
        `| ${calls} | ${v.name} | ${fmt(median(xs.map((x) => x.pps_forwarded)))} | ${fmt(median(xs.map((x) => x.loss * 100)), 2)} | ${fmt(median(xs.map((x) => x.relayCores)), 3)} | ${fmt(med[v.name])} |`,
      );
    }
    if (med['sipmedia-native'] && med['rtpengine-1t'])
      console.log(`| ${calls} | ratio | | | | ${fmt(med['sipmedia-native'] / med['rtpengine-1t'], 2)} x |`);
  }
} finally {
  killAll();
  unlock();
}
