/**
 * Test tools for the media server: a raw SIP peer on a UDP socket (hand-written requests, so tests can
 * drop, repeat or corrupt messages), an RTP sink that records what arrives, tone WAV files, and G.711
 * decoding of captured packets.
 */
import { createSocket, type Socket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { g711Decode } from '../../../src/media/g711.js';
import { wavHeader } from '../../../src/media/wav-writer.js';
import { parseRtp, type RtpPacket } from '../../../src/wire/rtp.js';

export interface Received {
  text: string;
  at: number;
}

/** A UDP socket speaking hand-written SIP. */
export class RawSipPeer {
  readonly received: Received[] = [];
  private waiters: Array<() => void> = [];
  private constructor(
    readonly socket: Socket,
    readonly port: number,
  ) {
    socket.on('message', (m) => {
      this.received.push({ text: m.toString('latin1'), at: performance.now() });
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async open(port: number): Promise<RawSipPeer> {
    const s = createSocket('udp4');
    await new Promise<void>((res, rej) => {
      s.once('error', rej);
      s.bind(port, '127.0.0.1', () => res());
    });
    return new RawSipPeer(s, port);
  }

  send(text: string, port: number): void {
    this.socket.send(Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'latin1'), port, '127.0.0.1');
  }

  /** Waits for a message matching `pred` received at or after index `from`; returns its index. */
  async waitFor(pred: (text: string) => boolean, timeoutMs = 3000, from = 0): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const i = this.received.findIndex((r, k) => k >= from && pred(r.text));
      if (i >= 0) return i;
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new Error(
          `timeout; received:\n${this.received.map((r) => r.text.split('\r\n')[0]).join('\n')}`,
        );
      }
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  close(): void {
    this.socket.close();
  }
}

/** First line, e.g. `SIP/2.0 200 OK` or `BYE sip:... SIP/2.0`. */
export function startLine(text: string): string {
  return text.slice(0, text.indexOf('\r\n'));
}

export function header(text: string, name: string): string | undefined {
  const re = new RegExp(`^${name}:\\s*(.*)$`, 'im');
  return re.exec(text)?.[1]?.trim();
}

export function bodyOf(text: string): string {
  const i = text.indexOf('\r\n\r\n');
  return i < 0 ? '' : text.slice(i + 4);
}

export interface InviteParams {
  callId: string;
  localPort: number;
  serverPort: number;
  rtpPort: number;
  branch?: string;
  cseq?: number;
  codecs?: string;
  ptime?: number;
}

export function offerSdp(rtpPort: number, formats = '0 8 101', ptime?: number): string {
  return [
    'v=0',
    'o=test 1 1 IN IP4 127.0.0.1',
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio ${rtpPort} RTP/AVP ${formats}`,
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=fmtp:101 0-15',
    ...(ptime ? [`a=ptime:${ptime}`] : []),
    'a=sendrecv',
    '',
  ].join('\r\n');
}

export function invite(p: InviteParams): string {
  const body = offerSdp(p.rtpPort, p.codecs, p.ptime);
  return [
    `INVITE sip:play@127.0.0.1:${p.serverPort} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${p.localPort};branch=${p.branch ?? `z9hG4bK-${p.callId}`};rport`,
    'Max-Forwards: 70',
    `From: <sip:test@127.0.0.1:${p.localPort}>;tag=from-${p.callId}`,
    `To: <sip:play@127.0.0.1:${p.serverPort}>`,
    `Call-ID: ${p.callId}`,
    `CSeq: ${p.cseq ?? 1} INVITE`,
    `Contact: <sip:test@127.0.0.1:${p.localPort}>`,
    'Content-Type: application/sdp',
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

/** An in-dialog request (ACK/BYE) for the dialog a 2xx established. */
export function inDialog(method: string, ok: string, p: InviteParams, cseq: number, branch: string): string {
  return [
    `${method} ${/<([^>]+)>/.exec(header(ok, 'Contact') ?? '')?.[1] ?? `sip:127.0.0.1:${p.serverPort}`} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${p.localPort};branch=${branch};rport`,
    'Max-Forwards: 70',
    `From: <sip:test@127.0.0.1:${p.localPort}>;tag=from-${p.callId}`,
    `To: ${header(ok, 'To')}`,
    `Call-ID: ${p.callId}`,
    `CSeq: ${cseq} ${method}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** A response to a request the server sent (e.g. 200 to its BYE). */
export function respondTo(req: string, status = 200, reason = 'OK'): string {
  const vias = req
    .split('\r\n')
    .filter((l) => /^(Via|v):/i.test(l))
    .join('\r\n');
  return [
    `SIP/2.0 ${status} ${reason}`,
    vias,
    `From: ${header(req, 'From')}`,
    `To: ${header(req, 'To')}`,
    `Call-ID: ${header(req, 'Call-ID')}`,
    `CSeq: ${header(req, 'CSeq')}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

export interface CapturedRtp {
  packet: RtpPacket;
  at: number;
}

/** A UDP socket standing for the caller's media: records every RTP packet with its arrival time. */
export class RtpSink {
  readonly packets: CapturedRtp[] = [];
  private constructor(
    readonly socket: Socket,
    readonly port: number,
  ) {
    socket.on('message', (m) => {
      try {
        this.packets.push({ packet: parseRtp(Buffer.from(m)), at: performance.now() });
      } catch {
        // not RTP
      }
    });
  }

  static async open(port: number): Promise<RtpSink> {
    // 100 streams at 50 pps: the default 208 KiB buffer holds ~40 ms, less than a busy test process may stall.
    const s = createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
    await new Promise<void>((res, rej) => {
      s.once('error', rej);
      s.bind(port, '127.0.0.1', () => res());
    });
    return new RtpSink(s, port);
  }

  /** Polls (bounded) until `n` packets arrived. */
  async waitForCount(n: number, timeoutMs = 5000): Promise<void> {
    for (let i = 0; i < timeoutMs / 10 && this.packets.length < n; i++)
      await new Promise((r) => setTimeout(r, 10));
  }

  send(buf: Buffer, port: number): void {
    this.socket.send(buf, port, '127.0.0.1');
  }

  close(): void {
    this.socket.close();
  }
}

/** Decodes the G.711 payloads of captured packets (in sequence order) to 16-bit samples. */
export function decodePackets(packets: readonly RtpPacket[], codec: 'PCMU' | 'PCMA' = 'PCMU'): Int16Array {
  const parts = packets.map((p) => g711Decode(codec, p.payload));
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Writes a 16-bit PCM WAV: a `freq` Hz sine in every channel. */
export function writeToneWavFile(
  path: string,
  freq: number,
  rate: number,
  channels: number,
  ms: number,
): void {
  const frames = Math.round((rate * ms) / 1000);
  const data = Buffer.alloc(frames * channels * 2);
  for (let i = 0; i < frames; i++) {
    const s = Math.round(12000 * Math.sin((2 * Math.PI * freq * i) / rate));
    for (let c = 0; c < channels; c++) data.writeInt16LE(s, (i * channels + c) * 2);
  }
  writeFileSync(path, Buffer.concat([wavHeader(rate, channels, data.length), data]));
}
