/**
 * One long-lived `nft -j -i` process fed on stdin. Starting nft costs ~17 ms, so updates are never one
 * process per call; and a table created with `flags owner` belongs to this process's netlink socket, so it
 * disappears when the process ends — including when our daemon dies (kill -9): the pipe closes, nft reads
 * EOF and exits, the kernel drops the table and every packet goes back to the daemon's bound sockets.
 *
 * Each request is one line (nft runs one line as one atomic transaction), followed by a marker line that nft
 * rejects as a syntax error and echoes back: the output up to the echo belongs to the request.
 */
import { type ChildProcess, spawn } from 'node:child_process';

export interface NftResult {
  ok: boolean;
  /** nft's output for the request (JSON for `list`, error text otherwise). */
  output: string;
}

interface Pending {
  marker: string;
  resolve: (r: NftResult) => void;
}

/** Longest output kept for one request (a 10,000-element set lists as ~1.5 MB of JSON). */
const MAX_OUTPUT = 64 * 1024 * 1024;

export class NftSession {
  private readonly proc: ChildProcess;
  private readonly pending: Pending[] = [];
  private lines: string[] = [];
  private size = 0;
  private partial = '';
  private skipCaret = false;
  private seq = 0;
  private exited = false;
  /** Called once when nft exits or cannot be started (the owned table is gone then). */
  onExit: ((reason: string) => void) | null = null;

  /** `wrapper`: a command prefix such as `ip netns exec NS` (tests). */
  constructor(nftPath = 'nft', wrapper: string[] = []) {
    // stderr merged into stdout so errors and the marker echo arrive in order.
    this.proc = spawn('sh', ['-c', 'exec "$@" -j -i 2>&1', 'sh', ...wrapper, nftPath], {
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    this.proc.stdout?.setEncoding('utf8');
    this.proc.stdout?.on('data', (d: string) => this.data(d));
    this.proc.stdin?.on('error', () => {});
    this.proc.on('error', (e) => this.end(`cannot run nft: ${e.message}`));
    this.proc.on('exit', (code, sig) => this.end(`nft exited (${sig ?? `code ${code}`})`));
  }

  get alive(): boolean {
    return !this.exited;
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** Runs one line of nft commands (`;`-separated: one transaction). Never rejects. */
  run(line: string): Promise<NftResult> {
    if (this.exited) return Promise.resolve({ ok: false, output: 'nft is not running' });
    if (line.includes('\n')) throw new Error('nft request must be a single line');
    const marker = `sipmedia-done-${++this.seq}`;
    return new Promise((resolve) => {
      this.pending.push({ marker, resolve });
      this.proc.stdin?.write(`${line}\n${marker}\n`);
    });
  }

  private data(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.line(line);
  }

  private line(line: string): void {
    if (this.skipCaret) {
      this.skipCaret = false;
      if (/^\s*\^+\s*$/.test(line)) return;
    }
    const head = this.pending[0];
    if (head && line === head.marker) {
      this.pending.shift();
      // Drop the syntax error nft printed for the marker itself.
      if (this.lines.at(-1)?.startsWith('Error:')) this.lines.pop();
      const output = this.lines.join('\n');
      this.lines = [];
      this.size = 0;
      this.skipCaret = true;
      head.resolve({ ok: !/^Error:|^[^\n]*: Error:/m.test(output), output });
      return;
    }
    if (this.size + line.length > MAX_OUTPUT) return;
    this.size += line.length + 1;
    this.lines.push(line);
  }

  private end(reason: string): void {
    if (this.exited) return;
    this.exited = true;
    for (const p of this.pending.splice(0)) p.resolve({ ok: false, output: reason });
    this.onExit?.(reason);
  }

  /** Ends nft (its stdin closes; the owned table goes with it). */
  close(): void {
    if (this.exited) return;
    this.proc.stdin?.end();
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 2000);
    t.unref();
    this.proc.once('exit', () => clearTimeout(t));
  }
}
