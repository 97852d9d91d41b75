/** A minimal ng requester for tests (the real client library lives in src/client). */
import { createSocket, type Socket } from 'node:dgram';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { BDict } from '../../src/wire/bencode.js';
import { formatNgMessage, parseNgMessage, takeNgStreamMessage } from '../../src/wire/ng-message.js';

export class NgUdp {
  private sock: Socket;
  private pending = new Map<string, (d: BDict) => void>();
  constructor(
    readonly port: number,
    readonly host = '127.0.0.1',
  ) {
    this.sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    this.sock.on('message', (msg) => {
      const m = parseNgMessage(msg);
      const cb = this.pending.get(m.cookie);
      if (cb) {
        this.pending.delete(m.cookie);
        cb(m.body);
      }
    });
    this.sock.unref();
  }

  /** Sends raw bytes and resolves with the raw reply datagram. */
  raw(bytes: Buffer, timeoutMs = 2000): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const s = createSocket(this.host.includes(':') ? 'udp6' : 'udp4');
      const t = setTimeout(() => {
        s.close();
        reject(new Error('ng raw: timeout'));
      }, timeoutMs);
      s.on('message', (m) => {
        clearTimeout(t);
        s.close();
        resolve(m);
      });
      s.send(bytes, this.port, this.host);
    });
  }

  /** Sends the same bytes `times` times from one socket and collects that many replies. */
  rawRepeated(bytes: Buffer, times: number, timeoutMs = 2000): Promise<Buffer[]> {
    return new Promise((resolve, reject) => {
      const s = createSocket(this.host.includes(':') ? 'udp6' : 'udp4');
      const got: Buffer[] = [];
      const t = setTimeout(() => {
        s.close();
        reject(new Error(`ng rawRepeated: ${got.length}/${times} replies`));
      }, timeoutMs);
      s.on('message', (m) => {
        got.push(m);
        if (got.length === times) {
          clearTimeout(t);
          s.close();
          resolve(got);
        }
      });
      s.bind(0, () => {
        for (let i = 0; i < times; i++) s.send(bytes, this.port, this.host);
      });
    });
  }

  /** Pings until the daemon answers pong (bounded: `tries` x 100 ms) or `alive()` says it died. */
  async waitForPong(tries: number, alive: () => boolean): Promise<boolean> {
    for (let i = 0; i < tries && alive(); i++) {
      try {
        if ((await this.request({ command: 'ping' }, { timeoutMs: 100 })).result === 'pong') return true;
      } catch {}
    }
    return false;
  }

  /** Fire and forget. */
  sendRaw(bytes: Buffer): void {
    this.sock.send(bytes, this.port, this.host);
  }

  request(body: BDict, opts: { cookie?: string; timeoutMs?: number; json?: boolean } = {}): Promise<BDict> {
    const cookie = opts.cookie ?? randomBytes(6).toString('hex');
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.pending.delete(cookie);
        reject(new Error(`ng ${String(body.command)}: timeout`));
      }, opts.timeoutMs ?? 3000);
      this.pending.set(cookie, (d) => {
        clearTimeout(t);
        resolve(d);
      });
      this.sock.send(formatNgMessage(cookie, body, opts.json), this.port, this.host);
    });
  }

  close(): void {
    this.sock.close();
  }
}

/** One request over a fresh TCP connection (tcp-ng framing: the same `cookie dict`, back to back). */
export function ngTcp(port: number, bodies: BDict[], host = '127.0.0.1'): Promise<BDict[]> {
  return new Promise((resolve, reject) => {
    const out: BDict[] = [];
    let buf = Buffer.alloc(0);
    const c = connect(port, host, () => {
      // All requests in one write: the server must split them itself.
      c.write(Buffer.concat(bodies.map((b, i) => formatNgMessage(`tcp${i}`, b))));
    });
    const t = setTimeout(() => {
      c.destroy();
      reject(new Error('ngTcp: timeout'));
    }, 3000);
    c.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const r = takeNgStreamMessage(buf);
        if (!r) break;
        buf = buf.subarray(r.consumed);
        out.push(r.message.body);
      }
      if (out.length === bodies.length) {
        clearTimeout(t);
        c.end();
        resolve(out);
      }
    });
    c.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}
