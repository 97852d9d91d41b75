/**
 * Call setup, driven by the C ng client bench/ngsetup.c (so the driver's own GC and JIT pauses stay out of
 * the figures): offer + answer one request at a time (rate and round-trip percentiles, plus resident memory
 * per idle call), and a paced run at a fixed number of setups per second (offer latency under load).
 *
 * Each relay first serves WARM_CALLS setups that are deleted again: sipmedia's JavaScript is compiled by
 * V8 as it runs, so its first calls after a start are slower, and V8 keeps optimising functions as they
 * become hot for a while longer (a paced run right after 1000 setups still saw 18-24 optimising compiles,
 * each holding a CPU for 1-36 ms; after 2000, 3-6). That warm-up is reported as the
 * "cold" rate; the measured runs are the steady state a long-running proxy is in. rtpengine gets the same
 * warm-up (it has nothing to compile, and keeps the deleted calls for its delete-delay either way).
 *
 * Memory per idle call is measured twice: over the warm-up (fresh process: includes compiled code and heap
 * growth, so it overstates) and over the measured calls (the heap may already have room from the warm-up,
 * so it can understate). The target is judged on the larger of the two medians.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { rssKiB } from './proc.mjs';
import { NG_PORT, startRelay } from './proxies.mjs';
import { idleCheck } from './relay-run.mjs';

const SRC = fileURLToPath(new URL('../ngsetup.c', import.meta.url));
const BUILD = fileURLToPath(new URL('../build/', import.meta.url));
export const NGSETUP = `${BUILD}ngsetup`;
export const WARM_CALLS = 2000;

export function buildNgSetup() {
  mkdirSync(BUILD, { recursive: true });
  execFileSync('cc', ['-O2', '-Wall', '-o', NGSETUP, SRC], { stdio: 'inherit' });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs the driver; resolves with its JSON result (bounded: it gives up on a call after 2 s). */
function ngsetup(mode, calls, rate, prefix) {
  return new Promise((resolve, reject) => {
    execFile(
      NGSETUP,
      [mode, String(NG_PORT), String(calls), String(rate), prefix],
      { timeout: 60_000 + calls * 10 },
      (err, stdout) => {
        if (err) reject(err);
        else resolve(JSON.parse(stdout));
      },
    );
  });
}

/**
 * Warm-up setups (deleted again, but kept for the 30 s delete delay, so still resident); returns the cold
 * rate and the resident memory they added per call (an upper bound: it includes the code V8 compiles).
 */
async function warm(relay) {
  await sleep(200);
  const rss0 = rssKiB(relay.pid);
  const w = await ngsetup('warm', WARM_CALLS, 0, `warm-${relay.pid}`);
  await sleep(300);
  return { ...w, rssPerCallKiB: (rssKiB(relay.pid) - rss0) / WARM_CALLS };
}

/** K calls back to back after the warm-up; memory before and after (idle calls, no media). */
export async function sequentialSetup(variant, calls) {
  const before = await idleCheck();
  const relay = await startRelay(variant);
  try {
    const cold = await warm(relay);
    const rss0 = rssKiB(relay.pid);
    const s = await ngsetup('seq', calls, 0, `seq-${relay.pid}`);
    await sleep(300);
    const rss1 = rssKiB(relay.pid);
    return {
      relay: variant.name,
      calls,
      failed: s.failed,
      coldSetupsPerS: cold.setupsPerS,
      coldRssPerCallKiB: cold.rssPerCallKiB,
      setupsPerS: s.setupsPerS,
      offerP50Us: s.offerP50Us,
      offerP99Us: s.offerP99Us,
      answerP50Us: s.answerP50Us,
      answerP99Us: s.answerP99Us,
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

/** `calls` setups started at `perSecond` after the warm-up, each offer then answer; latency percentiles. */
export async function pacedSetup(variant, calls, perSecond) {
  const before = await idleCheck();
  const relay = await startRelay(variant);
  try {
    await warm(relay);
    const p = await ngsetup('paced', calls, perSecond, `paced-${relay.pid}`);
    return {
      relay: variant.name,
      calls,
      perSecond,
      achievedPerS: p.setupsPerS,
      failed: p.failed,
      offerP50Us: p.offerP50Us,
      offerP99Us: p.offerP99Us,
      answerP50Us: p.answerP50Us,
      answerP99Us: p.answerP99Us,
      before,
      noisy: before.busyCores > 0.5,
    };
  } finally {
    await relay.stop();
  }
}
