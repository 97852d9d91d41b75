/** The ng agent (bench/kernel/ng-agent.mjs) started inside the relay namespace, driven over JSON lines. */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const AGENT = fileURLToPath(new URL('./ng-agent.mjs', import.meta.url));

export class NgAgent {
  constructor(ns, live) {
    this.seq = 0;
    this.waiting = new Map();
    this.proc = spawn('ip', ['netns', 'exec', ns, process.execPath, AGENT], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    live.add(this.proc);
    this.proc.on('exit', () => {
      live.delete(this.proc);
      for (const w of this.waiting.values()) w({ error: 'ng agent exited' });
      this.waiting.clear();
    });
    createInterface({ input: this.proc.stdout }).on('line', (l) => {
      let v;
      try {
        v = JSON.parse(l);
      } catch {
        return;
      }
      const w = this.waiting.get(v.id);
      if (w) {
        this.waiting.delete(v.id);
        w(v);
      }
    });
  }

  call(op, timeoutMs = 30_000) {
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`ng agent ${op.op} timed out`));
      }, timeoutMs);
      this.waiting.set(id, (v) => {
        clearTimeout(t);
        if (v.error) reject(new Error(v.error));
        else resolve(v);
      });
      this.proc.stdin.write(`${JSON.stringify({ ...op, id })}\n`);
    });
  }

  stop() {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}
