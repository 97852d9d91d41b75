/**
 * CPU accounting for the kernel bench. A relay that forwards in the kernel does its work in softirq context
 * (NET_RX, run at the end of the sender's system call or in ksoftirqd), which no process is charged for, so
 * besides a process tree's utime + stime (bench/lib/proc.mjs) we read every CPU's softirq time from
 * /proc/stat. On this kernel (CONFIG_TICK_CPU_ACCOUNTING, no IRQ_TIME_ACCOUNTING) both are tick-sampled: a
 * tick that interrupts softirq work goes to the softirq column and not to the interrupted task.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { cpuSeconds } from '../lib/proc.mjs';

let hz = 100;
try {
  hz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {}

const FIELDS = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'];

/** Seconds per field for every `cpuN` line of /proc/stat (not the aggregate line). */
export function perCpu() {
  const rows = [];
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    if (!/^cpu\d+ /.test(line)) continue;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    rows.push(Object.fromEntries(FIELDS.map((f, i) => [f, (v[i] ?? 0) / hz])));
  }
  return rows;
}

/** Per-field seconds between two perCpu() samples, summed over CPUs, plus each CPU's softirq delta. */
export function cpuDelta(a, b) {
  const sum = Object.fromEntries(FIELDS.map((f) => [f, 0]));
  const softirqPerCpu = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    for (const f of FIELDS) sum[f] += b[i][f] - a[i][f];
    softirqPerCpu.push(b[i].softirq - a[i].softirq);
  }
  return { ...sum, softirqPerCpu };
}

/** PIDs of a process's descendants, found by scanning /proc. */
export function descendants(pid) {
  const parent = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {}
  }
  const out = [];
  const walk = (p) => {
    for (const [c, pp] of parent)
      if (pp === p) {
        out.push(c);
        walk(c);
      }
  };
  walk(pid);
  return out;
}

/** utime + stime of a set of PIDs (NaN entries, i.e. exited processes, count as 0). */
export function treeCpu(pids) {
  let s = 0;
  for (const p of pids) {
    const c = cpuSeconds(p);
    if (Number.isFinite(c)) s += c;
  }
  return s;
}

const PF_KTHREAD = 0x00200000;

/**
 * CPU seconds of every process now: own utime + stime and reaped children's cutime + cstime, and whether
 * it is a kernel thread (ksoftirqd, kworker...). Used to take other sessions' processes out of the machine's
 * busy time.
 */
export function processTimes() {
  const m = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      m.set(Number(d), {
        own: (Number(f[11]) + Number(f[12])) / hz,
        reaped: (Number(f[13]) + Number(f[14])) / hz,
        kthread: (Number(f[6]) & PF_KTHREAD) !== 0,
      });
    } catch {}
  }
  return m;
}

/**
 * CPU seconds used between two processTimes() snapshots by user-space processes other than `ours` (kernel
 * threads are left in: softirq work can run in ksoftirqd). A process that appeared in between counts whole. One
 * that exited is counted through its parent's reaped time, which holds its whole life: its time before the first
 * snapshot is taken off again.
 */
export function otherProcessesCpu(a, b, ours) {
  let s = 0;
  for (const [pid, x] of b) {
    if (x.kthread || ours.has(pid)) continue;
    const y = a.get(pid);
    s += x.own + x.reaped - (y ? y.own + y.reaped : 0);
  }
  for (const [pid, y] of a) if (!b.has(pid) && !y.kthread && !ours.has(pid)) s -= y.own + y.reaped;
  return s;
}

/**
 * Run time of each thread of `pid` in seconds, by thread name (/proc/<pid>/task/<tid>/schedstat: the
 * scheduler's exact run time, not tick-sampled). Shows which of the relay's threads its process time is.
 */
export function threadTimes(pid) {
  const m = new Map();
  let tids = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return m;
  }
  for (const tid of tids) {
    try {
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      m.set(`${comm}/${tid}`, ns / 1e9);
    } catch {}
  }
  return m;
}

/** Seconds per thread name between two threadTimes() samples (threads of one name summed), largest first. */
export function threadDelta(a, b) {
  const by = new Map();
  for (const [k, v] of b) {
    const name = k.slice(0, k.lastIndexOf('/'));
    by.set(name, (by.get(name) ?? 0) + v - (a.get(k) ?? 0));
  }
  return [...by].sort((x, y) => y[1] - x[1]);
}
