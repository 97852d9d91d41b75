#!/usr/bin/env node
/**
 * `npm run bench`: sipmedia's userspace relays (JavaScript and native dataplanes) against Debian's rtpengine
 * (userspace, 1 and 2 threads) on
 * loopback. Call setup (rate, latency, memory per call), relay efficiency at a fixed offered rate (packets per
 * relay CPU-second, A/B/A/B alternation, ratios) and a saturation search. Results go to stdout,
 * bench/results/last-run.raw (JSON; gitignored) and (full runs, or --write-docs) docs/benchmarks.md.
 *
 *   node bench/run.mjs            full run (several minutes, stops by itself)
 *   node bench/run.mjs --quick    or BENCH_QUICK=1: under two minutes, does not touch docs/ unless --write-docs
 *   --native-threads=1,2          native-dataplane variants to run (--num-threads values; 0: none)
 *   --no-js                       leave out the JavaScript dataplane (sipmedia-js)
 *   --baseline=DIR/bin/sipmedia.js   also run another build of sipmedia (before/after a change)
 *   --baseline-dataplane=js|native   the dataplane the baseline build runs (default: its own default)
 *   --report-only=FILE [--write-docs]  re-render the report of a saved run (bench/results/*.raw)
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { machineDescription } from './lib/proc.mjs';
import {
  commandLine,
  hardStop,
  killAll,
  nativeBuilt,
  relayVariants,
  rtpengineVersion,
} from './lib/proxies.mjs';
import { buildLoadgen, relayRun, saturated } from './lib/relay-run.mjs';
import { writeReport } from './lib/report.mjs';
import { buildNgSetup, pacedSetup, sequentialSetup } from './lib/setup-run.mjs';
import { lock, unlock } from './lib/lock.mjs';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const writeDocs = argv.includes('--write-docs') || (!quick && !argv.includes('--no-docs'));
const threadsArg = argv.find((a) => a.startsWith('--native-threads='));
const nativeThreads = threadsArg
  ? threadsArg
      .split('=')[1]
      .split(',')
      .map(Number)
      .filter((t) => t > 0)
  : [1, 2];
const js = !argv.includes('--no-js');
const baseline = argv.find((a) => a.startsWith('--baseline='))?.slice('--baseline='.length);
const baselineDataplane = argv
  .find((a) => a.startsWith('--baseline-dataplane='))
  ?.slice('--baseline-dataplane='.length);

const PLAN = quick
  ? {
      setupRounds: 1,
      seqCalls: 300,
      pacedCalls: 500,
      fixedCalls: [200],
      fixedRounds: 1,
      warmupMs: 1000,
      measureMs: 3000,
      ladder: [400, 700, 1000],
      satWarmupMs: 1000,
      satMeasureMs: 2000,
      budgetMs: 110_000,
    }
  : {
      setupRounds: 2,
      seqCalls: 1000,
      pacedCalls: 1000,
      fixedCalls: [200, 300],
      fixedRounds: 3,
      warmupMs: 2000,
      measureMs: 8000,
      ladder: [400, 600, 800, 1000, 1200, 1400, 1600, 1800, 2000, 2400, 2800],
      satWarmupMs: 1000,
      satMeasureMs: 4000,
      budgetMs: 15 * 60_000,
    };

const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');
const started = Date.now();
const overBudget = () => Date.now() - started > PLAN.budgetMs;

async function main() {
  const reportOnly = argv.find((a) => a.startsWith('--report-only='))?.slice('--report-only='.length);
  if (reportOnly) {
    // Re-renders the Markdown of a saved run (e.g. after a change to the report) without measuring again.
    const saved = JSON.parse(readFileSync(reportOnly, 'utf8'));
    console.log(writeReport(saved, { writeDocs: argv.includes('--write-docs') }));
    return;
  }
  lock();
  const hard = hardStop(PLAN.budgetMs + 120_000);

  buildLoadgen();
  buildNgSetup();
  const machine = machineDescription();
  const variants = relayVariants({ nativeThreads, js, baseline, baselineDataplane });
  if (!nativeBuilt())
    console.log('native relay addon not built (npm install builds it): native variants left out');
  const command = `${quick ? 'BENCH_QUICK=1 ' : ''}node bench/run.mjs ${argv.join(' ')}`.trim();
  console.log(`machine: ${machine.nproc} x ${machine.model}, kernel ${machine.kernel}, node ${machine.node}`);
  console.log(`rtpengine: ${rtpengineVersion() || 'not installed'}; mode: ${quick ? 'quick' : 'full'}`);
  for (const v of variants) console.log(`  ${v.name}: ${commandLine(v).flat().join(' ')}`);

  const results = {
    command,
    date: new Date().toISOString(),
    quick,
    machine,
    rtpengine: rtpengineVersion(),
    plan: PLAN,
  };
  results.commands = Object.fromEntries(variants.map((v) => [v.name, commandLine(v).flat().join(' ')]));

  // 1. Call setup, alternating relays round by round.
  results.sequential = [];
  results.paced = [];
  for (let r = 0; r < PLAN.setupRounds && !overBudget(); r++) {
    for (const v of variants) {
      const s = await sequentialSetup(v, PLAN.seqCalls);
      results.sequential.push(s);
      console.log(
        `setup ${v.name}: ${fmt(s.setupsPerS)} calls/s (cold ${fmt(s.coldSetupsPerS)}), offer p50/p99 ${fmt(s.offerP50Us)}/${fmt(s.offerP99Us)} us, ` +
          `RSS ${fmt(s.rssPerCallKiB, 1)} KiB/call${s.noisy ? ' [noisy]' : ''}`,
      );
      const p = await pacedSetup(v, PLAN.pacedCalls, 500);
      results.paced.push(p);
      console.log(
        `paced ${v.name} @500/s: offer p50/p99 ${fmt(p.offerP50Us)}/${fmt(p.offerP99Us)} us, failed ${p.failed}${p.noisy ? ' [noisy]' : ''}`,
      );
    }
  }

  // 2. Fixed offered rate, A/B/A/B.
  results.fixed = [];
  for (const calls of PLAN.fixedCalls) {
    const rounds = calls === PLAN.fixedCalls[0] ? PLAN.fixedRounds : 1;
    for (let r = 0; r < rounds && !overBudget(); r++) {
      for (const v of variants) {
        const x = await relayRun(v, calls, { warmupMs: PLAN.warmupMs, measureMs: PLAN.measureMs });
        x.round = r;
        results.fixed.push(x);
        printRelay('fixed', x);
      }
    }
  }

  // 3. Saturation: every relay still keeping up takes the next step of the ladder.
  results.saturation = [];
  const alive = new Set(variants.map((v) => v.name));
  for (const calls of PLAN.ladder) {
    for (const v of variants) {
      if (!alive.has(v.name) || overBudget()) continue;
      // A failing step is tried once more: on a shared machine one burst of other load can fail a step.
      let failed = true;
      for (let attempt = 0; attempt < 2 && failed && !overBudget(); attempt++) {
        let x;
        try {
          x = await relayRun(v, calls, { warmupMs: PLAN.satWarmupMs, measureMs: PLAN.satMeasureMs });
        } catch (e) {
          x = { relay: v.name, calls, error: e.message.split('\n')[0], detail: e.message.slice(-2000) };
        }
        x.attempt = attempt;
        results.saturation.push(x);
        printRelay('saturation', x);
        failed = Boolean(x.error || saturated(x) || x.generatorLimited);
      }
      if (failed) alive.delete(v.name);
    }
  }
  results.elapsedS = (Date.now() - started) / 1000;

  const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(`${resultsDir}last-run.raw`, `${JSON.stringify(results, null, 2)}\n`);
  const summary = writeReport(results, { writeDocs });
  console.log(`\n${summary}`);
  console.log(
    `bench finished in ${fmt(results.elapsedS)} s${writeDocs ? '; docs/benchmarks.md updated' : ''}`,
  );
  clearTimeout(hard);
}

function printRelay(what, x) {
  if (x.error) {
    console.log(`${what} ${x.relay} ${x.calls} calls: ERROR ${x.error}`);
    return;
  }
  console.log(
    `${what} ${x.relay} ${x.calls} calls: ${fmt(x.pps_forwarded)} pps fwd, loss ${fmt(x.loss * 100, 3)} %, ` +
      `p50/p99/p99.9 ${fmt(x.p50_us)}/${fmt(x.p99_us)}/${fmt(x.p999_us)} us, relay ${fmt(x.relayCores, 2)} cores, ` +
      `${fmt(x.pktsPerCpuS)} pkt/CPU-s, gen ${fmt(x.genCores, 2)} cores, others ${fmt(x.otherCores, 2)}${x.noisy ? ' [noisy]' : ''}${x.generatorLimited ? ' [generator-limited]' : ''}`,
  );
}

const onSignal = () => {
  killAll();
  unlock();
  process.exit(130);
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);
try {
  await main();
} catch (e) {
  console.error(`bench failed: ${e.stack ?? e}`);
  process.exitCode = 1;
} finally {
  killAll();
  unlock();
}
