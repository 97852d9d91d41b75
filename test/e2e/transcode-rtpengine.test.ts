/**
 * Transcoding against Debian's rtpengine: PCMU <-> PCMA byte for byte (every code of each law goes through
 * both proxies, the converted payloads must be the same), and G.722 <-> PCMA both ways through each other
 * (each proxy's G.722 must decode to the tone in the other).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { g711Decode, g711Encode } from '../../src/media/g711.js';
import { Endpoint, rtp, sdpPorts } from '../helpers/endpoint.js';
import { assertTone, referenceTone } from '../helpers/tone.js';
import {
  MISSING_RTPENGINE,
  type MediaProxy,
  type ProxyKind,
  rtpengineInstalled,
  startMediaProxy,
} from '../helpers/rtpengine.js';

const skip = rtpengineInstalled() ? false : MISSING_RTPENGINE;
if (skip) console.log(skip);

const sdp = (port: number, fmts: string) =>
  `v=0\r\no=ep 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP ${fmts}\r\n` +
  'a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n';

/** Two 20 ms payloads that together hold every byte value; sent twice (a transcoder may hold one packet back). */
const PAYLOADS = [0, 96, 0, 96].map((start) => Buffer.from(Array.from({ length: 160 }, (_, i) => start + i)));

/** code -> converted code, as seen at the receiving end, for each direction. */
async function conversions(kind: ProxyKind): Promise<{ toAlaw: number[]; toUlaw: number[] }> {
  const call = { aFmts: '0 101', bFmts: '8 101', target: 'PCMA' };
  const map = async (fromB: boolean, [pt, want]: [number, number]) => {
    const out: number[] = [];
    for (const msg of await relayed(kind, call, { fromB, pt, payloads: PAYLOADS })) {
      assert.equal(msg[1]! & 0x7f, want);
      const sent = PAYLOADS[msg.readUInt16BE(2) - SEQ0]!;
      for (let i = 0; i < 160; i++) out[sent[i]!] = msg[12 + i]!;
    }
    assert.equal(out.filter((x) => x !== undefined).length, 256, `${kind}: every code came through`);
    return out;
  };
  return { toAlaw: await map(false, [0, 8]), toUlaw: await map(true, [8, 0]) };
}

test('PCMU <-> PCMA: every code converts as rtpengine converts it', { skip }, async () => {
  const ours = await conversions('sipmedia');
  const theirs = await conversions('rtpengine');
  assert.deepEqual(ours.toAlaw, theirs.toAlaw, 'PCMU -> PCMA');
  assert.deepEqual(ours.toUlaw, theirs.toUlaw, 'PCMA -> PCMU');
});

/** First sequence number of what `relayed` sends (packet i has SEQ0 + i). */
const SEQ0 = 700;

/**
 * Packets B receives when A (offering `aFmts` with `codec: { transcode: [target] }`, B answering `bFmts`)
 * sends `payloads` with payload type `pt` through proxy `kind`; or, with `fromB`, what A receives of B's.
 * The answer A gets must name A's codec.
 */
async function relayed(
  kind: ProxyKind,
  call: { aFmts: string; bFmts: string; target: string },
  send: { fromB: boolean; pt: number; payloads: Buffer[] },
): Promise<Buffer[]> {
  const p: MediaProxy = await startMediaProxy(kind);
  const a = await Endpoint.open(p.spare[0]!);
  const b = await Endpoint.open(p.spare[1]!);
  try {
    const offer = await p.ng.request({
      command: 'offer',
      'call-id': 'g722',
      'from-tag': 'A',
      sdp: sdp(p.spare[0]!, call.aFmts),
      codec: { transcode: [call.target] },
    });
    const answer = await p.ng.request({
      command: 'answer',
      'call-id': 'g722',
      'from-tag': 'A',
      'to-tag': 'B',
      sdp: sdp(p.spare[1]!, call.bFmts),
    });
    assert.equal(
      /^m=audio \d+ RTP\/AVP (\d+)/m.exec(String(answer.sdp))?.[1],
      call.aFmts.split(' ')[0],
      `${kind} answers A with its own codec`,
    );
    const [from, to, port] = send.fromB
      ? [b, a, sdpPorts(String(offer.sdp)).rtp]
      : [a, b, sdpPorts(String(answer.sdp)).rtp];
    const out: Buffer[] = [];
    // One at a time, each awaited (a transcoder may hold a packet back: then the next one brings it).
    for (const [i, pay] of send.payloads.entries()) {
      from.send(rtp(send.pt, SEQ0 + i, 160 * i, 0x7220, Buffer.from(pay)), port);
      try {
        out.push((await to.next(200)).msg);
      } catch {}
    }
    return out;
  } finally {
    a.close();
    b.close();
    await p.stop();
  }
}

/** 1 s of the reference tone in 20 ms PCMA payloads. */
const TONE = referenceTone(8000);
const tonePcma = Array.from({ length: 50 }, (_, k) =>
  Buffer.from(g711Encode('PCMA', TONE.subarray(160 * k, 160 * k + 160))),
);

test("G.722 <-> PCMA: rtpengine decodes the G.722 sipmedia encodes, and sipmedia decodes rtpengine's", {
  skip,
}, async () => {
  const g722call = { aFmts: '9 101', bFmts: '8 101', target: 'PCMA' };
  // B's PCMA tone reaches A as G.722, encoded by each proxy in turn ...
  const ourG722 = await relayed('sipmedia', g722call, { fromB: true, pt: 8, payloads: tonePcma });
  const theirG722 = await relayed('rtpengine', g722call, { fromB: true, pt: 8, payloads: tonePcma });
  assert.ok(
    ourG722.length >= 45 && theirG722.length >= 45,
    `${ourG722.length} and ${theirG722.length} packets`,
  );
  // ... and each proxy's G.722 goes back through the other one, to B as PCMA.
  const payloads = (ps: Buffer[]) => ps.map((m) => m.subarray(12));
  const viaThem = await relayed('rtpengine', g722call, { fromB: false, pt: 9, payloads: payloads(ourG722) });
  const viaUs = await relayed('sipmedia', g722call, { fromB: false, pt: 9, payloads: payloads(theirG722) });
  const pcm = (ps: Buffer[]) => g711Decode('PCMA', Buffer.concat(payloads(ps)));
  assertTone(pcm(viaThem), TONE, "sipmedia's G.722 decoded by rtpengine");
  assertTone(pcm(viaUs), TONE, "rtpengine's G.722 decoded by sipmedia");
});
