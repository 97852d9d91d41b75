/**
 * The relays under test: Debian's rtpengine (userspace only, 1 or 2 worker threads) and `sipmedia proxy`.
 * Each run gets a fresh process on the same loopback ports (above the test port blocks), answers ng `ping`
 * before use, and is stopped by its PID.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { unlock } from './lock.mjs';
import { NgBench } from './ng.mjs';

export const RTPENGINE = '/usr/bin/rtpengine';
const SIPMEDIA_BIN = fileURLToPath(new URL('../../bin/sipmedia.js', import.meta.url));

/**
 * ng on NG_PORT (above the kernel's ephemeral range, so no client socket can hold it); media in
 * MEDIA_MIN..MEDIA_MAX (4 ports per call: RTP + RTCP for each party, so ~3800 calls), above the test port blocks
 * (20000-49999). The media range overlaps the ephemeral ports and NG_PORT: both relays skip ports already taken.
 */
export const NG_PORT = 61000;
export const MEDIA_MIN = 50010;
export const MEDIA_MAX = 65500;

export function rtpengineVersion() {
  if (!existsSync(RTPENGINE)) return '';
  const r = spawnSync(RTPENGINE, ['--version'], { encoding: 'utf8', timeout: 5000 });
  return /Version:\s*(\S+)/.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`)?.[1] ?? '?';
}

const NATIVE_ADDON = fileURLToPath(new URL('../../build/Release/sipmedia_relay.node', import.meta.url));

/** The native relay addon is built (else the native variants are left out, with a note). */
export const nativeBuilt = () => existsSync(NATIVE_ADDON);

/**
 * The relays to compare, in A/B order. `threads` is passed as --num-threads; sipmedia runs its JavaScript
 * dataplane (`sipmedia-js`) and its native dataplane with each of `nativeThreads` worker threads
 * (`sipmedia-native`, `sipmedia-native-2t`).
 */
export function relayVariants({ nativeThreads = [1, 2], js = true, baseline, baselineDataplane } = {}) {
  const v = [];
  if (existsSync(RTPENGINE)) v.push({ name: 'rtpengine-1t', kind: 'rtpengine', threads: 1 });
  // Another build of sipmedia (a copy of bin/ and dist/) for before/after comparisons of the relay.
  if (baseline)
    v.push({
      name: 'sipmedia-baseline',
      kind: 'sipmedia',
      threads: 1,
      bin: baseline,
      dataplane: baselineDataplane,
    });
  if (js) v.push({ name: 'sipmedia-js', kind: 'sipmedia', threads: 1, dataplane: 'js' });
  if (nativeBuilt())
    for (const t of nativeThreads)
      v.push({
        name: t === 1 ? 'sipmedia-native' : `sipmedia-native-${t}t`,
        kind: 'sipmedia',
        threads: t,
        dataplane: 'native',
      });
  if (existsSync(RTPENGINE)) v.push({ name: 'rtpengine-2t', kind: 'rtpengine', threads: 2 });
  return v;
}

/** `at`: other ports than the defaults, for a second relay running beside the first (bench/srtp.mjs). */
export function commandLine(variant, at = {}) {
  const common = [
    '--interface=127.0.0.1',
    `--listen-ng=127.0.0.1:${at.ngPort ?? NG_PORT}`,
    '--foreground',
    '--log-level=3',
    `--port-min=${at.mediaMin ?? MEDIA_MIN}`,
    `--port-max=${at.mediaMax ?? MEDIA_MAX}`,
  ];
  if (variant.kind === 'rtpengine') {
    return [
      RTPENGINE,
      ['--config-file=none', '--table=-1', `--num-threads=${variant.threads}`, '--log-stderr', ...common],
    ];
  }
  const threads = variant.threads > 1 ? [`--num-threads=${variant.threads}`] : [];
  if (variant.dataplane) threads.unshift(`--dataplane=${variant.dataplane}`);
  // BENCH_NODE_ARGS: extra node flags for sipmedia, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile.
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  return [process.execPath, [...nodeArgs, variant.bin ?? SIPMEDIA_BIN, 'proxy', ...common, ...threads]];
}

/** Every process the bench started and has not yet seen exit, so a crash or ^C still stops them. */
export const live = new Set();

export async function startRelay(variant, at = {}) {
  const [cmd, args] = commandLine(variant, at);
  const proc = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(proc);
  let err = '';
  proc.stderr.on('data', (d) => {
    err = (err + d).slice(-20_000);
  });
  const exited = new Promise((resolve) =>
    proc.on('exit', () => {
      live.delete(proc);
      resolve();
    }),
  );
  const ng = new NgBench(at.ngPort ?? NG_PORT);
  let up = false;
  for (let i = 0; i < 100 && proc.exitCode === null; i++) {
    try {
      const r = await ng.request({ command: 'ping' }, 100);
      if (r.body.result === 'pong') {
        up = true;
        break;
      }
    } catch {}
  }
  const stop = async () => {
    ng.close();
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  };
  if (!up) {
    await stop();
    throw new Error(`${variant.name} did not answer ping:\n${err}`);
  }
  return { variant, pid: proc.pid, ng, stop, stderr: () => err };
}

/** Stops by PID whatever is still running (exit paths). */
export function killAll() {
  for (const p of live) {
    try {
      p.kill('SIGKILL');
    } catch {}
  }
}

/**
 * Hard stop: whatever happens, after `ms` the bench ends and takes its processes (and the bench lock) with it.
 * Returns the (unref'd) timer, to clear when the bench ends in time.
 */
export function hardStop(ms) {
  const t = setTimeout(() => {
    console.error('bench: time budget exceeded, stopping');
    killAll();
    unlock();
    process.exit(3);
  }, ms);
  t.unref();
  return t;
}
