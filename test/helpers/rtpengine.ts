/**
 * The media proxy under test, either ours (`sipmedia proxy`) or Sipwise rtpengine as the reference peer.
 * Both are started on a reserved port block with the same layout (ng, tcp-ng, media range, spare ports),
 * answer ng `ping` before use, and are stopped by PID.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { NgUdp } from './ng.js';
import { reservePortBlock } from './ports.js';
import { startProxy } from './proxy.js';

export type ProxyKind = 'sipmedia' | 'rtpengine';

/** What every e2e test needs from a running media proxy, whichever implementation it is. */
export interface MediaProxy {
  kind: ProxyKind;
  ngPort: number;
  /** ng over TCP; HTTP/WebSocket and the CLI port are rtpengine's only (0 for ours). */
  tcpNgPort: number;
  httpPort: number;
  cliPort: number;
  portMin: number;
  portMax: number;
  /** Ports in the reserved block left free for the test's own endpoints. */
  spare: number[];
  /** The `--interface` values the proxy was started with. */
  interfaces: string[];
  ng: NgUdp;
  output: () => string;
  stop: () => Promise<void>;
}

export const RTPENGINE_BIN = '/usr/bin/rtpengine';

export const MISSING_RTPENGINE = `MISSING PEER: rtpengine (${RTPENGINE_BIN} not installed; apt-get install rtpengine-daemon)`;

export function rtpengineInstalled(): boolean {
  return existsSync(RTPENGINE_BIN);
}

/** `Version: 10.5.3.5-...` from `rtpengine --version`, or '' when it does not run. */
export function rtpengineVersion(): string {
  const r = spawnSync(RTPENGINE_BIN, ['--version'], { encoding: 'utf8', timeout: 5000 });
  const m = /Version:\s*(\S+)/.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`);
  return m?.[1] ?? '';
}

export interface StartOptions {
  /** `--interface` values, e.g. ['127.0.0.1', '::1', 'alt/127.0.0.3']. Default ['127.0.0.1']. */
  interfaces?: string[];
  extraArgs?: string[];
}

/** Starts Debian's rtpengine in userspace-only mode (`--table=-1`), no config file, logging to stderr. */
export async function startRtpengine(opts: StartOptions = {}): Promise<MediaProxy> {
  const base = reservePortBlock();
  const ngPort = base;
  const portMin = base + 10;
  const portMax = base + 109;
  const spare = Array.from({ length: 80 }, (_, i) => base + 120 + i);
  const interfaces = opts.interfaces ?? ['127.0.0.1'];
  const args = [
    '--config-file=none',
    ...interfaces.map((i) => `--interface=${i}`),
    `--listen-ng=127.0.0.1:${ngPort}`,
    `--listen-tcp-ng=127.0.0.1:${base + 1}`,
    `--listen-http=127.0.0.1:${base + 2}`,
    `--listen-cli=127.0.0.1:${base + 3}`,
    '--foreground',
    '--log-stderr',
    '--no-log-timestamps',
    '--table=-1',
    `--port-min=${portMin}`,
    `--port-max=${portMax}`,
    '--log-level=5',
    ...(opts.extraArgs ?? []),
  ];
  const proc: ChildProcess = spawn(RTPENGINE_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer): void => {
    // Bounded: only the tail matters for diagnostics.
    out = (out + d.toString()).slice(-200_000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  const ng = new NgUdp(ngPort);
  const up = await ng.waitForPong(50, () => proc.exitCode === null);
  const stop = async (): Promise<void> => {
    ng.close();
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };
  if (!up) {
    await stop();
    throw new Error(`rtpengine did not come up:\n${out}`);
  }
  return {
    kind: 'rtpengine',
    ngPort,
    tcpNgPort: base + 1,
    httpPort: base + 2,
    cliPort: base + 3,
    portMin,
    portMax,
    spare,
    interfaces,
    ng,
    output: () => out,
    stop,
  };
}

/** Starts our proxy through test/helpers/proxy.ts, adapted to the common shape. */
export async function startSipmedia(opts: StartOptions = {}): Promise<MediaProxy> {
  const interfaces = opts.interfaces ?? ['127.0.0.1'];
  const p = await startProxy(opts.extraArgs ?? [], { interface: interfaces });
  return {
    kind: 'sipmedia',
    ngPort: p.ngPort,
    tcpNgPort: p.tcpNgPort,
    httpPort: 0,
    cliPort: 0,
    portMin: p.portMin,
    portMax: p.portMax,
    spare: p.spare,
    interfaces,
    ng: p.ng,
    output: p.output,
    stop: async () => {
      await p.stop();
    },
  };
}

export function startMediaProxy(kind: ProxyKind, opts: StartOptions = {}): Promise<MediaProxy> {
  return kind === 'rtpengine' ? startRtpengine(opts) : startSipmedia(opts);
}

/** `E2E_PROXY=sipmedia|rtpengine`, default sipmedia. */
export function proxyKindFromEnv(): ProxyKind {
  return process.env.E2E_PROXY === 'rtpengine' ? 'rtpengine' : 'sipmedia';
}
