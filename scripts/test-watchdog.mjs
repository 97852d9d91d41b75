// The test run's upper bound. A test file whose process never ends (a promise nobody settles, a handle left
// open) would otherwise hold CI until the CI's own limit, and CI would show nothing of where it hung. When the
// limit passes, this prints every process the run still has, asks the test-file processes for a diagnostic
// report (their JavaScript stack and open handles; they run with --report-on-signal), prints it, and ends the
// run's whole process group.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REPORT_SIGNAL = 'SIGUSR2';

/** A directory for diagnostic reports, and the options that make test-file processes write them there. */
export function reportOptions() {
  const dir = mkdtempSync(join(tmpdir(), 'sipmedia-test-reports-'));
  return {
    dir,
    execArgv: ['--report-on-signal', `--report-signal=${REPORT_SIGNAL}`, `--report-directory=${dir}`],
  };
}

/** pid, elapsed seconds and command line of every descendant of `root`. */
function descendants(root) {
  let text = '';
  try {
    text = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,etimes=,args='], {
      encoding: 'utf8',
      timeout: 10_000,
    });
  } catch (e) {
    console.error(`test run: ps failed (${e.message}); ending the run without a process list`);
  }
  const rows = text
    .split('\n')
    .map((l) => l.trim().match(/^(\d+)\s+(\d+)\s+(\d+)\s+(.*)$/))
    .filter(Boolean)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), etimes: Number(m[3]), args: m[4] }));
  const out = [];
  const parents = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const r of rows) {
      if (parents.has(r.ppid) && !parents.has(r.pid)) {
        parents.add(r.pid);
        out.push(r);
        grew = true;
      }
    }
  }
  return out;
}

/** What a diagnostic report says about where a process waits. */
function summarise(report) {
  const js = report.javascriptStack ?? {};
  const handles = (report.libuv ?? [])
    .filter((h) => h.is_active)
    .map(
      (h) =>
        `${h.type}${h.remoteEndpoint ? ` -> ${JSON.stringify(h.remoteEndpoint)}` : ''}${h.pid ? ` pid ${h.pid}` : ''}`,
    );
  return [
    `  JavaScript: ${js.message ?? '?'}`,
    ...(js.stack ?? []).slice(0, 12).map((l) => `    ${l}`),
    `  active handles: ${handles.join(', ') || 'none'}`,
  ].join('\n');
}

/** Reports, kills and returns; `runner` is the detached test runner (its pid is the process group). */
export async function onTimeout(runner, reportDir, limitS) {
  console.error(`\ntest run: still running after ${limitS} s; processes left:`);
  const left = descendants(runner.pid);
  for (const p of left) console.error(`  pid ${p.pid}, ${p.etimes} s: ${p.args.slice(0, 300)}`);
  const files = left.filter((p) => /\.test\.[cm]?[jt]s\b/.test(p.args));
  for (const p of files) {
    try {
      process.kill(p.pid, REPORT_SIGNAL);
    } catch {}
  }
  // Reports are written from the main thread, which a busy or blocked event loop delays: wait a bounded time.
  for (let i = 0; i < 30 && existsSync(reportDir) && readdirSync(reportDir).length < files.length; i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const name of existsSync(reportDir) ? readdirSync(reportDir) : []) {
    try {
      const report = JSON.parse(readFileSync(join(reportDir, name), 'utf8'));
      const pid = report.header?.processId;
      const args = left.find((p) => p.pid === pid)?.args ?? '';
      console.error(`report of pid ${pid} (${args.split(' ').pop()}):\n${summarise(report)}`);
    } catch (e) {
      console.error(`report ${name}: unreadable (${e.message})`);
    }
  }
  try {
    process.kill(-runner.pid, 'SIGKILL');
  } catch {}
  rmSync(reportDir, { recursive: true, force: true });
}
