/**
 * A WebRTC party played by the test itself, on both dataplanes: it checks our ICE-lite candidate with STUN,
 * runs DTLS as the client with the addon, and keeps checking afterwards, as browsers do for consent (RFC 7675):
 * the replies must stay valid STUN once SRTP is on (in the native worker too), or a browser drops the call
 * after 30 s. Chromium (test/e2e/webrtc-chromium) covers the media; its calls are too short for consent.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { loadNativeRelay } from '../../src/dataplane/native/addon.js';
import {
  ATTR,
  BINDING_REQUEST,
  BINDING_SUCCESS,
  buildStun,
  checkIntegrity,
  parseStun,
} from '../../src/wire/stun.js';
import { Endpoint, sdpPorts } from '../helpers/endpoint.js';
import { type RunningProxy, startProxy } from '../helpers/proxy.js';

const addon = loadNativeRelay();
const skip = addon?.dtlsNew ? false : 'MISSING: native addon with DTLS';

for (const dataplane of ['native', 'js']) {
  describe(`a WebRTC party's consent checks after DTLS (${dataplane} dataplane)`, { skip }, () => {
    let p: RunningProxy;
    before(async () => {
      p = await startProxy([`--dataplane=${dataplane}`, '--delete-delay=0']);
    });
    after(async () => {
      await p?.stop();
    });

    test('STUN is answered before and after the handshake, never encrypted', async () => {
      const a = addon!;
      const fp = a.dtlsFingerprint!()!
        .toString('hex')
        .toUpperCase()
        .replace(/(..)(?!$)/g, '$1:');
      const peer = await Endpoint.open(p.spare[20]!);
      const plain = await Endpoint.open(p.spare[21]!);
      try {
        const id = { 'call-id': `webrtc-leg-${dataplane}`, 'from-tag': 'browser' };
        const offer = await p.ng.request({
          command: 'offer',
          ...id,
          'transport-protocol': 'RTP/AVP',
          sdp:
            `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n` +
            `m=audio ${peer.port} UDP/TLS/RTP/SAVPF 0\r\na=rtpmap:0 PCMU/8000\r\na=ice-ufrag:peer\r\n` +
            `a=ice-pwd:pppppppppppppppppppppppp\r\na=fingerprint:sha-256 ${fp}\r\na=setup:actpass\r\n` +
            'a=rtcp-mux\r\na=sendrecv\r\n',
        });
        assert.equal(offer.result, 'ok', JSON.stringify(offer));
        const answer = await p.ng.request({
          command: 'answer',
          ...id,
          'to-tag': 'plain',
          sdp:
            `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n` +
            `m=audio ${plain.port} RTP/AVP 0\r\na=sendrecv\r\n`,
        });
        const sdp = String(answer.sdp);
        const ufrag = /^a=ice-ufrag:(\S+)\r$/m.exec(sdp)![1]!;
        const pwd = /^a=ice-pwd:(\S+)\r$/m.exec(sdp)![1]!;
        const port = sdpPorts(sdp).rtp;

        const check = async (what: string) => {
          const tid = randomBytes(12);
          peer.send(
            buildStun(
              BINDING_REQUEST,
              tid,
              [
                [ATTR.USERNAME, Buffer.from(`${ufrag}:peer`)],
                [ATTR.ICE_CONTROLLING, randomBytes(8)],
                [ATTR.USE_CANDIDATE, Buffer.alloc(0)],
              ],
              pwd,
            ),
            port,
          );
          const reply = (await peer.next()).msg;
          const m = parseStun(reply);
          assert.ok(m, `${what}: a STUN reply, not ${reply.subarray(0, 4).toString('hex')}...`);
          assert.equal(m.type, BINDING_SUCCESS, what);
          assert.deepEqual(m.transactionId, tid);
          assert.ok(checkIntegrity(reply, m, pwd), `${what}: signed with our password`);
        };
        await check('before DTLS');

        // DTLS with us as the client (the proxy answered setup:passive).
        const h = a.dtlsNew!(false)!;
        for (const d of a.dtlsFeed!(h, null).out) peer.send(d, port);
        for (let i = 0; i < 20 && !a.dtlsSrtp!(h); i++)
          for (const d of a.dtlsFeed!(h, (await peer.next()).msg).out) peer.send(d, port);
        assert.ok(a.dtlsSrtp!(h), 'the handshake completed');
        // The proxy's side is done once it has processed our last flight: query says so.
        for (let i = 0; i < 50; i++) {
          const q = await p.ng.request({ command: 'query', ...id });
          const media = (q.tags as Record<string, { medias: { DTLS?: { state?: string } }[] }>).browser!
            .medias[0]!;
          if (media.DTLS?.state === 'connected') break;
          assert.notEqual(media.DTLS?.state, 'failed');
          await new Promise((r) => setTimeout(r, 20));
        }
        await check('after DTLS (consent)');
        await check('again');
        await p.ng.request({ command: 'delete', ...id });
      } finally {
        peer.close();
        plain.close();
      }
    });
  });
}
