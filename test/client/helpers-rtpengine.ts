/**
 * Runs Debian's real rtpengine daemon for client tests, on a reserved port block, and stops it by PID.
 * Returns null (after a loud MISSING PEER message) when the binary is not installed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { NgUdp } from '../helpers/ng.js';
import { reservePortBlock } from '../helpers/ports.js';

export const RTPENGINE_BIN = '/usr/bin/rtpengine';

export interface RunningRtpengine {
  ngPort: number;
  tcpNgPort: number;
  httpPort: number;
  /** Ports of the block not given to the daemon, for the test's own sockets. */
  spare: number[];
  proc: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

export const MISSING_RTPENGINE = `MISSING PEER: rtpengine (${RTPENGINE_BIN} not installed; apt-get install rtpengine-daemon)`;

export function haveRtpengine(): boolean {
  return existsSync(RTPENGINE_BIN);
}

/** Starts rtpengine and waits until it answers ng ping (bounded: 100 tries of 100 ms). */
export async function startRtpengine(extraArgs: string[] = []): Promise<RunningRtpengine> {
  const base = reservePortBlock();
  const ngPort = base;
  const tcpNgPort = base + 1;
  const httpPort = base + 2;
  const cliPort = base + 3;
  const args = [
    '--config-file=none',
    '--interface=127.0.0.1',
    `--listen-ng=127.0.0.1:${ngPort}`,
    `--listen-tcp-ng=127.0.0.1:${tcpNgPort}`,
    `--listen-http=127.0.0.1:${httpPort}`,
    `--listen-cli=127.0.0.1:${cliPort}`,
    '--foreground',
    '--log-stderr',
    '--log-level=5',
    '--table=-1',
    `--port-min=${base + 10}`,
    `--port-max=${base + 109}`,
    '--num-threads=2',
    '--delete-delay=0',
    ...extraArgs,
  ];
  const proc = spawn(RTPENGINE_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => {
    out += d;
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  const ng = new NgUdp(ngPort);
  let up = false;
  try {
    for (let i = 0; i < 100 && proc.exitCode === null; i++) {
      try {
        const r = await ng.request({ command: 'ping' }, { timeoutMs: 100 });
        if (r.result === 'pong') {
          up = true;
          break;
        }
      } catch {}
    }
  } finally {
    ng.close();
  }
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  };
  if (!up) {
    await stop();
    throw new Error(`rtpengine did not come up:\n${out}`);
  }
  const spare = Array.from({ length: 80 }, (_, i) => base + 120 + i);
  return { ngPort, tcpNgPort, httpPort, spare, proc, output: () => out, stop };
}
