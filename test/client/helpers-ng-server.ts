/**
 * A small ng server for client tests: records every request, can drop the first datagrams, keeps a cookie
 * cache like rtpengine (a retransmission gets the cached reply and is not executed again), and counts
 * executions per cookie.
 */
import { createSocket } from 'node:dgram';
import { createServer, type Socket as TcpSocket } from 'node:net';
import type { BDict } from '../../src/wire/bencode.js';
import { formatNgMessage, parseNgMessage, takeNgStreamMessage } from '../../src/wire/ng-message.js';

export interface RecordedRequest {
  cookie: string;
  body: BDict;
}

export interface TestNgServerOptions {
  transport?: 'udp' | 'tcp';
  /** Drop this many datagrams (or TCP messages) before answering anything. */
  dropFirst?: number;
  /** The reply body; `null` sends nothing. Default: ping -> pong, everything else -> ok. */
  respond?: (body: BDict, cookie: string) => BDict | null;
  /** Close the TCP connection after receiving this many messages (once). */
  closeAfter?: number;
}

export interface TestNgServer {
  port: number;
  /** Every message received (including dropped and retransmitted ones). */
  received: RecordedRequest[];
  /** Requests executed (once per cookie). */
  executed: RecordedRequest[];
  executions: Map<string, number>;
  /** Resolves when `n` messages have been received (bounded wait). */
  waitReceived(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export function defaultRespond(body: BDict): BDict {
  return body.command === 'ping' ? { result: 'pong' } : { result: 'ok' };
}

export async function startTestNgServer(port: number, opts: TestNgServerOptions = {}): Promise<TestNgServer> {
  const respond = opts.respond ?? defaultRespond;
  const received: RecordedRequest[] = [];
  const executed: RecordedRequest[] = [];
  const executions = new Map<string, number>();
  const cache = new Map<string, BDict | null>();
  let dropped = 0;
  const waiters: { n: number; resolve: () => void }[] = [];

  const handle = (msg: { cookie: string; body: BDict }): Buffer | null => {
    received.push(msg);
    for (const w of waiters.filter((w) => received.length >= w.n)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
    if (dropped < (opts.dropFirst ?? 0)) {
      dropped++;
      return null;
    }
    let reply = cache.get(msg.cookie);
    if (reply === undefined) {
      executed.push(msg);
      executions.set(msg.cookie, (executions.get(msg.cookie) ?? 0) + 1);
      reply = respond(msg.body, msg.cookie);
      cache.set(msg.cookie, reply);
    }
    return reply ? formatNgMessage(msg.cookie, reply) : null;
  };

  const waitReceived = (n: number, timeoutMs = 3000) =>
    new Promise<void>((resolve, reject) => {
      if (received.length >= n) return resolve();
      const t = setTimeout(() => reject(new Error(`only ${received.length} of ${n} received`)), timeoutMs);
      waiters.push({
        n,
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
      });
    });

  if ((opts.transport ?? 'udp') === 'udp') {
    const sock = createSocket('udp4');
    sock.on('message', (m, rinfo) => {
      let parsed: { cookie: string; body: BDict };
      try {
        parsed = parseNgMessage(m);
      } catch {
        return;
      }
      const out = handle(parsed);
      if (out) sock.send(out, rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve) => sock.bind(port, '127.0.0.1', resolve));
    return {
      port,
      received,
      executed,
      executions,
      waitReceived,
      close: () => new Promise<void>((resolve) => sock.close(() => resolve())),
    };
  }

  const conns = new Set<TcpSocket>();
  let closedOnce = false;
  const server = createServer((c) => {
    conns.add(c);
    c.on('close', () => conns.delete(c));
    c.on('error', () => {});
    let buf: Buffer = Buffer.alloc(0);
    c.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const r = takeNgStreamMessage(buf);
        if (!r) break;
        buf = buf.subarray(r.consumed);
        const out = handle(r.message);
        if (!closedOnce && opts.closeAfter !== undefined && received.length >= opts.closeAfter) {
          closedOnce = true;
          c.destroy();
          return;
        }
        if (out) c.write(out);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port,
    received,
    executed,
    executions,
    waitReceived,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of conns) c.destroy();
        server.close(() => resolve());
      }),
  };
}
