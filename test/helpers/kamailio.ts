/**
 * Runs Debian's Kamailio 5.6 in the foreground on loopback with a config generated from a template (by
 * default test/e2e/fixtures/kamailio.cfg.tmpl: requests go to one UAS, SDP goes through the `rtpengine` module
 * to the media proxy under test). `__NAME__` placeholders are filled from the options. Ready once it answers
 * an OPTIONS; stopped by PID.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const KAMAILIO_BIN = '/usr/sbin/kamailio';
const MPATHS = ['/usr/lib/x86_64-linux-gnu/kamailio/modules/', '/usr/lib/kamailio/modules/'];
const TEMPLATE = fileURLToPath(new URL('../e2e/fixtures/kamailio.cfg.tmpl', import.meta.url));

/** Kamailio and the given module (default: rtpengine.so) are installed. */
export function kamailioInstalled(module = 'rtpengine.so'): boolean {
  return existsSync(KAMAILIO_BIN) && modulePath(module) !== undefined;
}

function modulePath(module: string): string | undefined {
  return MPATHS.find((p) => existsSync(join(p, module)));
}

export interface KamailioOptions {
  /** Work directory (config, pid file, runtime dir go below it). */
  dir: string;
  sipPort: number;
  /** Config template; default: the rtpengine-module template. `__SIP_PORT__` and `__MPATH__` are filled in. */
  template?: string;
  /** A module the template loads, checked before starting (default: rtpengine.so). */
  module?: string;
  /** More placeholders: `{ UAS_PORT: 5070 }` fills `__UAS_PORT__`. */
  vars?: Record<string, string | number>;
  /** Where INVITEs are sent (the UAS), for the default template. */
  uasPort?: number;
  /** The proxy's ng UDP port on 127.0.0.1, for the default template. */
  ngPort?: number;
}

export interface RunningKamailio {
  sipPort: number;
  output: () => string;
  stop: () => Promise<void>;
}

/** Sends OPTIONS from an ephemeral port and resolves true on any SIP reply within `timeoutMs`. */
export function probeSip(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const done = (ok: boolean): void => {
      clearTimeout(t);
      s.close();
      resolve(ok);
    };
    const t = setTimeout(() => done(false), timeoutMs);
    s.on('message', (m) => done(m.toString('latin1').startsWith('SIP/2.0 ')));
    s.on('error', () => done(false));
    s.bind(0, '127.0.0.1', () => {
      const local = s.address().port;
      const branch = `z9hG4bK${Math.random().toString(36).slice(2)}`;
      const msg = [
        `OPTIONS sip:ping@127.0.0.1:${port} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=${branch};rport`,
        'Max-Forwards: 5',
        `From: <sip:probe@127.0.0.1:${local}>;tag=probe`,
        `To: <sip:ping@127.0.0.1:${port}>`,
        `Call-ID: probe-${branch}`,
        'CSeq: 1 OPTIONS',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      s.send(msg, port, '127.0.0.1');
    });
  });
}

export async function startKamailio(opts: KamailioOptions): Promise<RunningKamailio> {
  const module = opts.module ?? 'rtpengine.so';
  const mpath = modulePath(module);
  if (!mpath) throw new Error(`kamailio module ${module} not found`);
  const vars: Record<string, string | number> = {
    SIP_PORT: opts.sipPort,
    MPATH: mpath,
    OFFER_FLAGS: 'replace-origin replace-session-connection',
    ...opts.vars,
  };
  if (opts.uasPort !== undefined) vars.UAS_PORT = opts.uasPort;
  if (opts.ngPort !== undefined) vars.NG_PORT = opts.ngPort;
  let config = readFileSync(opts.template ?? TEMPLATE, 'utf8');
  for (const [k, v] of Object.entries(vars)) config = config.replaceAll(`__${k}__`, String(v));
  const runDir = join(opts.dir, 'run');
  mkdirSync(runDir, { recursive: true });
  const cfg = join(opts.dir, 'kamailio.cfg');
  const pidFile = join(opts.dir, 'kamailio.pid');
  writeFileSync(cfg, config);
  // -DD: stay in the foreground (children still fork); -E: log to stderr; -Y: runtime dir (ctl socket, etc.);
  // -m/-M: small shared/private memory (MB); -w: working directory.
  const args = ['-f', cfg, '-DD', '-E', '-Y', runDir, '-P', pidFile, '-w', opts.dir, '-m', '32', '-M', '4'];
  const proc: ChildProcess = spawn(KAMAILIO_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer): void => {
    out = (out + d.toString()).slice(-2_000_000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };
  let up = false;
  for (let i = 0; i < 40 && proc.exitCode === null && !up; i++) up = await probeSip(opts.sipPort, 250);
  if (!up) {
    await stop();
    throw new Error(`kamailio did not come up:\n${out}`);
  }
  return { sipPort: opts.sipPort, output: () => out, stop };
}
