/**
 * Node's and V8's helper threads (optimising compiler, concurrent marking, the libuv pool) under SCHED_BATCH.
 *
 * When a helper thread wakes up on the CPU where the JavaScript thread is answering a request, Linux lets it
 * preempt that thread; a TurboFan compile then holds the CPU for milliseconds while the other CPU may sit
 * idle (seen with `perf sched` under `ngsetup paced`: the slowest offers were exactly these). SCHED_BATCH
 * threads keep their fair share of the CPU but never preempt on wake-up, so they run beside the request or
 * after it. Relay worker threads are started later and stay as they are.
 */
import { readdirSync } from 'node:fs';
import type { NativeRelayAddon } from './addon.js';

/** The thread ended between listing and changing it. */
const ESRCH = 3;

export interface HelperThreadsResult {
  batched: number;
  /** The first error, when some thread could not be changed. */
  error?: string;
}

/** Applies SCHED_BATCH to every thread of this process except the JavaScript thread. Linux only. */
export function batchHelperThreads(addon: Pick<NativeRelayAddon, 'setBatchPolicy'>): HelperThreadsResult {
  let tids: number[];
  try {
    tids = readdirSync('/proc/self/task').map(Number);
  } catch (e) {
    return { batched: 0, error: `cannot list threads: ${(e as Error).message}` };
  }
  const out: HelperThreadsResult = { batched: 0 };
  for (const tid of tids) {
    if (tid === process.pid || !(tid > 0)) continue;
    const err = addon.setBatchPolicy(tid);
    if (err === 0) out.batched++;
    else if (err !== ESRCH) out.error ??= `thread ${tid}: errno ${err}`;
  }
  return out;
}
