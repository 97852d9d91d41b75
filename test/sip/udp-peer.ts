/** A raw UDP SIP peer for tests that need byte-level control (retransmission timing, malformed input). */
import dgram from 'node:dgram';
import { type SipMessage, parseMessage } from '../../src/wire/sip/index.js';

export interface Received {
  at: number;
  raw: Buffer;
  msg?: SipMessage;
}

export class UdpPeer {
  readonly received: Received[] = [];
  /** Called for each datagram; return true to record it as "ignored" (still kept in `received`). */
  onMessage?: (r: Received) => void;
  private constructor(
    private readonly sock: dgram.Socket,
    readonly port: number,
  ) {}

  static async bind(port: number, host = '127.0.0.1'): Promise<UdpPeer> {
    const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(port, host, () => resolve());
    });
    const peer = new UdpPeer(sock, port);
    sock.on('message', (raw) => {
      let msg: SipMessage | undefined;
      try {
        msg = parseMessage(raw);
      } catch {}
      const r: Received = { at: Date.now(), raw, ...(msg ? { msg } : {}) };
      peer.received.push(r);
      peer.onMessage?.(r);
    });
    return peer;
  }

  send(data: string | Buffer, port: number, host = '127.0.0.1'): Promise<void> {
    return new Promise((resolve, reject) =>
      this.sock.send(data, port, host, (e) => (e ? reject(e) : resolve())),
    );
  }

  /** Waits (bounded) until `count` received messages match `pred`. */
  async waitFor(pred: (r: Received) => boolean, count = 1, timeoutMs = 5000): Promise<Received[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hits = this.received.filter(pred);
      if (hits.length >= count) return hits;
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${count} message(s); got ${hits.length}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  close(): void {
    this.sock.close();
  }
}

/** Is `r` a response with this status (and CSeq method)? */
export function isResponse(status: number, method?: string) {
  return (r: Received): boolean =>
    r.msg?.kind === 'response' &&
    r.msg.status === status &&
    (method === undefined || (r.msg.headers.find((h) => h.name === 'CSeq')?.value ?? '').endsWith(method));
}

/** Is `r` a request with this method? */
export function isRequest(method: string) {
  return (r: Received): boolean => r.msg?.kind === 'request' && r.msg.method === method;
}

/** CRLF-joined lines of a message. */
export function sipText(lines: string[], body = ''): string {
  return lines.join('\r\n') + '\r\n\r\n' + body;
}
