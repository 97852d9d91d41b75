/**
 * A file written in the background for a recording: callers queue byte ranges and never wait. Writes go
 * out one at a time in queue order. The queue is bounded in bytes: when the disk cannot keep up, new data
 * is dropped and counted rather than letting memory grow or forwarding slow down. The first I/O error is
 * kept (for `query`) and everything after it is discarded.
 */
import { type FileHandle, open } from 'node:fs/promises';
import type { WavSink } from '../media/wav-writer.js';

/** Default bound on queued, unwritten bytes per file. */
export const DEFAULT_QUEUE_BYTES = 4 * 1024 * 1024;

interface Pending {
  data: Buffer;
  position: number;
}

export class RecordingFile implements WavSink {
  /** Bytes appended so far (the append position). */
  private size = 0;
  private queued = 0;
  private readonly queue: Pending[] = [];
  private handle: Promise<FileHandle | null>;
  private running = false;
  private draining: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  /** Bytes dropped because the queue was full or the file failed. */
  dropped = 0;
  error: string | undefined;
  written = 0;

  constructor(
    readonly path: string,
    private readonly maxQueued = DEFAULT_QUEUE_BYTES,
    private readonly onError: (file: RecordingFile, message: string) => void = () => {},
  ) {
    this.handle = open(path, 'w', 0o640).catch((e: unknown) => {
      this.fail(e);
      return null;
    });
  }

  /** Append bytes at the end of the file. */
  write(data: Buffer): void {
    if (this.enqueue(data, this.size)) this.size += data.length;
    else this.size += data.length; // keep positions stable even when data is dropped
  }

  /** Overwrite bytes at `position` (headers). Never dropped for lack of queue space: they are tiny. */
  writeAt(data: Buffer, position: number): void {
    this.enqueue(data, position, true);
  }

  /** Queued bytes not yet on disk. */
  get backlog(): number {
    return this.queued;
  }

  private enqueue(data: Buffer, position: number, force = false): boolean {
    if (this.error !== undefined || this.closing) {
      this.dropped += data.length;
      return false;
    }
    if (!force && this.queued + data.length > this.maxQueued) {
      this.dropped += data.length;
      return false;
    }
    this.queue.push({ data, position });
    this.queued += data.length;
    if (!this.running) this.draining = this.drain();
    return true;
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      const fh = await this.handle;
      for (let p = this.queue.shift(); p; p = this.queue.shift()) {
        this.queued -= p.data.length;
        if (!fh || this.error !== undefined) {
          this.dropped += p.data.length;
          continue;
        }
        try {
          await fh.write(p.data, 0, p.data.length, p.position);
          this.written += p.data.length;
        } catch (e) {
          this.fail(e);
        }
      }
    } finally {
      this.running = false;
    }
  }

  private fail(e: unknown): void {
    if (this.error !== undefined) return;
    const err = e as NodeJS.ErrnoException;
    this.error = `${this.path}: ${err.code ?? err.message ?? String(e)}`;
    this.onError(this, this.error);
  }

  /** Write what is queued, then close. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      // No new writes are accepted once closing: the running drain empties the queue.
      await this.draining;
      const fh = await this.handle;
      await fh?.close().catch(() => {});
    })();
    return this.closing;
  }
}
