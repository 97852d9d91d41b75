/**
 * Young-generation collections at quiet moments, so a signalling request rarely waits for one.
 *
 * Every call set up leaves state that outlives V8's young generation; when the young generation is large
 * (Node lets it grow to 16 MiB per semi-space), one scavenge copies the state of hundreds of calls at once
 * and stalls the event loop for several milliseconds, which is what a request arriving then sees. Collecting
 * while the young generation is still small, right after a request was answered, keeps each pause short
 * and moves it between requests. The total copying work stays the same: an object is copied at most twice
 * before it is promoted, however often collections run.
 *
 * Two V8 settings make each of those collections short (measured with `ngsetup paced`, docs/benchmarks.md):
 * - the young generation stops growing: it keeps the size start-up left it at (4 MiB per semi-space for the
 *   proxy). V8 would grow it to 16 MiB as call state survives, and every scavenge prepares all of that
 *   capacity (its evacuation prologue alone was a fifth of each pause), however little of it is in use;
 * - scavenges run on the calling thread only. A parallel scavenge hands work to V8's helper threads and waits
 *   for them; on a small machine a helper often lands behind other work, so the pause lasted until it ran.
 *
 * `gc()` is V8's own collector entry point (the one `--expose-gc` publishes); it is fetched once, without
 * exposing it to any other code.
 */
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type CollectFn = (options: { type: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

/**
 * Young-generation bytes in use above which a quiet moment triggers a minor collection (about 15 call
 * setups' garbage; in A/B runs 768 KiB did at least as well as limits from 256 KiB to 1 MiB).
 */
export const DEFAULT_YOUNG_LIMIT = 768 * 1024;

let collector: CollectFn | null | undefined;

/**
 * V8's collector function, or null when this runtime refuses to publish it. Also keeps the young generation
 * small and its collections on one thread (see above); both flags are read by V8 at each collection.
 */
function collect(): CollectFn | null {
  if (collector !== undefined) return collector;
  try {
    setFlagsFromString('--expose-gc');
    const fn = runInNewContext('gc') as unknown;
    collector = typeof fn === 'function' ? (fn as CollectFn) : null;
    if (collector) {
      setFlagsFromString('--semi-space-growth-factor=1');
      setFlagsFromString('--no-parallel-scavenge');
    }
  } catch {
    collector = null;
  }
  return collector;
}

function newSpace(): { space_size: number; space_used_size: number } | undefined {
  for (const s of getHeapSpaceStatistics()) if (s.space_name === 'new_space') return s;
  return undefined;
}

/** Bytes reserved for the young generation (both semi-spaces), for tests and statistics. */
export function youngCapacity(): number {
  return newSpace()?.space_size ?? 0;
}

function youngBytes(): number {
  return newSpace()?.space_used_size ?? 0;
}

export class GcPacer {
  private scheduled = false;
  private readonly gc: CollectFn | null;
  /** Minor collections this pacer ran (for statistics and tests). */
  collections = 0;

  constructor(private readonly youngLimit = DEFAULT_YOUNG_LIMIT) {
    this.gc = collect();
  }

  /** Whether collections can be triggered at all here. */
  get active(): boolean {
    return this.gc !== null;
  }

  /**
   * Call after a request was handled: once everything already queued has run (setImmediate comes after
   * the poll phase, so datagrams that arrived meanwhile were served first), collects if worthwhile.
   */
  poke(): void {
    if (this.scheduled || this.gc === null) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (youngBytes() < this.youngLimit) return;
      this.collections++;
      this.gc?.({ type: 'minor' });
    });
  }
}
