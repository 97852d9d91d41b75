#!/usr/bin/env node
/**
 * Kernel offload benchmark (issue 8): sipmedia --kernel=require against sipmedia --kernel=off and Debian's
 * rtpengine in userspace, with the relay in its own network namespace R and the load generator's two ends
 * in namespaces A and B (veth pairs, ip_forward=1 in R). Packets per relay CPU-second (softirq included) at
 * 20 k pps, A/B/C alternation with idle, self-delivery and plain-routing baselines in every round, plus paired
 * runs (plain routing; the kernel path and rtpengine side by side with kernel, rtpengine and direct phases
 * interleaved in one generator run: the target's figure), then a saturation search and rounds at rtpengine's
 * top sustained rate. Results: stdout, bench/results/kernel-last-run.raw (kernel-last-quick.raw for --quick;
 * JSON, gitignored) and (full runs) the "Kernel offload" section of docs/benchmarks.md.
 *
 *   npx tsc -p tsconfig.build.json && node bench/kernel.mjs      full run (about 22 minutes; root)
 *   node bench/kernel.mjs --quick                                 about 1 minute, prints only (--write-docs to write)
 *   node bench/kernel.mjs --rounds=5                              five fixed-rate rounds instead of three (~29 minutes)
 *   node bench/kernel.mjs --fixed-only [--rounds=N]              the 20 k pps rounds only (~3.5 minutes a round)
 *   node bench/kernel.mjs --report-only=FILE [--write-docs]       re-render a saved run
 *   KBENCH_BASELINE=DIR node bench/kernel.mjs --fixed-only        adds this build's kernel path side by side with
 *                                                                 the one of another checkout DIR (built): an A/B
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NgAgent } from './kernel/agent.mjs';
import { buildLoadgenNetns, measure, relayCommand, saturated } from './kernel/measure.mjs';
import { BenchNetns, netnsUnavailable } from './kernel/netns.mjs';
import { pairedCost, renderReport, summarize } from './kernel/report.mjs';
import { machineDescription } from './lib/proc.mjs';
import { RTPENGINE, rtpengineVersion } from './lib/proxies.mjs';
import { lock, unlock } from './lib/lock.mjs';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
// --fixed-only: the 20 k pps rounds alone (a few minutes; prints only, like --quick).
const fixedOnly = argv.includes('--fixed-only');
const reportOnlyArg = argv.some((a) => a.startsWith('--report-only='));
const writeDocs =
  argv.includes('--write-docs') || (!quick && !fixedOnly && !reportOnlyArg && !argv.includes('--no-docs'));

const PLAN = quick
  ? {
      calls: 200,
      rounds: 1,
      warmupMs: 1500,
      measureMs: 3000,
      satWarmupMs: 1000,
      satMeasureMs: 2000,
      kernelLadder: [1000],
      userLadder: [600],
      topRounds: 1,
      topWarmupMs: 1500,
      topMeasureMs: 3000,
      budgetMs: 180_000,
    }
  : {
      calls: 200,
      rounds: 3,
      // Past most of the set-up's aftermath: V8 finishes optimising. Its memory-reducing collection comes 8 to
      // 16 s after the 200 set-ups stop allocating (--trace-gc, 2026-12-02: 15.5 s, ~30 ms of marking over its
      // threads), so it can fall inside the window; a 20 s warm-up did not change the paired ratio (9.6 x over
      // four rounds). Every relay gets the same.
      warmupMs: 10_000,
      measureMs: 10_000,
      satWarmupMs: 1500,
      satMeasureMs: 4000,
      kernelLadder: [600, 1200, 1800, 2400, 3000, 3600],
      userLadder: [600, 1200, 1800],
      // At rtpengine's top sustained step once more, in rounds (a ladder step is one short window).
      topRounds: 3,
      topWarmupMs: 10_000,
      topMeasureMs: 6000,
      budgetMs: 28 * 60_000,
    };

// --rounds=N (1-9): more fixed-rate rounds make the medians less sensitive to one noisy round (~3.5 minutes each).
const roundsArg = Number(argv.find((x) => x.startsWith('--rounds='))?.slice('--rounds='.length));
if (Number.isInteger(roundsArg) && roundsArg >= 1 && roundsArg <= 9) {
  PLAN.budgetMs += (roundsArg - PLAN.rounds) * 210_000;
  PLAN.rounds = roundsArg;
}

/** KBENCH_ONLY=name,name: only these variants in the fixed-rate rounds (to look at a few of them closely). */
const only = process.env.KBENCH_ONLY?.split(',');
if (fixedOnly) Object.assign(PLAN, { kernelLadder: [], userLadder: [], topRounds: 0 });

/** Two relays side by side in R: this build's kernel path (ng 2223, ports 20000-39999) and `second` (2224, 40000-59999). */
const duo = (name, second) => ({
  name,
  kind: 'duo',
  paired: true,
  relays: [
    { name: 'sipmedia-kernel', kind: 'sipmedia', kernel: 'require', ngPort: 2223, ports: [20000, 39999] },
    { ...second, ngPort: 2224, ports: [40000, 59999] },
  ],
});

const VARIANTS = [
  { name: 'idle', kind: 'idle' },
  { name: 'direct', kind: 'direct' },
  { name: 'routing', kind: 'routing' },
  { name: 'sipmedia-kernel', kind: 'sipmedia', kernel: 'require' },
  { name: 'sipmedia-userspace', kind: 'sipmedia', kernel: 'off' },
  ...(existsSync(RTPENGINE) ? [{ name: 'rtpengine-1t', kind: 'rtpengine' }] : []),
  // Paired runs (report.mjs): relay and direct phases interleaved in one generator run; the duo runs the
  // kernel path and rtpengine side by side in R and rotates kernel, rtpengine, direct phases.
  { name: 'routing/paired', kind: 'routing', paired: true },
  ...(existsSync(RTPENGINE)
    ? [duo('kernel+rtpengine/paired', { name: 'rtpengine-1t', kind: 'rtpengine' })]
    : []),
  // KBENCH_BASELINE=<another checkout, built>: its kernel path beside this one's, phases rotating (an A/B of
  // two rulesets; every packet also passes the other daemon's table as a miss).
  ...(process.env.KBENCH_BASELINE
    ? [
        duo('kernel+baseline/paired', {
          name: 'baseline-kernel',
          kind: 'sipmedia',
          kernel: 'require',
          bin: join(process.env.KBENCH_BASELINE, 'bin/sipmedia.js'),
        }),
      ]
    : []),
];

/** How this kernel accounts CPU time (the method in the report depends on it), from /proc/config.gz. */
function cpuAccounting() {
  try {
    const cfg = execFileSync('zcat', ['/proc/config.gz'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const on = (k) => new RegExp(`^CONFIG_${k}=y`, 'm').test(cfg);
    const hz = /^CONFIG_HZ=(\d+)/m.exec(cfg)?.[1] ?? '?';
    const mode = on('IRQ_TIME_ACCOUNTING')
      ? 'IRQ_TIME_ACCOUNTING'
      : on('TICK_CPU_ACCOUNTING')
        ? 'TICK_CPU_ACCOUNTING'
        : 'other';
    return `${mode}, HZ ${hz}${on('NO_HZ_IDLE') || on('NO_HZ_FULL') ? ', NO_HZ' : ''}`;
  } catch {
    return 'unknown (no /proc/config.gz)';
  }
}

const live = new Set();
const net = new BenchNetns();
let agent;
function cleanup() {
  agent?.stop();
  for (const p of live) {
    try {
      p.kill('SIGKILL');
    } catch {}
  }
  net.destroy();
  unlock();
}

/** Calls at the highest ladder step `name` sustained (no error, loss or latency limit, generator kept up). */
function topSustained(rows, name) {
  const ok = rows.filter((r) => r.relay === name && !r.error && !saturated(r) && !r.generatorLimited);
  return ok.length ? Math.max(...ok.map((r) => r.calls)) : undefined;
}

const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');
const started = Date.now();
const overBudget = () => Date.now() - started > PLAN.budgetMs;

function print(what, x) {
  if (x.error) return console.log(`${what} ${x.relay} ${x.calls}: ERROR ${x.error}`);
  if (x.kind === 'idle')
    return console.log(`${what} idle: softirq ${fmt(x.cpu.softirq, 2)} s in ${fmt(x.secs, 1)} s`);
  console.log(
    `${what} ${x.relay} ${x.calls} calls: ${fmt(x.pps_forwarded)} pps fwd, loss ${fmt(x.loss * 100, 3)} %, ` +
      `p50/p99 ${fmt(x.p50_us)}/${fmt(x.p99_us)} us, relay proc ${fmt(x.relayProcS, 2)} s, softirq ` +
      `${fmt(x.cpu.softirq, 2)} s, gen ${fmt(x.genCpuS, 2)} s, others ${fmt(x.otherCores, 2)} cores` +
      `${x.kernelPackets !== undefined ? `, kernel counted ${x.kernelPackets} of ${x.received_total}` : ''}` +
      `${x.noisy ? ' [noisy]' : ''}${x.generatorLimited ? ' [generator-limited]' : ''}`,
  );
  for (const key of ['relay', 'relay2']) {
    const pc = pairedCost(x, key);
    if (pc)
      console.log(
        `  paired ${key}: ${fmt(pc.relayUs, 2)} us/packet (generator ${fmt(pc.genRelayUs, 2)} - ${fmt(pc.genDirectUs, 2)} direct, relay process ${fmt(pc.processUs, 2)}), ${fmt(pc.ppc)} packets per CPU-s; ${x.paired.cycles} cycles: ${fmt(pc.cycleMeanUs, 2)} +- ${fmt(pc.cycleSdUs, 2)} us (sd)`,
      );
  }
  const threads = (x.relayThreads ?? []).filter(([, s]) => s >= 0.0005);
  if (threads.length)
    console.log(`  relay threads: ${threads.map(([n, s]) => `${n} ${fmt(s, 3)} s`).join(', ')}`);
}

async function attempt(v, calls, opts) {
  try {
    return await measure({ net, agent, live }, v, calls, opts);
  } catch (e) {
    return {
      relay: v.name,
      kind: v.kind,
      calls,
      error: String(e.message).split('\n')[0],
      detail: String(e.message).slice(-2000),
    };
  }
}

async function main() {
  const reportOnly = argv.find((a) => a.startsWith('--report-only='))?.slice('--report-only='.length);
  if (reportOnly) {
    console.log(renderReport(JSON.parse(readFileSync(reportOnly, 'utf8')), { writeDocs }));
    return;
  }
  const missing = netnsUnavailable();
  if (missing) throw new Error(`the kernel bench needs network namespaces and nft: ${missing}`);
  if (!existsSync(fileURLToPath(new URL('../dist/cli/proxy.js', import.meta.url))))
    throw new Error('dist/ is missing: run `npx tsc -p tsconfig.build.json` (or npm run build) first');
  lock();
  const hard = setTimeout(() => {
    console.error('kernel bench: time budget exceeded, stopping');
    cleanup();
    process.exit(3);
  }, PLAN.budgetMs + 120_000);
  hard.unref();

  buildLoadgenNetns();
  net.create();
  agent = new NgAgent(net.r, live);
  const machine = machineDescription();
  machine.accounting = cpuAccounting();
  const command = `node bench/kernel.mjs ${argv.join(' ')}`.trim();
  const results = {
    command,
    date: new Date().toISOString(),
    quick,
    machine,
    rtpengine: rtpengineVersion(),
    plan: PLAN,
    commands: Object.fromEntries(
      VARIANTS.filter((v) => relayCommand(v) && !v.paired).map((v) => [
        v.name,
        `ip netns exec R ${relayCommand(v).join(' ')}`,
      ]),
    ),
    fixed: [],
    saturation: [],
  };
  console.log(`machine: ${machine.nproc} x ${machine.model}, kernel ${machine.kernel}, node ${machine.node}`);
  for (const [k, c] of Object.entries(results.commands)) console.log(`  ${k}: ${c}`);

  // 1. Fixed rate, every variant once per round in the same order.
  for (let r = 0; r < PLAN.rounds && !overBudget(); r++) {
    for (const v of VARIANTS.filter((x) => !only || only.includes(x.name))) {
      const calls = v.kind === 'idle' ? 0 : PLAN.calls;
      const x = await attempt(v, calls, { warmupMs: PLAN.warmupMs, measureMs: PLAN.measureMs, run: `f${r}` });
      x.round = r;
      results.fixed.push(x);
      print('fixed', x);
    }
  }

  // 2. Saturation: each variant still keeping up takes its next step (a failing step is tried once more).
  // The generator alone (`direct`) goes first at every step: its cost at that rate is subtracted.
  // `direct` (the generator alone) at every step measures the generator's own cost at that rate.
  const ladders = new Map([
    ['direct', PLAN.kernelLadder],
    ['routing', PLAN.kernelLadder],
    ['sipmedia-kernel', PLAN.kernelLadder],
    ['sipmedia-userspace', PLAN.userLadder],
    ['rtpengine-1t', PLAN.userLadder],
  ]);
  const satVariants = VARIANTS.filter((v) => ladders.has(v.name));
  const alive = new Set(satVariants.map((v) => v.name));
  const idleBefore = await attempt(VARIANTS[0], 0, { measureMs: PLAN.satMeasureMs });
  idleBefore.round = 'saturation';
  results.saturation.push(idleBefore);
  print('saturation', idleBefore);
  for (let k = 0; k < Math.max(...[...ladders.values()].map((l) => l.length)); k++) {
    for (const v of satVariants) {
      const calls = ladders.get(v.name)[k];
      if (calls === undefined || !alive.has(v.name) || overBudget()) continue;
      let failed = true;
      for (let a = 0; a < 2 && failed && !overBudget(); a++) {
        const x = await attempt(v, calls, {
          warmupMs: PLAN.satWarmupMs,
          measureMs: PLAN.satMeasureMs,
          run: `s${k}${a}`,
        });
        x.attempt = a;
        results.saturation.push(x);
        print('saturation', x);
        failed = Boolean(x.error || saturated(x) || x.generatorLimited);
      }
      if (failed) alive.delete(v.name);
    }
  }

  // 3. rtpengine's top sustained rate (the highest rate both sustain), in rounds like the fixed-rate ones
  // (idle and `direct` baselines each round): the issue's "at saturation" ratio, which one ladder step (one
  // 4 s window after a 1.5 s warm-up) gives only roughly.
  results.top = [];
  const top = topSustained(results.saturation, 'rtpengine-1t');
  for (let r = 0; top && r < PLAN.topRounds && !overBudget(); r++) {
    for (const v of VARIANTS.filter((x) => x.name !== 'sipmedia-userspace')) {
      const calls = v.kind === 'idle' ? 0 : top;
      const x = await attempt(v, calls, {
        warmupMs: PLAN.topWarmupMs,
        measureMs: PLAN.topMeasureMs,
        run: `t${r}`,
      });
      x.round = r;
      results.top.push(x);
      print('top', x);
    }
  }

  // Nothing of ours may be left in R: every sipmedia table goes with its daemon.
  results.leftoverTables = net.ruleset().trim();
  results.elapsedS = (Date.now() - started) / 1000;
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  // The previous full run's headline figures stay in the report (the last three).
  const kind = quick ? 'quick' : fixedOnly ? 'fixed' : 'run';
  if (kind === 'run' && existsSync(`${dir}kernel-last-run.raw`)) {
    try {
      const prev = JSON.parse(readFileSync(`${dir}kernel-last-run.raw`, 'utf8'));
      if (!prev.quick) results.earlier = [summarize(prev), ...(prev.earlier ?? [])].slice(0, 3);
    } catch {}
  }
  // Quick and fixed-only runs keep their own file, so the last full run (and its history) is not replaced by one.
  writeFileSync(`${dir}kernel-last-${kind}.raw`, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\n${renderReport(results, { writeDocs })}`);
  console.log(
    `kernel bench finished in ${fmt(results.elapsedS)} s${writeDocs ? '; docs/benchmarks.md updated' : ''}`,
  );
  clearTimeout(hard);
}

const onSignal = () => {
  cleanup();
  process.exit(130);
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);
try {
  await main();
} catch (e) {
  console.error(`kernel bench failed: ${e.stack ?? e}`);
  process.exitCode = 1;
} finally {
  cleanup();
}
