/**
 * Starts a real `sipmedia proxy` daemon (the built bin, as users run it) on a reserved port block, waits
 * until it answers ng `ping`, and stops it by PID. Black-box tests drive it only over the network.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NgUdp } from './ng.js';
import { reservePortBlock } from './ports.js';

const BIN = fileURLToPath(new URL('../../bin/sipmedia.js', import.meta.url));

export interface RunningProxy {
  ngPort: number;
  tcpNgPort: number;
  /** First and last media port given to the daemon. */
  portMin: number;
  portMax: number;
  /** Ports in the block left free for the test's own endpoints (portMax+1 ... block end). */
  spare: number[];
  ng: NgUdp;
  proc: ChildProcess;
  output: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

export async function startProxy(
  extraArgs: string[] = [],
  opts: { interface?: string[] } = {},
): Promise<RunningProxy> {
  const base = reservePortBlock();
  const ngPort = base;
  const tcpNgPort = base + 1;
  const portMin = base + 10;
  const portMax = base + 109;
  const spare = Array.from({ length: 80 }, (_, i) => base + 120 + i);
  const ifaces = opts.interface ?? ['127.0.0.1'];
  const args = [
    BIN,
    'proxy',
    ...ifaces.map((i) => `--interface=${i}`),
    `--listen-ng=127.0.0.1:${ngPort}`,
    `--listen-tcp-ng=127.0.0.1:${tcpNgPort}`,
    `--port-min=${portMin}`,
    `--port-max=${portMax}`,
    '--foreground',
    '--log-level=4',
    // SIPMEDIA_DATAPLANE=js|native runs every black-box test against that dataplane.
    ...(process.env.SIPMEDIA_DATAPLANE ? [`--dataplane=${process.env.SIPMEDIA_DATAPLANE}`] : []),
    ...extraArgs,
  ];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout?.on('data', (d) => {
    out += d;
  });
  proc.stderr?.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const ng = new NgUdp(ngPort);
  if (!(await ng.waitForPong(100, () => proc.exitCode === null))) {
    proc.kill('SIGKILL');
    ng.close();
    throw new Error(`proxy did not come up:\n${out}`);
  }
  return {
    ngPort,
    tcpNgPort,
    portMin,
    portMax,
    spare,
    ng,
    proc,
    output: () => out,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      ng.close();
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
