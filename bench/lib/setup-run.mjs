/**
 * Call setup: offer + answer one request at a time (rate and round-trip percentiles, plus resident memory
 * per idle call), and a paced run at a fixed number of setups per second (offer latency under load).
 */
import { percentile, setupCall } from './ng.mjs';
import { rssKiB } from './proc.mjs';
import { startRelay } from './proxies.mjs';
import { idleCheck } from './relay-run.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sorted = (a) => [...a].sort((x, y) => x - y);

/** K calls back to back; memory before and after (idle calls, no media). */
export async function sequentialSetup(variant, calls) {
  const before = await idleCheck();
  const relay = await startRelay(variant);
  try {
    await sleep(200);
    const rss0 = rssKiB(relay.pid);
    const offers = [];
    const answers = [];
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) {
      const c = await setupCall(relay.ng, `seq-${i}`, 20000 + (i % 1000) * 2, 22000 + (i % 1000) * 2);
      offers.push(c.offerUs);
      answers.push(c.answerUs);
    }
    const secs = (performance.now() - t0) / 1000;
    await sleep(300);
    const rss1 = rssKiB(relay.pid);
    const o = sorted(offers);
    const a = sorted(answers);
    return {
      relay: variant.name,
      calls,
      setupsPerS: calls / secs,
      offerP50Us: percentile(o, 0.5),
      offerP99Us: percentile(o, 0.99),
      answerP50Us: percentile(a, 0.5),
      answerP99Us: percentile(a, 0.99),
      rssBeforeKiB: rss0,
      rssAfterKiB: rss1,
      rssPerCallKiB: (rss1 - rss0) / calls,
      before,
      noisy: before.busyCores > 0.5,
    };
  } finally {
    await relay.stop();
  }
}

/** `calls` setups started at `perSecond`, each offer then answer; offer and answer latency percentiles. */
export async function pacedSetup(variant, calls, perSecond) {
  const before = await idleCheck();
  const relay = await startRelay(variant);
  try {
    const offers = [];
    const answers = [];
    let failed = 0;
    const inFlight = [];
    const t0 = performance.now();
    let started = 0;
    // A timer tick every ~5 ms starts every setup that is due (bounded: `calls` setups in total).
    while (started < calls) {
      const due = Math.min(calls, Math.floor(((performance.now() - t0) / 1000) * perSecond) + 1);
      for (; started < due; started++) {
        const i = started;
        inFlight.push(
          setupCall(relay.ng, `paced-${i}`, 20000 + (i % 1000) * 2, 22000 + (i % 1000) * 2).then(
            (c) => {
              offers.push(c.offerUs);
              answers.push(c.answerUs);
            },
            () => {
              failed++;
            },
          ),
        );
      }
      await sleep(5);
    }
    await Promise.all(inFlight);
    const secs = (performance.now() - t0) / 1000;
    const o = sorted(offers);
    const a = sorted(answers);
    return {
      relay: variant.name,
      calls,
      perSecond,
      achievedPerS: calls / secs,
      failed,
      offerP50Us: percentile(o, 0.5),
      offerP99Us: percentile(o, 0.99),
      answerP50Us: percentile(a, 0.5),
      answerP99Us: percentile(a, 0.99),
      before,
      noisy: before.busyCores > 0.5,
    };
  } finally {
    await relay.stop();
  }
}
