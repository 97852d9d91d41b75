/**
 * PCMU <-> PCMA transcoding compared byte for byte with Debian's rtpengine: every code of each law goes
 * through both proxies, and the converted payloads must be the same.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Endpoint, rtp, sdpPorts } from '../helpers/endpoint.js';
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
  const p: MediaProxy = await startMediaProxy(kind);
  const a = await Endpoint.open(p.spare[0]!);
  const b = await Endpoint.open(p.spare[1]!);
  try {
    const offer = await p.ng.request({
      command: 'offer',
      'call-id': 'tc',
      'from-tag': 'A',
      sdp: sdp(p.spare[0]!, '0 101'),
      codec: { transcode: ['PCMA'] },
    });
    const answer = await p.ng.request({
      command: 'answer',
      'call-id': 'tc',
      'from-tag': 'A',
      'to-tag': 'B',
      sdp: sdp(p.spare[1]!, '8 101'),
    });
    assert.match(String(answer.sdp), /^m=audio \d+ RTP\/AVP 0 101\r$/m, `${kind} answers A with PCMU`);
    const toA = sdpPorts(String(answer.sdp)).rtp;
    const toB = sdpPorts(String(offer.sdp)).rtp;
    const collect = async (from: Endpoint, port: number, at: Endpoint, [pt, want]: [number, number]) => {
      const map: number[] = [];
      for (const [i, pay] of PAYLOADS.entries()) from.send(rtp(pt, 500 + i, 160 * i, 0x5150, pay), port);
      for (let got = 0; got < PAYLOADS.length; got++) {
        let msg: Buffer;
        try {
          msg = (await at.next(1000)).msg;
        } catch {
          break; // held back: the others cover every code
        }
        assert.equal(msg[1]! & 0x7f, want);
        const sent = PAYLOADS[msg.readUInt16BE(2) - 500]!;
        for (let i = 0; i < 160; i++) map[sent[i]!] = msg[12 + i]!;
      }
      assert.equal(map.filter((x) => x !== undefined).length, 256, `${kind}: every code came through`);
      return map;
    };
    const toAlaw = await collect(a, toA, b, [0, 8]);
    const toUlaw = await collect(b, toB, a, [8, 0]);
    return { toAlaw, toUlaw };
  } finally {
    a.close();
    b.close();
    await p.stop();
  }
}

test('PCMU <-> PCMA: every code converts as rtpengine converts it', { skip }, async () => {
  const ours = await conversions('sipmedia');
  const theirs = await conversions('rtpengine');
  assert.deepEqual(ours.toAlaw, theirs.toAlaw, 'PCMU -> PCMA');
  assert.deepEqual(ours.toUlaw, theirs.toUlaw, 'PCMA -> PCMU');
});
