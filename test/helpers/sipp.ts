/**
 * Runs Debian's sipp (3.6) with a scenario from test/e2e/fixtures/sipp/, in a work directory that holds the
 * audio file the scenario streams (rtp_stream="tone.wav,..."). Reports the exit code, the final
 * success/failure counters from the -trace_stat CSV and the SIP messages sipp received (-trace_msg).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SIPP_BIN = '/usr/bin/sipp';
const SCENARIOS = fileURLToPath(new URL('../e2e/fixtures/sipp/', import.meta.url));

export function sippInstalled(): boolean {
  return existsSync(SIPP_BIN);
}

/** G.711 A-law encoding of one 16-bit linear sample (ITU-T G.711). */
function alaw(sample: number): number {
  let s = sample >> 3;
  let mask: number;
  if (s >= 0) mask = 0xd5;
  else {
    mask = 0x55;
    s = -s - 1;
  }
  const ends = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];
  let seg = ends.findIndex((e) => s <= e);
  if (seg < 0) seg = 8;
  if (seg >= 8) return 0x7f ^ mask;
  const aval = seg << 4;
  return (aval | (seg < 2 ? (s >> 1) & 0xf : (s >> seg) & 0xf)) ^ mask;
}

/** Writes an 8 kHz mono A-law WAV of a 440 Hz tone (what rtp_stream plays as payload type 8). */
export function writeToneWav(path: string, ms: number): void {
  const n = 8 * ms;
  const data = Buffer.alloc(n);
  for (let i = 0; i < n; i++) data[i] = alaw(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)));
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + n, 4);
  h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(6, 20); // WAVE_FORMAT_ALAW
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(8000, 24);
  h.writeUInt32LE(8000, 28);
  h.writeUInt16LE(1, 32);
  h.writeUInt16LE(8, 34);
  h.write('data', 36);
  h.writeUInt32LE(n, 40);
  writeFileSync(path, Buffer.concat([h, data]));
}

export interface SippOptions {
  /** Scenario file name in `scenarioDir`. */
  scenario: string;
  /** Where the scenario file is (default test/e2e/fixtures/sipp/). */
  scenarioDir?: string;
  /** Work directory: must contain tone.wav; logs are written here. */
  dir: string;
  /** A short name for the log files. */
  name: string;
  localPort: number;
  /** sipp's control port (default 8888 would collide between instances). */
  controlPort: number;
  /** Media (echo / rtpstream base) port. */
  mediaPort: number;
  /** Local media address (-mi), default 127.0.0.1. */
  mediaIp?: string;
  /** UAC only: where to send the first request. */
  remote?: string;
  /** Extra options, e.g. ['-m', '20', '-l', '1']. */
  args?: string[];
  /** Hard limit; sipp is killed after it. */
  timeoutMs: number;
}

export interface SippResult {
  code: number | null;
  successful: number;
  failed: number;
  /** Full -trace_msg log (sent and received SIP messages). */
  messages: string;
  output: string;
  /** The tail of sipp's -error_file (why calls failed). */
  errors: string;
}

export interface RunningSipp {
  done: Promise<SippResult>;
  stop: () => Promise<SippResult>;
}

/** Last row of sipp's statistics CSV, as column name -> value. */
function lastStats(file: string): Map<string, string> {
  const m = new Map<string, string>();
  if (!existsSync(file)) return m;
  const rows = readFileSync(file, 'utf8').trim().split('\n');
  const head = rows[0]?.split(';') ?? [];
  const last = rows.length > 1 ? (rows[rows.length - 1]?.split(';') ?? []) : [];
  head.forEach((h, i) => {
    m.set(h.trim(), (last[i] ?? '').trim());
  });
  return m;
}

export function startSipp(o: SippOptions): RunningSipp {
  const scenario = join(o.dir, basename(o.scenario));
  copyFileSync(join(o.scenarioDir ?? SCENARIOS, o.scenario), scenario);
  const stf = join(o.dir, `${o.name}-stats.csv`);
  const msgFile = join(o.dir, `${o.name}-messages.log`);
  const errFile = join(o.dir, `${o.name}-errors.log`);
  const args = [
    ...(o.remote ? [o.remote] : []),
    '-sf',
    scenario,
    '-i',
    '127.0.0.1',
    '-mi',
    o.mediaIp ?? '127.0.0.1',
    '-p',
    String(o.localPort),
    '-cp',
    String(o.controlPort),
    '-mp',
    String(o.mediaPort),
    '-t',
    'u1',
    '-nostdin',
    '-trace_msg',
    '-message_file',
    msgFile,
    '-trace_stat',
    '-stf',
    stf,
    '-fd',
    '1',
    '-trace_err',
    '-error_file',
    errFile,
    '-max_retrans',
    '3',
    ...(o.args ?? []),
  ];
  const proc: ChildProcess = spawn(SIPP_BIN, args, { cwd: o.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer): void => {
    out = (out + d.toString()).slice(-100_000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const kill = setTimeout(() => proc.kill('SIGKILL'), o.timeoutMs);
  const done = new Promise<SippResult>((resolve) => {
    proc.on('exit', (code) => {
      clearTimeout(kill);
      const st = lastStats(stf);
      resolve({
        code,
        successful: Number(st.get('SuccessfulCall(C)') ?? 0),
        failed: Number(st.get('FailedCall(C)') ?? 0),
        messages: existsSync(msgFile) ? readFileSync(msgFile, 'utf8') : '',
        output: out,
        errors: existsSync(errFile) ? readFileSync(errFile, 'utf8').slice(-4000) : '',
      });
    });
  });
  return {
    done,
    stop: () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return done;
    },
  };
}

/** The SDP bodies of the SIP messages sipp logged as received. */
export function receivedSdps(messages: string): string[] {
  const out: string[] = [];
  // -trace_msg separates entries with a "----" line and labels received ones "message received".
  for (const entry of messages.split(/\n-{10,}[^\n]*\n/)) {
    if (!/message received/i.test(entry)) continue;
    const i = entry.indexOf('\nv=0');
    if (i < 0) continue;
    out.push(
      entry
        .slice(i + 1)
        .split(/\r?\n/)
        .filter((l) => /^[a-z]=/.test(l))
        .join('\n'),
    );
  }
  return out;
}
