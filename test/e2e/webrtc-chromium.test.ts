/**
 * A browser calls a plain-RTP endpoint through the proxy: headless Chromium offers UDP/TLS/RTP/SAVPF (ICE,
 * DTLS-SRTP, rtcp-mux), the ng offer asks for RTP/AVP towards the callee, as Kamailio's WebRTC setups do. The
 * browser connects to our ICE-lite candidate, completes DTLS with us, and audio flows both ways: its
 * oscillator's tone reaches the callee as plain PCMU, the callee's packets reach the browser.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { g711Decode } from '../../src/media/g711.js';
import { toneDominance } from '../../src/media/goertzel.js';
import {
  type Cdp,
  chromiumInstalled,
  MISSING_CHROMIUM,
  type RunningChromium,
  startChromium,
} from '../helpers/chromium.js';
import { Endpoint, rtp, sdpPorts } from '../helpers/endpoint.js';
import { type RunningProxy, startProxy } from '../helpers/proxy.js';

const skip = chromiumInstalled() ? false : MISSING_CHROMIUM;

/** Page script prelude: \`pc\`, a peer connection, and \`track\`, a 1 kHz oscillator (of \`dst.stream\`). */
const PEER = `
  const pc = new RTCPeerConnection({ iceServers: [] });
  window.pc = pc;
  const ac = new AudioContext();
  await ac.resume();
  const osc = ac.createOscillator();
  osc.frequency.value = 1000;
  const gain = ac.createGain();
  gain.gain.value = 0.5;
  const dst = ac.createMediaStreamDestination();
  osc.connect(gain).connect(dst);
  osc.start();
  const track = dst.stream.getAudioTracks()[0];`;
/** Page script end: the local description once ICE gathering is complete (bounded). */
const GATHERED = `
  await new Promise((r) => {
    if (pc.iceGatheringState === 'complete') return r();
    pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r());
    setTimeout(r, 3000);
  });
  return pc.localDescription.sdp;`;
/** The browser offers, sending the oscillator. */
const MAKE_OFFER = `(async () => {${PEER}
  pc.addTrack(track, dst.stream);
  await pc.setLocalDescription(await pc.createOffer());${GATHERED}
})()`;
/** The browser answers the offer in \`window.offer\`, sending the oscillator. */
const MAKE_ANSWER = `(async () => {${PEER}
  await pc.setRemoteDescription({ type: 'offer', sdp: window.offer });
  pc.addTrack(track, dst.stream);
  await pc.setLocalDescription(await pc.createAnswer());${GATHERED}
})()`;

const INBOUND = `(async () => {
  let n = 0;
  (await pc.getStats()).forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'audio') n = s.packetsReceived; });
  return n;
})()`;

/** The plain party's SDP: PCMU on `port`. */
const plainSdp = (who: string, port: number): string =>
  `v=0\r\no=${who} 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n` +
  `m=audio ${port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n`;

/**
 * Once the browser is connected: its audio reaches the plain party decrypted (PCMU carrying the oscillator's
 * 1 kHz), and the plain party's packets (sent to the proxy's `toProxy`) reach the browser's SRTP.
 */
async function mediaBothWays(cdp: Cdp, plain: Endpoint, toProxy: number): Promise<void> {
  const state = async () => `connection ${String(await cdp.evaluate('pc.connectionState'))}`;
  await cdp.waitFor(`pc.connectionState === 'connected'`, 'ICE and DTLS connected', state);
  const got: Buffer[] = [];
  for (let i = 0; i < 50; i++) got.push((await plain.next(3000)).msg);
  assert.ok(
    got.every((m) => m[0]! >> 6 === 2 && (m[1]! & 0x7f) === 0),
    'plain RTP, PCMU',
  );
  const pcm = g711Decode('PCMU', Buffer.concat(got.slice(-25).map((m) => m.subarray(12))));
  assert.ok(toneDominance(pcm, 1000, [500, 1500, 2000], 8000) > 20, 'the browser tone arrives');
  for (let i = 0; i < 50; i++) plain.send(rtp(0, 100 + i, 160 * i, 0xcafe), toProxy);
  await cdp.waitFor(`${INBOUND}.then((n) => n >= 20)`, 'packets from the plain party', async () =>
    String(await cdp.evaluate(INBOUND)),
  );
}

/** The `DTLS` entry of `tag`'s first media in `query`. */
async function dtlsOf(p: RunningProxy, id: Record<string, string>, tag: string): Promise<unknown> {
  const q = await p.ng.request({ command: 'query', ...id });
  const media = (q.tags as Record<string, { medias: { DTLS?: unknown }[] }>)[tag]?.medias[0];
  // Decoded bencode dictionaries have no prototype: a plain copy compares with literals.
  return media?.DTLS === undefined ? undefined : { ...(media.DTLS as object) };
}

/** The browser answers `offer` (made by the proxy); its answer goes to the proxy, whose answer is returned. */
async function browserAnswers(
  cdp: Cdp,
  p: RunningProxy,
  id: Record<string, string>,
  offer: string,
): Promise<{ browserAnswer: string; toCaller: string }> {
  await cdp.evaluate(`window.offer = ${JSON.stringify(offer)}`);
  const browserAnswer = String(await cdp.evaluate(MAKE_ANSWER));
  const answer = await p.ng.request({ command: 'answer', ...id, 'to-tag': 'browser', sdp: browserAnswer });
  assert.equal(answer.result, 'ok', JSON.stringify(answer));
  return { browserAnswer, toCaller: String(answer.sdp) };
}

for (const dataplane of ['native', 'js']) {
  describe(`WebRTC browser to plain RTP (${dataplane} dataplane)`, { skip }, () => {
    let p: RunningProxy;
    let chrome: RunningChromium;
    before(async () => {
      p = await startProxy([`--dataplane=${dataplane}`]);
      chrome = await startChromium(p.spare[70]!, [
        '--allow-loopback-in-peer-connection',
        '--autoplay-policy=no-user-gesture-required',
      ]);
    });
    after(async () => {
      await chrome?.stop();
      await p?.stop();
    });

    test('ICE-lite, DTLS-SRTP and rtcp-mux towards the browser; PCMU both ways', async () => {
      const cdp = chrome.cdp;
      const browserSdp = String(await cdp.evaluate(MAKE_OFFER));
      assert.match(browserSdp, /^m=audio \d+ UDP\/TLS\/RTP\/SAVPF /m);
      const callee = await Endpoint.open(p.spare[10]!);
      try {
        const id = { 'call-id': `webrtc-${dataplane}`, 'from-tag': 'browser' };
        const offer = await p.ng.request({
          command: 'offer',
          ...id,
          sdp: browserSdp,
          'transport-protocol': 'RTP/AVP',
          ICE: 'remove',
        });
        assert.equal(offer.result, 'ok', JSON.stringify(offer));
        const toCallee = String(offer.sdp);
        assert.match(toCallee, /^m=audio \d+ RTP\/AVP /m, 'the callee is offered plain RTP');
        assert.doesNotMatch(toCallee, /a=(fingerprint|setup|ice-|candidate)/, 'no DTLS or ICE towards it');
        const calleeSdp = plainSdp('callee', callee.port);
        const answer = await p.ng.request({ command: 'answer', ...id, 'to-tag': 'callee', sdp: calleeSdp });
        assert.equal(answer.result, 'ok', JSON.stringify(answer));
        const toBrowser = String(answer.sdp);
        assert.match(toBrowser, /^m=audio \d+ UDP\/TLS\/RTP\/SAVPF 0\r$/m);
        assert.match(toBrowser, /^a=ice-lite\r$/m);
        assert.match(toBrowser, /^a=fingerprint:sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}\r$/m);
        assert.match(toBrowser, /^a=setup:passive\r$/m);
        assert.match(toBrowser, /^a=rtcp-mux\r$/m);
        assert.match(toBrowser, /^a=candidate:1 1 UDP 2130706431 127\.0\.0\.1 \d+ typ host\r$/m);

        await cdp.evaluate(`pc.setRemoteDescription({ type: 'answer', sdp: ${JSON.stringify(toBrowser)} })`);
        await mediaBothWays(cdp, callee, sdpPorts(toCallee).rtp);
        assert.deepEqual(await dtlsOf(p, id, 'browser'), { state: 'connected' }, 'query shows the handshake');
        await p.ng.request({ command: 'delete', ...id });
      } finally {
        callee.close();
      }
    });

    test('a plain caller to a browser (flag WebRTC): offered ICE-lite and DTLS (actpass); the browser answers active', async () => {
      const cdp = chrome.cdp;
      await cdp.evaluate('pc.close()');
      const caller = await Endpoint.open(p.spare[12]!);
      try {
        const id = { 'call-id': `webrtc-callee-${dataplane}`, 'from-tag': 'caller' };
        const callerSdp = plainSdp('caller', caller.port);
        const offer = await p.ng.request({
          command: 'offer',
          ...id,
          sdp: callerSdp,
          // Our preset: the plain side offers, so the callee is the browser (ICE=force as Kamailio configs add).
          flags: ['WebRTC'],
          ICE: 'force',
        });
        assert.equal(offer.result, 'ok', JSON.stringify(offer));
        assert.equal(offer.warning, undefined, String(offer.warning));
        const toBrowser = String(offer.sdp);
        assert.match(toBrowser, /^m=audio \d+ UDP\/TLS\/RTP\/SAVPF 0\r$/m);
        assert.match(toBrowser, /^a=ice-lite\r$/m);
        assert.match(toBrowser, /^a=setup:actpass\r$/m);
        assert.match(toBrowser, /^a=rtcp-mux\r$/m);
        assert.match(toBrowser, /^a=fingerprint:sha-256 /m);
        const { browserAnswer, toCaller } = await browserAnswers(cdp, p, id, toBrowser);
        assert.match(browserAnswer, /^a=setup:active\r$/m);
        assert.match(toCaller, /^m=audio \d+ RTP\/AVP 0\r$/m, 'the caller is answered plain RTP');
        assert.doesNotMatch(toCaller, /a=(fingerprint|setup|ice-|candidate)/);
        await mediaBothWays(cdp, caller, sdpPorts(toCaller).rtp);
        await p.ng.request({ command: 'delete', ...id });
      } finally {
        caller.close();
      }
    });

    test('older Kamailio idiom RTP/SAVPF with ICE=force: SDES and DTLS offered, the browser takes DTLS', async () => {
      const cdp = chrome.cdp;
      await cdp.evaluate('pc.close()');
      const caller = await Endpoint.open(p.spare[13]!);
      try {
        const id = { 'call-id': `webrtc-savpf-${dataplane}`, 'from-tag': 'caller' };
        const offer = await p.ng.request({
          command: 'offer',
          ...id,
          sdp: plainSdp('caller', caller.port),
          'transport-protocol': 'RTP/SAVPF',
          ICE: 'force',
        });
        assert.equal(offer.result, 'ok', JSON.stringify(offer));
        const toBrowser = String(offer.sdp);
        assert.match(toBrowser, /^m=audio \d+ RTP\/SAVPF 0\r$/m);
        assert.match(toBrowser, /^a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:/m, 'SDES offered');
        assert.match(toBrowser, /^a=setup:actpass\r$/m, 'and DTLS');
        assert.match(toBrowser, /^a=ice-lite\r$/m, 'ICE because of ICE=force');
        const { browserAnswer, toCaller } = await browserAnswers(cdp, p, id, toBrowser);
        assert.match(browserAnswer, /^a=fingerprint:sha-256 /m);
        assert.doesNotMatch(browserAnswer, /a=crypto/, 'browsers do not speak SDES');
        assert.match(toCaller, /^m=audio \d+ RTP\/AVP 0\r$/m);
        await mediaBothWays(cdp, caller, sdpPorts(toCaller).rtp);
        await p.ng.request({ command: 'delete', ...id });
      } finally {
        caller.close();
      }
    });

    test('a browser whose certificate is not the one its SDP names gets no media through', async () => {
      const cdp = chrome.cdp;
      await cdp.evaluate('pc.close()');
      const real = String(await cdp.evaluate(MAKE_OFFER));
      // Another fingerprint in the SDP than the certificate the browser will present.
      const forged = real.replace(
        /(a=fingerprint:sha-256 )([0-9A-F:]+)/,
        (_m, a: string, fp: string) => a + (fp.startsWith('00') ? `11${fp.slice(2)}` : `00${fp.slice(2)}`),
      );
      assert.notEqual(forged, real);
      const callee = await Endpoint.open(p.spare[11]!);
      try {
        const id = { 'call-id': `webrtc-forged-${dataplane}`, 'from-tag': 'browser' };
        // The preset again, the browser offering this time: the callee gets plain RTP.
        const offer = await p.ng.request({ command: 'offer', ...id, sdp: forged, flags: ['WebRTC'] });
        const calleeSdp = plainSdp('callee', callee.port);
        const answer = await p.ng.request({ command: 'answer', ...id, 'to-tag': 'callee', sdp: calleeSdp });
        await cdp.evaluate(
          `pc.setRemoteDescription({ type: 'answer', sdp: ${JSON.stringify(String(answer.sdp))} })`,
        );
        // The browser checks our certificate and is content; we refuse its and keep the gate shut.
        await cdp.waitFor(`pc.connectionState === 'connected'`, 'the browser side connected');
        const received = async (): Promise<number> => {
          const q = await p.ng.request({ command: 'query', ...id });
          const t = (q.totals as { RTP?: { packets?: number } } | undefined)?.RTP?.packets ?? 0;
          return t;
        };
        for (let i = 0; i < 100 && (await received()) < 25; i++) await new Promise((r) => setTimeout(r, 50));
        assert.ok((await received()) >= 25, 'the browser sends media to us');
        assert.equal(callee.pending(), 0, 'none of it reaches the callee');
        const d = (await dtlsOf(p, id, 'browser')) as { state: string; error: string };
        assert.equal(d.state, 'failed');
        assert.match(d.error, /certificate does not match the fingerprint/, 'query says why');
        assert.match(String(offer.sdp), /RTP\/AVP/);
        await p.ng.request({ command: 'delete', ...id });
      } finally {
        callee.close();
      }
    });
  });
}
