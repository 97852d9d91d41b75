/**
 * Flags as Kamailio's rtpengine module sends them from rtpengine_offer: transcoding (`codec-mask=PCMU
 * codec-transcode=PCMA`, `codec-transcode=telephone-event`), SRTP towards the callee (`RTP/SAVP`), and our
 * `WebRTC` preset: one INVITE and its 200 OK through Kamailio, sent and answered by this test, against our
 * proxy and (except for the preset, which rtpengine does not have) Debian's rtpengine; the SDP each side gets
 * must name the same codecs and protocols.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  buildResponse,
  getHeader,
  parseMessage,
  type SipRequest,
  serializeMessage,
} from '../../src/wire/sip/index.js';
import { kamailioInstalled, startKamailio } from '../helpers/kamailio.js';
import { reservePortBlock } from '../helpers/ports.js';
import { type ProxyKind, rtpengineInstalled, startMediaProxy } from '../helpers/rtpengine.js';

const missing = !kamailioInstalled()
  ? 'MISSING PEER: kamailio (with the rtpengine module) not installed'
  : !rtpengineInstalled()
    ? 'MISSING PEER: rtpengine not installed'
    : false;
if (missing) console.log(missing);

const FLAGS = 'replace-origin replace-session-connection codec-mask=PCMU codec-transcode=PCMA';

const sdp = (port: number, fmts: string, rtpmaps: string[]) =>
  `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP ${fmts}\r\n` +
  `${rtpmaps.map((r) => `a=rtpmap:${r}\r\n`).join('')}a=sendrecv\r\n`;

function bind(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(port, '127.0.0.1', () => resolve(s));
  });
}

/** The next SIP message on `s` (bounded). */
function nextSip(s: Socket, what: string) {
  return new Promise<ReturnType<typeof parseMessage>>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${what} within 5 s`)), 5000);
    const on = (b: Buffer) => {
      const m = parseMessage(b);
      if (m.kind === 'response' && m.status < 200) return; // 100 Trying
      clearTimeout(t);
      s.off('message', on);
      resolve(m);
    };
    s.on('message', on);
  });
}

const mline = (body: string) => /^m=audio \d+ RTP\/AVP (.*)\r$/m.exec(body)?.[1];

/**
 * The SDP the callee is offered and the caller is answered with, through Kamailio (`rtpengine_offer(flags)`)
 * and `kind`; the callee answers `answerBody(port)`.
 */
async function throughKamailio(
  kind: ProxyKind,
  flags: string,
  offerBody: (port: number) => string,
  answerBody: (port: number) => string,
): Promise<{ offered: string; answered: string }> {
  const dir = mkdtempSync(join(tmpdir(), `sipmedia-kam-tc-${kind}-`));
  const base = reservePortBlock();
  const proxy = await startMediaProxy(kind, { extraArgs: ['--delete-delay=0'] });
  const uac = await bind(base + 2);
  const uas = await bind(base + 4);
  const kam = await startKamailio({
    dir,
    sipPort: base,
    uasPort: base + 4,
    ngPort: proxy.ngPort,
    vars: { OFFER_FLAGS: flags },
  });
  try {
    const callId = `tc-${kind}-${process.pid}@127.0.0.1`;
    const invite = [
      `INVITE sip:callee@127.0.0.1:${base} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${base + 2};branch=z9hG4bK-${kind}-1;rport`,
      'Max-Forwards: 70',
      `From: <sip:caller@127.0.0.1>;tag=a-${kind}`,
      `To: <sip:callee@127.0.0.1:${base}>`,
      `Call-ID: ${callId}`,
      'CSeq: 1 INVITE',
      `Contact: <sip:caller@127.0.0.1:${base + 2}>`,
      'Content-Type: application/sdp',
    ];
    const body = offerBody(base + 10);
    uac.send(`${invite.join('\r\n')}\r\nContent-Length: ${body.length}\r\n\r\n${body}`, base, '127.0.0.1');
    const atUas = (await nextSip(uas, 'INVITE at the callee')) as SipRequest;
    assert.equal(atUas.kind, 'request');
    const offered = atUas.body.toString();
    const ok = buildResponse(atUas, 200, 'OK', `b-${kind}`);
    ok.headers.push({ name: 'Contact', value: `<sip:callee@127.0.0.1:${base + 4}>` });
    ok.headers.push({ name: 'Content-Type', value: 'application/sdp' });
    ok.body = Buffer.from(answerBody(base + 12));
    const via = getHeader(atUas, 'Via')?.match(/SIP\/2\.0\/UDP ([\d.]+):(\d+)/);
    uas.send(serializeMessage(ok), Number(via?.[2] ?? base), via?.[1] ?? '127.0.0.1');
    const atUac = await nextSip(uac, '200 OK at the caller');
    assert.equal(atUac.kind === 'response' && atUac.status, 200);
    return { offered, answered: atUac.body.toString() };
  } catch (e) {
    throw new Error(
      `${String(e)}\n--- kamailio\n${kam.output().slice(-4000)}\n--- proxy\n${proxy.output().slice(-4000)}`,
    );
  } finally {
    uac.close();
    uas.close();
    await kam.stop();
    await proxy.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

test(`Kamailio's rtpengine_offer("${FLAGS}"): the same codecs through sipmedia as through rtpengine`, {
  skip: missing,
}, async () => {
  const offer = (port: number) => sdp(port, '0 101', ['0 PCMU/8000', '101 telephone-event/8000']);
  const answer = (port: number) => sdp(port, '8 101', ['8 PCMA/8000', '101 telephone-event/8000']);
  const formats = (r: { offered: string; answered: string }) => ({
    offered: mline(r.offered),
    answered: mline(r.answered),
  });
  const ours = formats(await throughKamailio('sipmedia', FLAGS, offer, answer));
  const theirs = formats(await throughKamailio('rtpengine', FLAGS, offer, answer));
  assert.deepEqual(ours, { offered: '8 101', answered: '0 101' });
  assert.deepEqual(ours, theirs);
});

const SRTP_FLAGS = 'replace-origin replace-session-connection RTP/SAVP';

test(`Kamailio's rtpengine_offer("${SRTP_FLAGS}"): SRTP towards the callee, plain RTP back, as rtpengine does`, {
  skip: missing,
}, async () => {
  const offer = (port: number) => sdp(port, '0', ['0 PCMU/8000']);
  const key = Buffer.alloc(30, 0x33).toString('base64');
  const answer = (port: number) =>
    sdp(port, '0', ['0 PCMU/8000'])
      .replace('RTP/AVP', 'RTP/SAVP')
      .replace('a=sendrecv', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${key}\r\na=sendrecv`);
  for (const kind of ['sipmedia', 'rtpengine'] as const) {
    const r = await throughKamailio(kind, SRTP_FLAGS, offer, answer);
    assert.match(r.offered, /^m=audio \d+ RTP\/SAVP 0\r$/m, `${kind}: the callee is offered SRTP`);
    assert.match(r.offered, /^a=crypto:\d+ AES_CM_128_HMAC_SHA1_80 inline:[A-Za-z0-9+/]{40}\r$/m, kind);
    assert.match(r.answered, /^m=audio \d+ RTP\/AVP 0\r$/m, `${kind}: the caller is answered plain RTP`);
    assert.doesNotMatch(r.answered, /a=crypto/, kind);
  }
});

const EVENT_FLAGS = 'replace-origin replace-session-connection codec-transcode=telephone-event';

test(`Kamailio's rtpengine_offer("${EVENT_FLAGS}"): telephone-event offered to the callee, not answered to the caller`, {
  skip: missing,
}, async () => {
  const offer = (port: number) => sdp(port, '8', ['8 PCMA/8000']);
  const answer = (port: number) => sdp(port, '8 96', ['8 PCMA/8000', '96 telephone-event/8000']);
  for (const kind of ['sipmedia', 'rtpengine'] as const) {
    const r = await throughKamailio(kind, EVENT_FLAGS, offer, answer);
    assert.equal(mline(r.offered), '8 96', `${kind}: the callee is offered telephone-event`);
    assert.match(r.offered, /^a=rtpmap:96 telephone-event\/8000\r\na=fmtp:96 0-15\r$/m, kind);
    assert.equal(mline(r.answered), '8', `${kind}: the caller is answered without it`);
  }
});

const WEBRTC_FLAGS = 'replace-origin replace-session-connection WebRTC';

test(`Kamailio's rtpengine_offer("${WEBRTC_FLAGS}"): a browser's offer reaches the callee as plain RTP`, {
  skip: missing,
}, async () => {
  // A browser's offer as Chromium writes it (ICE, DTLS, rtcp-mux, opus and G.711).
  const fp = Array.from({ length: 32 }, (_, i) =>
    (i * 7 + 16).toString(16).toUpperCase().padStart(2, '0'),
  ).join(':');
  const offer = (port: number) =>
    `v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n` +
    `a=msid-semantic: WMS\r\nm=audio ${port} UDP/TLS/RTP/SAVPF 111 0 8\r\nc=IN IP4 127.0.0.1\r\n` +
    `a=rtcp:9 IN IP4 0.0.0.0\r\na=candidate:1 1 udp 2122260223 127.0.0.1 ${port} typ host generation 0\r\n` +
    `a=ice-ufrag:Xy3f\r\na=ice-pwd:a1b2c3d4e5f6g7h8i9j0k1l2\r\na=ice-options:trickle\r\n` +
    `a=fingerprint:sha-256 ${fp}\r\na=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\n` +
    `a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:0 PCMU/8000\r\n` +
    `a=rtpmap:8 PCMA/8000\r\n`;
  const answer = (port: number) => sdp(port, '0', ['0 PCMU/8000']);
  const r = await throughKamailio('sipmedia', WEBRTC_FLAGS, offer, answer);
  assert.equal(mline(r.offered), '111 0 8', 'the callee is offered plain RTP/AVP with the same codecs');
  assert.doesNotMatch(r.offered, /a=(fingerprint|setup|ice-|candidate)/, 'no DTLS or ICE towards it');
  assert.match(r.answered, /^m=audio \d+ UDP\/TLS\/RTP\/SAVPF 0\r$/m, 'the browser is answered WebRTC');
  assert.match(r.answered, /^a=ice-lite\r$/m);
  assert.match(r.answered, /^a=setup:passive\r$/m);
  assert.match(r.answered, /^a=fingerprint:sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}\r$/m);
  assert.match(r.answered, /^a=rtcp-mux\r$/m);
  assert.match(r.answered, /^a=candidate:1 1 UDP 2130706431 127\.0\.0\.1 \d+ typ host\r$/m);
});
