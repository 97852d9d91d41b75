/** Shared pieces of the media black-box tests: calls with a chosen codec, fixtures, packet collection. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wavHeader } from '../../src/media/wav-writer.js';
import type { BDict } from '../../src/wire/bencode.js';
import { Endpoint, sdpPorts } from '../helpers/endpoint.js';
import type { RunningProxy } from '../helpers/proxy.js';

export interface MediaCall {
  callId: string;
  a: Endpoint;
  b: Endpoint;
  /** Proxy port A sends to, and B sends to. */
  toProxyFromA: number;
  toProxyFromB: number;
  /** The proxy's replies (the SDP each party got). */
  offer: BDict;
  answer: BDict;
  close: () => void;
}

let n = 0;

/** SDP with one audio section: `formats` on the m= line and the given rtpmap lines. */
export function sdpWith(port: number, formats: string, rtpmaps: string[]): string {
  return (
    `v=0\r\no=ep 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n` +
    `m=audio ${port} RTP/AVP ${formats}\r\n${rtpmaps.map((r) => `a=rtpmap:${r}\r\n`).join('')}a=sendrecv\r\n`
  );
}

export const PCMU = { formats: '0 101', rtpmaps: ['0 PCMU/8000', '101 telephone-event/8000'] };
export const PCMA = { formats: '8 101', rtpmaps: ['8 PCMA/8000', '101 telephone-event/8000'] };

/** Offer from tagA and answer from tagB with the given codec description (on both sides unless `answerCodec`). */
export async function mediaCall(
  p: RunningProxy,
  codec: { formats: string; rtpmaps: string[] } = PCMU,
  offerExtra: BDict = {},
  slot?: number,
  answerCodec = codec,
): Promise<MediaCall> {
  const k = n++;
  const base = p.spare[slot ?? (k * 2) % 60]!;
  const a = await Endpoint.open(base);
  const b = await Endpoint.open(base + 1);
  const callId = `media-${process.pid}-${k}`;
  const offer = await p.ng.request({
    command: 'offer',
    'call-id': callId,
    'from-tag': 'tagA',
    sdp: sdpWith(base, codec.formats, codec.rtpmaps),
    ...offerExtra,
  });
  if (offer.result !== 'ok') throw new Error(`offer: ${JSON.stringify(offer)}`);
  const answer = await p.ng.request({
    command: 'answer',
    'call-id': callId,
    'from-tag': 'tagA',
    'to-tag': 'tagB',
    sdp: sdpWith(base + 1, answerCodec.formats, answerCodec.rtpmaps),
  });
  if (answer.result !== 'ok') throw new Error(`answer: ${JSON.stringify(answer)}`);
  return {
    callId,
    a,
    b,
    toProxyFromB: sdpPorts(String(offer.sdp)).rtp,
    toProxyFromA: sdpPorts(String(answer.sdp)).rtp,
    offer,
    answer,
    close: () => {
      a.close();
      b.close();
    },
  };
}

/** Collect `count` packets (bounded by `timeoutMs` per packet). */
export async function collect(e: Endpoint, count: number, timeoutMs = 1500): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) out.push((await e.next(timeoutMs)).msg);
  return out;
}

/** Collect until no packet arrives for `quietMs` (bounded by `max` packets). */
export async function collectUntilQuiet(e: Endpoint, quietMs: number, max = 2000): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let i = 0; i < max; i++) {
    try {
      out.push((await e.next(quietMs)).msg);
    } catch {
      break;
    }
  }
  return out;
}

/** A 16-bit PCM WAV of a sine, any rate and channel count. */
export function toneWav(freq: number, rate: number, channels: number, seconds: number, amp = 0.5): Buffer {
  const frames = Math.round(rate * seconds);
  const data = Buffer.alloc(frames * channels * 2);
  for (let i = 0; i < frames; i++) {
    const v = Math.round(amp * 32767 * Math.sin((2 * Math.PI * freq * i) / rate));
    for (let c = 0; c < channels; c++) data.writeInt16LE(v, (i * channels + c) * 2);
  }
  return Buffer.concat([wavHeader(rate, channels, data.length), data]);
}

export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeFixture(dir: string, name: string, bytes: Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}
