/**
 * The media server against a hand-written SIP peer on loopback: answer/play/hang up with the audio
 * checked, caller BYE mid-prompt, 481/487, a lost 200 OK, malformed requests, the call limit, DTMF, 488.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type MediaCall, type MediaServer, startMediaServer } from '../../../src/apps/media-server/index.js';
import { G722Decoder } from '../../../src/media/g722.js';
import { toneDominance } from '../../../src/media/goertzel.js';
import { serializeRtp } from '../../../src/wire/rtp.js';
import { serializeRtpEvent } from '../../../src/wire/rtp-event.js';
import { reservePortBlock } from '../../helpers/ports.js';
import {
  bodyOf,
  decodePackets,
  header,
  inDialog,
  invite,
  RawSipPeer,
  RtpSink,
  respondTo,
  startLine,
  writeToneWavFile,
} from './harness.js';

const base = reservePortBlock();
const SIP = base;
const PEER = base + 1;
const RTP_MIN = base + 100;
const RTP_MAX = base + 199;
let sinkPort = base + 10;

const dir = mkdtempSync(join(tmpdir(), 'ms-test-'));
const TONE = join(dir, 'tone-16k-stereo.wav');
writeToneWavFile(TONE, 1000, 16000, 2, 600);
const LONG = join(dir, 'long.wav');
writeToneWavFile(LONG, 500, 8000, 1, 3000);

let server: MediaServer;
let peer: RawSipPeer;
let handler: (call: MediaCall) => Promise<void> = async () => {};
let n = 0;

before(async () => {
  server = await startMediaServer({
    listen: `127.0.0.1:${SIP}`,
    rtpIp: '127.0.0.1',
    rtpPortMin: RTP_MIN,
    rtpPortMax: RTP_MAX,
    mediaDir: dir,
    maxCalls: 3,
    t1: 20,
    t4: 100,
  });
  server.on('call', (c) => handler(c));
  peer = await RawSipPeer.open(PEER);
});

after(async () => {
  await server.close(200);
  peer.close();
  rmSync(dir, { recursive: true, force: true });
});

function params(rtpPort: number) {
  n++;
  return { callId: `call-${n}-${Date.now()}`, localPort: PEER, serverPort: SIP, rtpPort };
}

const isStatus =
  (callId: string, code: number, method = 'INVITE') =>
  (t: string) =>
    startLine(t).startsWith(`SIP/2.0 ${code} `) &&
    header(t, 'Call-ID') === callId &&
    header(t, 'CSeq')?.endsWith(method) === true;
const isRequest = (callId: string, method: string) => (t: string) =>
  startLine(t).startsWith(`${method} `) && header(t, 'Call-ID') === callId;

/** Bounded poll until the server holds no call, socket or media/call timer (SIP timers end on their own). */
async function settled(): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const s = server.stats();
    if (s.calls === 0 && s.sockets === 0 && s.timers === 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`resources still held: ${JSON.stringify(server.stats())}`);
}

/** The handler of the prompt tests: answer, play the 600 ms tone, hang up. */
async function answerPlayHangUp(call: MediaCall): Promise<void> {
  await call.answer();
  await call.play('tone-16k-stereo.wav');
  await call.hangup();
}

describe('media server over raw SIP', { concurrency: false }, () => {
  test('answers with PCMU, plays a 16 kHz stereo file as an 8 kHz mono tone, then sends BYE', async () => {
    const sink = await RtpSink.open(sinkPort++);
    try {
      handler = answerPlayHangUp;
      const p = params(sink.port);
      peer.send(invite(p), SIP);
      const okAt = await peer.waitFor(isStatus(p.callId, 200));
      const ok = peer.received[okAt]!.text;
      const sdp = bodyOf(ok);
      assert.match(sdp, /^m=audio \d+ RTP\/AVP 0 101\r$/m);
      assert.match(sdp, /^a=rtpmap:0 PCMU\/8000\r$/m);
      assert.match(sdp, /^a=ptime:20\r$/m);
      assert.match(sdp, /^a=sendrecv\r$/m);
      peer.send(inDialog('ACK', ok, p, 1, `z9hG4bK-ack-${p.callId}`), SIP);
      const byeAt = await peer.waitFor(isRequest(p.callId, 'BYE'), 5000);
      const bye = peer.received[byeAt]!;
      peer.send(respondTo(bye.text), SIP);

      const pkts = sink.packets.map((c) => c.packet);
      // 600 ms at 20 ms per packet.
      assert.equal(pkts.length, 30);
      for (let i = 1; i < pkts.length; i++) {
        assert.equal(pkts[i]!.header.sequenceNumber, (pkts[i - 1]!.header.sequenceNumber + 1) & 0xffff);
        assert.equal(pkts[i]!.header.timestamp, (pkts[i - 1]!.header.timestamp + 160) >>> 0);
        assert.equal(pkts[i]!.header.payloadType, 0);
        assert.equal(pkts[i]!.payload.length, 160);
      }
      assert.equal(pkts[0]!.header.marker, true);
      const span = sink.packets.at(-1)!.at - sink.packets[0]!.at;
      assert.ok(span > 500 && span < 800, `30 packets spread over ${span} ms`);
      assert.ok(bye.at - sink.packets[0]!.at >= 580, 'BYE only after the prompt played out');
      const audio = decodePackets(pkts.slice(2, -2));
      assert.ok(toneDominance(audio, 1000, [500, 2000, 3000], 8000) > 100, 'decoded audio is the 1 kHz tone');
      await settled();
    } finally {
      sink.close();
    }
  });

  test('a G.722-only caller: answered with G.722, the prompt arrives as G.722 frames of the tone', async () => {
    const sink = await RtpSink.open(sinkPort++);
    try {
      handler = answerPlayHangUp;
      const p = { ...params(sink.port), codecs: '9 101' };
      peer.send(invite(p), SIP);
      const okAt = await peer.waitFor(isStatus(p.callId, 200));
      const ok = peer.received[okAt]!.text;
      assert.match(bodyOf(ok), /^m=audio \d+ RTP\/AVP 9 101\r$/m);
      assert.match(bodyOf(ok), /^a=rtpmap:9 G722\/8000\r$/m);
      peer.send(inDialog('ACK', ok, p, 1, `z9hG4bK-ack-${p.callId}`), SIP);
      const byeAt = await peer.waitFor(isRequest(p.callId, 'BYE'), 5000);
      peer.send(respondTo(peer.received[byeAt]!.text), SIP);
      const pkts = sink.packets.map((c) => c.packet);
      assert.equal(pkts.length, 30);
      for (const k of pkts) assert.equal(k.header.payloadType, 9);
      const audio = new G722Decoder().decode(Buffer.concat(pkts.map((k) => k.payload)));
      assert.ok(
        toneDominance(audio.subarray(640, -320), 1000, [500, 2000, 3000], 8000) > 100,
        'the 1 kHz tone',
      );
      await settled();
    } finally {
      sink.close();
    }
  });

  test('caller BYE mid-prompt: 200 OK, no RTP after it, nothing leaked', async () => {
    const sink = await RtpSink.open(sinkPort++);
    try {
      let hungUp = 0;
      let result: unknown;
      handler = async (call) => {
        call.on('hangup', (how) => {
          if (how === 'bye') hungUp = performance.now();
        });
        await call.answer();
        result = await call.play('long.wav');
      };
      const p = params(sink.port);
      peer.send(invite(p), SIP);
      const ok = peer.received[await peer.waitFor(isStatus(p.callId, 200))]!.text;
      peer.send(inDialog('ACK', ok, p, 1, `z9hG4bK-ack-${p.callId}`), SIP);
      await sink.waitForCount(10);
      peer.send(inDialog('BYE', ok, p, 2, `z9hG4bK-bye-${p.callId}`), SIP);
      await peer.waitFor(isStatus(p.callId, 200, 'BYE'));
      assert.ok(hungUp > 0);
      await new Promise((r) => setTimeout(r, 100));
      const late = sink.packets.filter((c) => c.at > hungUp + 5);
      assert.equal(late.length, 0, 'RTP after the caller hung up');
      assert.deepEqual(result, { reason: 'stopped', playedMs: (sink.packets.length - 0) * 20 });
      await settled();
    } finally {
      sink.close();
    }
  });

  test('BYE for an unknown dialog gets 481', async () => {
    const p = params(9);
    const fakeOk = `SIP/2.0 200 OK\r\nTo: <sip:play@127.0.0.1:${SIP}>;tag=nope\r\nContact: <sip:media@127.0.0.1:${SIP}>\r\n\r\n`;
    peer.send(inDialog('BYE', fakeOk, p, 2, `z9hG4bK-bye-${p.callId}`), SIP);
    await peer.waitFor(isStatus(p.callId, 481, 'BYE'));
  });

  test('CANCEL before the answer: 200 to CANCEL, 487 to INVITE, ACK completes it; the call is freed', async () => {
    let seen: string | undefined;
    handler = async (call) => {
      call.on('hangup', (how) => {
        seen = how;
      });
      // never answers
    };
    const p = params(9);
    peer.send(invite(p), SIP);
    await peer.waitFor(isStatus(p.callId, 100));
    const cancel = invite(p)
      .replace(/^INVITE /, 'CANCEL ')
      .replace('CSeq: 1 INVITE', 'CSeq: 1 CANCEL')
      .replace(/Content-Type[\s\S]*$/, 'Content-Length: 0\r\n\r\n');
    peer.send(cancel, SIP);
    await peer.waitFor(isStatus(p.callId, 200, 'CANCEL'));
    const i487 = await peer.waitFor(isStatus(p.callId, 487));
    const r = peer.received[i487]!.text;
    const ack = inDialog('ACK', r, p, 1, `z9hG4bK-${p.callId}`).replace(
      /^ACK \S+/,
      `ACK sip:play@127.0.0.1:${SIP}`,
    );
    peer.send(ack, SIP);
    assert.equal(seen, 'cancel');
    await settled();
    // The INVITE transaction ended: no more 487 retransmissions after the ACK.
    for (let i = 0; i < 300 && server.stats().sip.serverTransactions > 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    assert.equal(server.stats().sip.serverTransactions, 0);
  });

  test('a lost 200 OK is retransmitted until the ACK; the call then proceeds', async () => {
    const sink = await RtpSink.open(sinkPort++);
    try {
      handler = async (call) => {
        if (!(await call.answer())) return;
        await call.play({ samples: new Int16Array(1600) });
        await call.hangup();
      };
      const p = params(sink.port);
      peer.send(invite(p), SIP);
      const first = await peer.waitFor(isStatus(p.callId, 200));
      // Pretend the first 200 was lost: no ACK; wait for the transaction layer's retransmission.
      const second = await peer.waitFor(isStatus(p.callId, 200), 2000, first + 1);
      assert.equal(sink.packets.length, 0, 'no media before the ACK');
      const ok = peer.received[second]!.text;
      peer.send(inDialog('ACK', ok, p, 1, `z9hG4bK-ack-${p.callId}`), SIP);
      const bye = await peer.waitFor(isRequest(p.callId, 'BYE'), 3000);
      peer.send(respondTo(peer.received[bye]!.text), SIP);
      assert.equal(sink.packets.length, 10);
      await settled();
    } finally {
      sink.close();
    }
  });

  test('malformed requests get 400 or are dropped, and the next call works', async () => {
    const p = params(9);
    peer.send('garbage\r\n\r\n', SIP);
    const noCallId = invite(p).replace(/^Call-ID:.*\r\n/m, '');
    peer.send(noCallId, SIP);
    const badLen = invite({ ...p, callId: `${p.callId}-len` }).replace(
      /Content-Length: \d+/,
      'Content-Length: 99999',
    );
    peer.send(badLen, SIP);
    const badSdp = invite({ ...p, callId: `${p.callId}-sdp` }).replace('v=0', 'x');
    peer.send(badSdp, SIP);
    // Missing Call-ID has a usable Via: 400. The SDP is garbage: 400 too.
    await peer.waitFor((t) => startLine(t).startsWith('SIP/2.0 400') && !header(t, 'Call-ID'));
    await peer.waitFor(isStatus(`${p.callId}-sdp`, 400));
    assert.ok(server.stats().sip.transport.dropped + server.stats().sip.transport.rejected >= 2);
    // Then a good call.
    handler = async (call) => {
      await call.answer();
      await call.hangup();
    };
    const good = params(9);
    peer.send(invite(good), SIP);
    const ok = peer.received[await peer.waitFor(isStatus(good.callId, 200))]!.text;
    peer.send(inDialog('ACK', ok, good, 1, `z9hG4bK-ack-${good.callId}`), SIP);
    const bye = await peer.waitFor(isRequest(good.callId, 'BYE'));
    peer.send(respondTo(peer.received[bye]!.text), SIP);
    await settled();
  });

  test('offers without PCMU/PCMA get 488', async () => {
    const p = { ...params(9), codecs: '18' };
    peer.send(invite(p), SIP);
    await peer.waitFor(isStatus(p.callId, 488));
    await settled();
  });

  test('beyond maxCalls: 503', async () => {
    const held: MediaCall[] = [];
    handler = async (call) => {
      held.push(call);
    };
    const ids = [params(9), params(9), params(9), params(9)];
    for (const p of ids) peer.send(invite(p), SIP);
    await peer.waitFor(isStatus(ids[3]!.callId, 503));
    assert.equal(held.length, 3);
    assert.equal(server.stats().rejectedAtLimit >= 1, true);
    for (const c of held) c.reject(486);
    await settled();
  });

  test('RFC 4733 digits from the caller raise dtmf events', async () => {
    const sink = await RtpSink.open(sinkPort++);
    try {
      const digits: string[] = [];
      let done!: () => void;
      const got = new Promise<void>((r) => {
        done = r;
      });
      handler = async (call) => {
        call.on('dtmf', (d) => {
          digits.push(d.digit ?? '?');
          if (digits.length === 2) done();
        });
        await call.answer();
      };
      const p = params(sink.port);
      peer.send(invite(p), SIP);
      const ok = peer.received[await peer.waitFor(isStatus(p.callId, 200))]!.text;
      peer.send(inDialog('ACK', ok, p, 1, `z9hG4bK-ack-${p.callId}`), SIP);
      const rtpPort = Number(/^m=audio (\d+)/m.exec(bodyOf(ok))?.[1]);
      let seq = 1;
      for (const [ev, ts] of [
        [5, 1000],
        [11, 3000],
      ] as const) {
        for (let k = 1; k <= 4; k++) {
          const end = k === 4;
          const payload = serializeRtpEvent({ event: ev, end, volume: 10, duration: k * 160 });
          const h = {
            version: 2,
            padding: false,
            marker: k === 1,
            payloadType: 101,
            sequenceNumber: seq++,
            timestamp: ts,
            ssrc: 42,
            csrcs: [],
          };
          sink.send(serializeRtp(h, payload), rtpPort);
          if (end) sink.send(serializeRtp({ ...h, sequenceNumber: seq++ }, payload), rtpPort);
        }
      }
      await got;
      assert.deepEqual(digits, ['5', '#']);
      peer.send(inDialog('BYE', ok, p, 2, `z9hG4bK-bye-${p.callId}`), SIP);
      await peer.waitFor(isStatus(p.callId, 200, 'BYE'));
      await settled();
    } finally {
      sink.close();
    }
  });
});

test('after all calls, the SIP layer drains too (transactions, dialogs, timers)', async () => {
  for (let i = 0; i < 300; i++) {
    const s = server.stats().sip;
    if (s.timers === 0 && s.serverTransactions === 0 && s.clientTransactions === 0 && s.dialogs === 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`SIP state left: ${JSON.stringify(server.stats().sip)}`);
});
