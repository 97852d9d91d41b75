/**
 * One measurement of the kernel bench: optionally a fresh relay in namespace R, N calls set up over ng by the
 * agent in R, the load generator's A side in namespace A and B side in namespace B, and over exactly the
 * generator's measured window: the relay's process-tree CPU, the generator's CPU and every CPU's /proc/stat
 * times (softirq included).
 *
 * Kinds: `idle` (nothing runs: the softirq floor of the machine), `direct` (the generator sends to itself inside
 * A: what delivering into its own sockets costs in softirq), `routing` (A and B talk directly through R with
 * ip_forward only, no relay: plain routing), `sipmedia` (--kernel=require or off), `rtpengine`, `duo` (two of
 * them side by side in R, each with its own ng port and media port range; always paired).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCounters } from '../../dist/dataplane/kernel/ruleset.js';
import { lineReader, readPorts, readWindow } from '../lib/loadgen-io.mjs';
import { cpuSeconds, loadAverage } from '../lib/proc.mjs';
import {
  cpuDelta,
  descendants,
  otherProcessesCpu,
  perCpu,
  processTimes,
  threadDelta,
  threadTimes,
  treeCpu,
} from './cpu.mjs';
import { A_ADDR, B_ADDR, R_ADDR_A } from './netns.mjs';

export const RTPENGINE = '/usr/bin/rtpengine';
const SIPMEDIA_BIN = fileURLToPath(new URL('../../bin/sipmedia.js', import.meta.url));
const SRC = fileURLToPath(new URL('./loadgen-netns.c', import.meta.url));
export const LOADGEN_NETNS = fileURLToPath(new URL('../build/loadgen-netns', import.meta.url));
const SOCKETS_PER_SIDE = 8;
/** Paired runs: relay and direct phases of this length alternate (long against the relays' queueing delay). */
const PAIRED_PHASE_MS = 200;
/** The start of every phase booked apart: a saturated relay's backlog (rtpengine's p99 ~30 ms) stays out of the next phase. */
const PAIRED_GUARD_MS = 50;
/** Inside R (an empty namespace), so these collide with nothing on the host. */
export const NG_PORT = 2223;
const PORT_MIN = 20000;
const PORT_MAX = 60000;

export function buildLoadgenNetns() {
  mkdirSync(dirname(LOADGEN_NETNS), { recursive: true });
  execFileSync('cc', ['-O2', '-Wall', '-o', LOADGEN_NETNS, SRC, '-lm'], { stdio: 'inherit' });
}

/** The relay's command line (run in R through `ip netns exec`, which execs it: same PID). */
/** KBENCH_NODE_FLAGS: extra node flags for sipmedia relays (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`, to profile). */
const nodeFlags = (process.env.KBENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);

export function relayCommand(v) {
  const [portMin, portMax] = v.ports ?? [PORT_MIN, PORT_MAX];
  const common = [
    `--interface=${R_ADDR_A}`,
    `--listen-ng=127.0.0.1:${v.ngPort ?? NG_PORT}`,
    '--foreground',
    '--log-level=3',
    `--port-min=${portMin}`,
    `--port-max=${portMax}`,
  ];
  if (v.kind === 'rtpengine')
    return [RTPENGINE, '--config-file=none', '--table=-1', '--num-threads=1', '--log-stderr', ...common];
  if (v.kind === 'sipmedia')
    return [
      process.execPath,
      ...nodeFlags,
      v.bin ?? SIPMEDIA_BIN,
      'proxy',
      ...common,
      `--kernel=${v.kernel}`,
    ];
  return null;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Machine busy cores (user + nice + system + irq + softirq) over `ms` before a run, and the load average. */
export async function idleCheck(ms = 300) {
  const a = perCpu();
  await sleep(ms);
  const d = cpuDelta(a, perCpu());
  return { busyCores: (d.user + d.nice + d.system + d.irq + d.softirq) / (ms / 1000), load1: loadAverage() };
}

/** Starts one relay in R (stopped by `stops`) and waits until it answers ng ping. */
async function startRelay({ net, agent, live }, v, stops) {
  let err = '';
  const relay = spawn('ip', ['netns', 'exec', net.r, ...relayCommand(v)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  live.add(relay);
  const exited = new Promise((r) => relay.on('exit', r));
  relay.on('exit', () => live.delete(relay));
  relay.stderr.on('data', (d) => {
    err = (err + d).slice(-8000);
  });
  stops.push(async () => {
    if (relay.exitCode === null && relay.signalCode === null) relay.kill('SIGTERM');
    const t = setTimeout(() => relay.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  });
  const up = await agent.call({ op: 'ping', port: v.ngPort ?? NG_PORT, tries: 100 });
  if (!up.up) throw new Error(`${v.name} did not answer ping: ${err.slice(-2000)}`);
  return relay;
}

/**
 * @param ctx { net, agent, live } — namespaces, the ng agent in R, the Set of live child processes
 * @param v   variant { name, kind, kernel? }
 */
export async function measure(ctx, v, calls, { warmupMs, measureMs, run }) {
  const before = await idleCheck();
  if (v.kind === 'idle') {
    const pa = processTimes();
    const a = perCpu();
    const t0 = performance.now();
    await sleep(measureMs);
    const d = cpuDelta(a, perCpu());
    const secs = (performance.now() - t0) / 1000;
    const otherS = otherProcessesCpu(pa, processTimes(), new Set());
    return {
      relay: v.name,
      kind: v.kind,
      calls: 0,
      secs,
      cpu: d,
      otherS,
      otherCores: otherS / secs,
      before,
      noisy: before.busyCores > 0.5 || otherS / secs > 0.5,
    };
  }
  const { net, agent, live } = ctx;
  // A duo runs two relays at once (own ng ports and media port ranges), compared phase by phase.
  const relayVariants = v.kind === 'duo' ? v.relays : relayCommand(v) ? [v] : [];
  const stops = [];
  try {
    const relays = [];
    for (const rv of relayVariants) relays.push(await startRelay(ctx, rv, stops));
    const relay = relays[0];
    // Where each side binds and sends: direct = both ends in A, talking to each other.
    const [nsA, nsB, addrA, addrB] =
      v.kind === 'direct' ? [net.a, net.a, A_ADDR, A_ADDR] : [net.a, net.b, A_ADDR, B_ADDR];
    const [tgtA, tgtB] =
      v.kind === 'direct' ? [A_ADDR, A_ADDR] : v.kind === 'routing' ? [B_ADDR, A_ADDR] : [R_ADDR_A, R_ADDR_A];
    const pids = relays.map((r) => r.pid).join(',') || '0';
    const gen = spawn(
      LOADGEN_NETNS,
      [
        nsA,
        nsB,
        addrA,
        addrB,
        tgtA,
        tgtB,
        String(calls),
        String(warmupMs),
        String(measureMs),
        String(SOCKETS_PER_SIDE),
      ],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
        // Paired: relay and direct phases alternate in one run (bench/kernel/loadgen-netns.c).
        env: v.paired
          ? {
              ...process.env,
              LOADGEN_PAIRED_MS: String(PAIRED_PHASE_MS),
              LOADGEN_PAIRED_GUARD_MS: String(PAIRED_GUARD_MS),
              LOADGEN_RELAY_PID: pids,
            }
          : process.env,
      },
    );
    live.add(gen);
    const genExit = new Promise((r) => gen.on('exit', r));
    gen.on('exit', () => live.delete(gen));
    const killer = setTimeout(() => gen.kill('SIGKILL'), warmupMs + measureMs + 90_000);
    stops.push(async () => {
      clearTimeout(killer);
      if (gen.exitCode === null && gen.signalCode === null) gen.kill('SIGKILL');
      await genExit;
    });
    const nextLine = lineReader(gen.stdout);
    const { aPorts, bPorts } = await readPorts(nextLine);
    let lines;
    let setupMs = 0;
    if (relay) {
      // Each port line: the first relay's two ports, then (a duo) the second relay's.
      const per = [];
      for (const rv of relayVariants) {
        const r = await agent.call(
          {
            op: 'setup',
            port: rv.ngPort ?? NG_PORT,
            calls,
            aAddr: A_ADDR,
            bAddr: B_ADDR,
            aPorts,
            bPorts,
            run,
          },
          120_000,
        );
        per.push(r.ports);
        setupMs += r.setupMs;
      }
      lines = per[0].map((_, i) => `${per.map((ports) => ports[i].join(' ')).join(' ')}\n`);
    } else {
      // No relay: A's socket of the call sends to B's, and B's to A's.
      lines = Array.from(
        { length: calls },
        (_, i) => `${bPorts[i % bPorts.length]} ${aPorts[i % aPorts.length]}\n`,
      );
    }
    const tree = relays.flatMap((r) => [r.pid, ...descendants(r.pid)]);
    gen.stdin.write(`${lines.join('')}GO\n`);
    const ours = new Set([...tree, gen.pid]);
    const sample = () => ({
      procs: processTimes(),
      relayCpu: treeCpu(tree),
      relayThreads: relay ? threadTimes(relay.pid) : new Map(),
      genCpu: cpuSeconds(gen.pid),
      cpu: perCpu(),
      t: performance.now(),
    });
    const { start, end, result } = await readWindow(nextLine, sample);
    const paired = v.paired ? JSON.parse(await nextLine()).paired : undefined;
    await genExit;
    if (!start || !end) throw new Error('load generator did not report its window');
    const kernelPackets = v.kernel === 'require' ? kernelCounters(net, relay.pid) : undefined;
    const secs = (end.t - start.t) / 1000;
    const cpu = cpuDelta(start.cpu, end.cpu);
    const relayProcS = end.relayCpu - start.relayCpu;
    const relayThreads = relay ? threadDelta(start.relayThreads, end.relayThreads) : undefined;
    const genCpuS = end.genCpu - start.genCpu;
    // User-space processes other than the relay tree and the generator (other sessions, this bench, the agent).
    const otherS = otherProcessesCpu(start.procs, end.procs, ours);
    const otherCores = otherS / secs;
    return {
      relay: v.name,
      kind: v.kind,
      calls,
      setupMs,
      ...result,
      secs,
      cpu,
      relayProcS,
      relayTree: tree.length,
      relayThreads,
      genCpuS,
      otherS,
      otherCores,
      kernelPackets,
      paired,
      ...(v.kind === 'duo' ? { relays: v.relays.map((x) => x.name) } : {}),
      before,
      noisy: before.busyCores > 0.5 || otherCores > 0.5,
      generatorLimited: result.pps_offered < 0.97 * calls * 100,
    };
  } finally {
    for (const s of stops.reverse()) await s();
  }
}

/** Packets the kernel forwarded for the sipmedia daemon `pid` (sum of its `streams` map's per-stream counters, read with nft). */
function kernelCounters(net, pid) {
  try {
    const out = execFileSync(
      'ip',
      ['netns', 'exec', net.r, 'nft', '-j', 'list', 'map', 'ip', `sipmedia_${pid}`, 'streams'],
      { encoding: 'utf8', timeout: 20_000, maxBuffer: 64 << 20 },
    );
    return parseCounters(out).reduce((n, c) => n + c.packets, 0);
  } catch (e) {
    return `error: ${String(e.message).split('\n')[0]}`;
  }
}

/** Saturated: more than 0.1 % lost or p99 over 100 ms (the relay bench's rule). */
export { saturated } from '../lib/relay-run.mjs';
