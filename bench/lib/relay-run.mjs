/**
 * One relay measurement: a fresh relay, N calls set up over ng with the C load generator's sockets as the
 * parties, RTP both ways for warm-up + measured window, the relay's CPU time over exactly that window.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { lineReader, readPorts, readWindow } from './loadgen-io.mjs';
import { setupCall } from './ng.mjs';
import { busyCores, cpuSeconds, loadAverage, machineTicks } from './proc.mjs';
import { live, startRelay } from './proxies.mjs';

const SRC = fileURLToPath(new URL('../loadgen.c', import.meta.url));
const BUILD = fileURLToPath(new URL('../build/', import.meta.url));
export const LOADGEN = `${BUILD}loadgen`;
const SOCKETS_PER_SIDE = 8;

export function buildLoadgen() {
  mkdirSync(BUILD, { recursive: true });
  execFileSync('cc', ['-O2', '-Wall', '-o', LOADGEN, SRC], { stdio: 'inherit' });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** How busy the machine is before a run: busy cores over `ms`, and the 1-minute load average. */
export async function idleCheck(ms = 300) {
  const a = machineTicks();
  await sleep(ms);
  return { busyCores: busyCores(a, machineTicks(), ms / 1000), load1: loadAverage() };
}

/** Runs `fn(i)` for i in 0..n-1 with at most `width` in flight. */
export async function windowed(n, width, fn) {
  let next = 0;
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, worker));
}

/** `transcode`: undefined, or { from: 'PCMU' | 'G722' } (A's codec; B answers PCMA): see setupCall. */
export async function relayRun(variant, calls, { warmupMs, measureMs, transcode }) {
  const before = await idleCheck();
  const relay = await startRelay(variant);
  const gen = spawn(LOADGEN, [String(calls), String(warmupMs), String(measureMs), String(SOCKETS_PER_SIDE)], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: {
      ...process.env,
      LOADGEN_TRANSCODE: transcode ? '1' : '0',
      LOADGEN_A_PT: transcode?.from === 'G722' ? '9' : '0',
    },
  });
  live.add(gen);
  const genExit = new Promise((r) => gen.on('exit', (code) => r(code)));
  gen.on('exit', () => live.delete(gen));
  const killer = setTimeout(() => gen.kill('SIGKILL'), warmupMs + measureMs + 60_000);
  const nextLine = lineReader(gen.stdout);
  try {
    const { aPorts, bPorts } = await readPorts(nextLine);
    const t0 = performance.now();
    const ports = new Array(calls);
    await windowed(calls, 16, async (i) => {
      const c = await setupCall(
        relay.ng,
        `bench-${i}`,
        aPorts[i % aPorts.length],
        bPorts[i % bPorts.length],
        undefined,
        undefined,
        transcode,
      );
      ports[i] = `${c.toProxyFromA} ${c.toProxyFromB}\n`;
    });
    const setupMs = performance.now() - t0;
    gen.stdin.write(`${ports.join('')}GO\n`);
    const sample = () => ({
      relayCpu: cpuSeconds(relay.pid),
      genCpu: cpuSeconds(gen.pid),
      machine: machineTicks(),
      t: performance.now(),
    });
    const { start, end, result } = await readWindow(nextLine, sample);
    await genExit;
    if (!start || !end) throw new Error('load generator did not report its window');
    const secs = (end.t - start.t) / 1000;
    const relayCpu = end.relayCpu - start.relayCpu;
    const genCpu = end.genCpu - start.genCpu;
    const machineCores = busyCores(start.machine, end.machine, secs);
    const others = machineCores - relayCpu / secs - genCpu / secs;
    return {
      relay: variant.name,
      calls,
      setupMs,
      ...result,
      relayCpuS: relayCpu,
      relayCores: relayCpu / secs,
      pktsPerCpuS: relayCpu > 0 ? result.received / relayCpu : Number.NaN,
      genCores: genCpu / secs,
      otherCores: others,
      before,
      noisy: before.busyCores > 0.5 || others > 0.5,
      generatorLimited: generatorLimited(result),
    };
  } finally {
    clearTimeout(killer);
    if (gen.exitCode === null) gen.kill('SIGKILL');
    await relay.stop();
  }
}

/** Saturated: more than 0.1 % lost or p99 over 100 ms (or the relay fell over). */
export function saturated(r) {
  return !r || r.loss > 0.001 || r.p99_us > 100_000;
}

/** The generator itself fell behind (starved of CPU): the step says nothing about the relay. */
export function generatorLimited(r) {
  return r.pps_offered < 0.97 * r.calls * 100;
}
