/**
 * LRU cache of decoded prompts keyed by (path, mtime, size), bounded in bytes. Changing a file changes its
 * key, so a stale entry is never served; it just ages out. Concurrent requests for the same key share one
 * load. I/O is injected (see prompt-file.ts), so the cache itself is pure state.
 */

export interface PromptFileStat {
  mtimeMs: number;
  size: number;
}

export interface PromptCacheOptions {
  /** Upper bound on the bytes of cached samples (2 per Int16 sample). */
  maxBytes: number;
  stat: (path: string) => Promise<PromptFileStat>;
  load: (path: string) => Promise<Int16Array>;
}

export interface PromptCacheStats {
  entries: number;
  bytes: number;
  hits: number;
  misses: number;
}

export class PromptCache {
  /** Insertion order of a Map is the recency order: the first key is the least recently used. */
  private readonly entries = new Map<string, Int16Array>();
  private readonly loading = new Map<string, Promise<Int16Array>>();
  private bytes = 0;
  private hits = 0;
  private misses = 0;

  constructor(private readonly options: PromptCacheOptions) {}

  /** The prompt at `path`, from the cache when its mtime and size are unchanged. */
  async get(path: string): Promise<Int16Array> {
    const st = await this.options.stat(path);
    const key = `${st.mtimeMs}\0${st.size}\0${path}`;
    const hit = this.entries.get(key);
    if (hit) {
      this.hits++;
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const pending = this.loading.get(key);
    if (pending) {
      this.hits++;
      return pending;
    }
    this.misses++;
    const p = this.options.load(path).then(
      (samples) => {
        this.loading.delete(key);
        this.insert(key, samples);
        return samples;
      },
      (e: unknown) => {
        this.loading.delete(key);
        throw e;
      },
    );
    this.loading.set(key, p);
    return p;
  }

  private insert(key: string, samples: Int16Array): void {
    const size = samples.byteLength;
    if (size > this.options.maxBytes) return; // served, never cached
    for (const [k, v] of this.entries) {
      if (this.bytes + size <= this.options.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= v.byteLength;
    }
    this.entries.set(key, samples);
    this.bytes += size;
  }

  /** Drop everything. */
  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  stats(): PromptCacheStats {
    return { entries: this.entries.size, bytes: this.bytes, hits: this.hits, misses: this.misses };
  }
}
