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
  chromiumInstalled,
  MISSING_CHROMIUM,
  type RunningChromium,
  startChromium,
} from '../helpers/chromium.js';
import { Endpoint, rtp, sdpPorts } from '../helpers/endpoint.js';
import { type RunningProxy, startProxy } from '../helpers/proxy.js';

const skip = chromiumInstalled() ? false : MISSING_CHROMIUM;

/** Page script: a peer connection sending a 1 kHz oscillator; resolves with its complete offer. */
const MAKE_OFFER = `(async () => {
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
  pc.addTrack(dst.stream.getAudioTracks()[0], dst.stream);
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => {
    if (pc.iceGatheringState === 'complete') return r();
    pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r());
    setTimeout(r, 3000);
  });
  return pc.localDescription.sdp;
})()`;

const INBOUND = `(async () => {
  let n = 0;
  (await pc.getStats()).forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'audio') n = s.packetsReceived; });
  return n;
})()`;

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
        const calleeSdp =
          `v=0\r\no=callee 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n` +
          `m=audio ${callee.port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n`;
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
        const state = async () => `connection ${String(await cdp.evaluate('pc.connectionState'))}`;
        await cdp.waitFor(`pc.connectionState === 'connected'`, 'ICE and DTLS connected', state);

        // The browser's audio reaches the callee decrypted: PCMU carrying the oscillator's 1 kHz.
        const got: Buffer[] = [];
        for (let i = 0; i < 50; i++) got.push((await callee.next(3000)).msg);
        assert.ok(
          got.every((m) => m[0]! >> 6 === 2 && (m[1]! & 0x7f) === 0),
          'plain RTP, PCMU',
        );
        const pcm = g711Decode('PCMU', Buffer.concat(got.slice(-25).map((m) => m.subarray(12))));
        assert.ok(toneDominance(pcm, 1000, [500, 1500, 2000], 8000) > 20, 'the browser tone arrives');

        // The callee's packets reach the browser (encrypted by us, accepted by its SRTP).
        const toProxy = sdpPorts(toCallee).rtp;
        for (let i = 0; i < 50; i++) callee.send(rtp(0, 100 + i, 160 * i, 0xcafe), toProxy);
        await cdp.waitFor(`${INBOUND}.then((n) => n >= 20)`, 'packets from the callee', async () =>
          String(await cdp.evaluate(INBOUND)),
        );
        await p.ng.request({ command: 'delete', ...id });
      } finally {
        callee.close();
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
        const offer = await p.ng.request({
          command: 'offer',
          ...id,
          sdp: forged,
          'transport-protocol': 'RTP/AVP',
        });
        const calleeSdp =
          `v=0\r\no=callee 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n` +
          `m=audio ${callee.port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n`;
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
        assert.match(String(offer.sdp), /RTP\/AVP/);
        await p.ng.request({ command: 'delete', ...id });
      } finally {
        callee.close();
      }
    });
  });
}
