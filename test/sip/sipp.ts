/** Runs Debian's sipp as a real SIP peer for tests, always bounded in time and stopped by PID. */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

/** Why sipp cannot run here, or undefined when it can. */
export function sippMissing(): string | undefined {
  const r = spawnSync('sipp', ['-v'], { encoding: 'utf8' });
  if (r.error) return 'MISSING PEER: sipp is not installed (apt-get install sip-tester)';
  return undefined;
}

export interface SippResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Contents of sipp's error log (-trace_err), if any. */
  errors: string;
}

export interface SippRun {
  done: Promise<SippResult>;
  child: ChildProcess;
  stop(): void;
}

/** Starts sipp with `args` in a scratch directory; it is killed after `timeoutMs`. */
export function startSipp(args: string[], timeoutMs = 20_000): SippRun {
  const dir = mkdtempSync(join(tmpdir(), 'sipp-'));
  const child = spawn('sipp', ['-nostdin', '-trace_err', ...args], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    if (stdout.length < 200_000) stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 200_000) stderr += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<SippResult>((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      let errors = '';
      for (const f of readdirSync(dir))
        if (f.endsWith('_errors.log')) errors += readFileSync(join(dir, f), 'utf8');
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, stdout, stderr, errors });
    });
  });
  return {
    done,
    child,
    stop: () => {
      if (child.exitCode === null && child.pid !== undefined) child.kill('SIGKILL');
    },
  };
}

/** Polls `cond` up to `tries` times, `everyMs` apart. */
export async function waitFor(cond: () => boolean, tries = 200, everyMs = 10): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return cond();
}
