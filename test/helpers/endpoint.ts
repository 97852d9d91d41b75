/**
 * A media endpoint for black-box tests: a UDP socket on loopback that sends RTP/RTCP and awaits packets.
 * Absence of a packet is proven without sleeping: send the packet that must be dropped, then one that must
 * pass along the same path; the first packet received must be the second one.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

export interface Received {
  msg: Buffer;
  from: RemoteInfo;
}

export function rtp(
  pt: number,
  seq: number,
  ts: number,
  ssrc: number,
  payload = Buffer.alloc(160, 0xd5),
  marker = false,
): Buffer {
  const h = Buffer.alloc(12);
  h[0] = 0x80;
  h[1] = (marker ? 0x80 : 0) | pt;
  h.writeUInt16BE(seq & 0xffff, 2);
  h.writeUInt32BE(ts >>> 0, 4);
  h.writeUInt32BE(ssrc >>> 0, 8);
  return Buffer.concat([h, payload]);
}

/** A minimal RTCP receiver report (PT 201) with the given SSRC. */
export function rtcpRR(ssrc: number): Buffer {
  const b = Buffer.alloc(8);
  b[0] = 0x80;
  b[1] = 201;
  b.writeUInt16BE(1, 2);
  b.writeUInt32BE(ssrc, 4);
  return b;
}

export class Endpoint {
  private queue: Received[] = [];
  private waiters: ((r: Received) => void)[] = [];
  readonly sock: Socket;

  private constructor(
    readonly address: string,
    readonly port: number,
  ) {
    this.sock = createSocket(address.includes(':') ? 'udp6' : 'udp4');
    this.sock.on('message', (msg, from) => {
      const w = this.waiters.shift();
      if (w) w({ msg, from });
      else this.queue.push({ msg, from });
    });
  }

  static async open(port: number, address = '127.0.0.1'): Promise<Endpoint> {
    const e = new Endpoint(address, port);
    await new Promise<void>((resolve, reject) => {
      e.sock.once('error', reject);
      e.sock.bind(port, address, () => resolve());
    });
    return e;
  }

  send(msg: Buffer, port: number, address = this.address): void {
    this.sock.send(msg, port, address);
  }

  next(timeoutMs = 2000): Promise<Received> {
    const q = this.queue.shift();
    if (q) return Promise.resolve(q);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        reject(new Error(`endpoint ${this.address}:${this.port}: no packet within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (r: Received) => {
        clearTimeout(t);
        resolve(r);
      };
      this.waiters.push(done);
    });
  }

  pending(): number {
    return this.queue.length;
  }

  close(): void {
    this.sock.close();
  }
}

/** Ports of the first m= line and its a=rtcp in an SDP. */
export function sdpPorts(sdp: string): { rtp: number; rtcp: number | undefined; address: string } {
  const m = /^m=\S+ (\d+)/m.exec(sdp);
  const r = /^a=rtcp:(\d+)/m.exec(sdp);
  const c = [...sdp.matchAll(/^c=IN IP[46] (\S+)/gm)].at(-1);
  if (!m || !c) throw new Error(`no m= or c= in SDP:\n${sdp}`);
  return { rtp: Number(m[1]), rtcp: r ? Number(r[1]) : undefined, address: c[1]! };
}

export function audioSdp(address: string, port: number, extra = '', origin = 'ep'): string {
  const ip = address.includes(':') ? 'IP6' : 'IP4';
  return (
    `v=0\r\no=${origin} 1 1 IN ${ip} ${address}\r\ns=-\r\nc=IN ${ip} ${address}\r\nt=0 0\r\n` +
    `m=audio ${port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n${extra}a=sendrecv\r\n`
  );
}
