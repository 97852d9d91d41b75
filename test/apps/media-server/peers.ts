/**
 * Real peers for the media server's e2e tests: sipp scenarios from test/e2e/fixtures/media-server/ (run
 * through the shared sipp helper) and Kamailio with the media server's own config template (the shared
 * Kamailio helper is bound to the rtpengine template, so its start-up steps are repeated here).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KAMAILIO_BIN } from '../../helpers/kamailio.js';
import { type RunningSipp, type SippOptions, startSipp } from '../../helpers/sipp.js';

const FIXTURES = fileURLToPath(new URL('../../e2e/fixtures/media-server/', import.meta.url));
const MPATHS = ['/usr/lib/x86_64-linux-gnu/kamailio/modules/', '/usr/lib/kamailio/modules/'];

export function kamailioUsable(): boolean {
  return existsSync(KAMAILIO_BIN) && MPATHS.some((p) => existsSync(join(p, 'tm.so')));
}

/**
 * Runs a scenario of test/e2e/fixtures/media-server/. The shared helper copies `<sipp fixtures>/<name>` to
 * `<dir>/<name>`; a name of `../media-server/x.xml` lands in `<dir>/../media-server/`, so `dir` is a
 * subdirectory of the test's temp dir and that sibling is created here.
 */
export function startMediaSipp(o: Omit<SippOptions, 'scenario'> & { scenario: string }): RunningSipp {
  mkdirSync(join(dirname(o.dir), 'media-server'), { recursive: true });
  mkdirSync(o.dir, { recursive: true });
  return startSipp({ ...o, scenario: `../media-server/${o.scenario}` });
}

function probe(port: number, timeoutMs: number): Promise<boolean> {
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
      s.send(
        [
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
        ].join('\r\n'),
        port,
        '127.0.0.1',
      );
    });
  });
}

export interface RunningKamailio {
  output: () => string;
  stop: () => Promise<void>;
}

/** Kamailio on 127.0.0.1:`sipPort` forwarding new INVITEs to the media server at `msPort`. */
export async function startKamailioForMediaServer(
  dir: string,
  sipPort: number,
  msPort: number,
): Promise<RunningKamailio> {
  const mpath = MPATHS.find((p) => existsSync(join(p, 'tm.so')));
  if (!mpath) throw new Error('kamailio modules not found');
  const runDir = join(dir, 'run');
  mkdirSync(runDir, { recursive: true });
  const cfg = join(dir, 'kamailio.cfg');
  writeFileSync(
    cfg,
    readFileSync(join(FIXTURES, 'kamailio-ms.cfg.tmpl'), 'utf8')
      .replaceAll('__SIP_PORT__', String(sipPort))
      .replaceAll('__MS_PORT__', String(msPort))
      .replaceAll('__MPATH__', mpath),
  );
  const args = [
    '-f',
    cfg,
    '-DD',
    '-E',
    '-Y',
    runDir,
    '-P',
    join(dir, 'k.pid'),
    '-w',
    dir,
    '-m',
    '32',
    '-M',
    '4',
  ];
  const proc: ChildProcess = spawn(KAMAILIO_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer): void => {
    out = (out + d.toString()).slice(-200_000);
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
  for (let i = 0; i < 40 && proc.exitCode === null && !up; i++) up = await probe(sipPort, 250);
  if (!up) {
    await stop();
    throw new Error(`kamailio did not come up:\n${out}`);
  }
  return { output: () => out, stop };
}
