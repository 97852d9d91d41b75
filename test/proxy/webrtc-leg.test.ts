/**
 * A WebRTC party played by the test itself, on both dataplanes: it checks our ICE-lite candidate with STUN,
 * runs DTLS as the client with the addon, and keeps checking afterwards, as browsers do for consent (RFC 7675):
 * the replies must stay valid STUN once SRTP is on (in the native worker too), or a browser drops the call
 * after 30 s. Chromium (test/e2e/webrtc-chromium) covers the media; its calls are too short for consent.
 * Also a browser with two candidates: checks are answered where they came from, and the one it nominates
 * (not the first that reached us) gets the media; a check that fails authentication moves nothing; DTLS and
 * RTP from a stranger that reach the port before the browser's first check take nothing.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
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
import { Endpoint, rtp, sdpPorts } from '../helpers/endpoint.js';
import { type RunningProxy, startProxy } from '../helpers/proxy.js';

const addon = loadNativeRelay();
const skip = addon?.dtlsNew ? false : 'MISSING: native addon with DTLS';

/** Bytes as an SDP fingerprint's value: upper-case hex pairs joined by colons. */
const colonHex = (b: Buffer): string =>
  b
    .toString('hex')
    .toUpperCase()
    .replace(/(..)(?!$)/g, '$1:');

/** Our certificate's fingerprint as an SDP attribute's value: the test's DTLS client uses the same certificate. */
const ourFingerprint = (): string => colonHex(addon!.dtlsFingerprint!()!);

/** Opens an endpoint on each of the proxy's spare ports `spares`, runs `body`, and closes them all. */
async function withEndpoints<const S extends readonly number[]>(
  p: RunningProxy,
  spares: S,
  body: (eps: { [K in keyof S]: Endpoint }) => Promise<void>,
): Promise<void> {
  const eps: Endpoint[] = [];
  try {
    for (const i of spares) eps.push(await Endpoint.open(p.spare[i]!));
    await body(eps as { [K in keyof S]: Endpoint });
  } finally {
    for (const e of eps) e.close();
  }
}

interface WebrtcCall {
  id: { 'call-id': string; 'from-tag': string };
  /** Our ICE credentials and port towards the browser. */
  ufrag: string;
  pwd: string;
  port: number;
  /** Our port towards the plain party. */
  plainTo: number;
  /** The SDP the browser was answered with. */
  sdp: string;
  /** The offer's warning, if any. */
  warning?: string;
}

/**
 * A browser (its SDP candidate at `browserPort`) offers to a plain RTP party at `plainPort`; `fingerprint` is
 * the browser's `a=fingerprint` value (default: the test's certificate by SHA-256), `ng` more offer keys.
 */
async function webrtcCall(
  p: RunningProxy,
  callId: string,
  browserPort: number,
  plainPort: number,
  {
    fingerprint = `sha-256 ${ourFingerprint()}`,
    ng = {},
  }: { fingerprint?: string; ng?: Record<string, string> } = {},
): Promise<WebrtcCall> {
  const id = { 'call-id': callId, 'from-tag': 'browser' };
  const offer = await p.ng.request({
    command: 'offer',
    ...id,
    ...ng,
    'transport-protocol': 'RTP/AVP',
    sdp:
      `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n` +
      `m=audio ${browserPort} UDP/TLS/RTP/SAVPF 0\r\na=rtpmap:0 PCMU/8000\r\na=ice-ufrag:peer\r\n` +
      `a=ice-pwd:pppppppppppppppppppppppp\r\na=fingerprint:${fingerprint}\r\na=setup:actpass\r\n` +
      'a=rtcp-mux\r\na=sendrecv\r\n',
  });
  assert.equal(offer.result, 'ok', JSON.stringify(offer));
  const answer = await p.ng.request({
    command: 'answer',
    ...id,
    'to-tag': 'plain',
    sdp:
      `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n` +
      `m=audio ${plainPort} RTP/AVP 0\r\na=sendrecv\r\n`,
  });
  const sdp = String(answer.sdp);
  return {
    id,
    ufrag: /^a=ice-ufrag:(\S+)\r$/m.exec(sdp)![1]!,
    pwd: /^a=ice-pwd:(\S+)\r$/m.exec(sdp)![1]!,
    port: sdpPorts(sdp).rtp,
    plainTo: sdpPorts(String(offer.sdp)).rtp,
    sdp,
    ...(offer.warning !== undefined && { warning: String(offer.warning) }),
  };
}

/** Sends a binding request from `from` (nominating when asked) and returns the STUN reply it gets. */
async function check(c: WebrtcCall, from: Endpoint, nominate: boolean, password = c.pwd) {
  const tid = randomBytes(12);
  const attrs: [number, Buffer][] = [
    [ATTR.USERNAME, Buffer.from(`${c.ufrag}:peer`)],
    [ATTR.ICE_CONTROLLING, randomBytes(8)],
  ];
  if (nominate) attrs.push([ATTR.USE_CANDIDATE, Buffer.alloc(0)]);
  from.send(buildStun(BINDING_REQUEST, tid, attrs, password), c.port);
  const reply = (await from.next()).msg;
  const m = parseStun(reply);
  assert.ok(m, `a STUN reply at ${from.port}, not ${reply.subarray(0, 4).toString('hex')}...`);
  assert.deepEqual(m.transactionId, tid);
  return { type: m.type, signed: checkIntegrity(reply, m, c.pwd) };
}

/**
 * DTLS from `from` with the test as the client (we answered setup:passive), until query says connected (or,
 * with `expectFailure`, failed: returns the error). Returns the proxy's certificate (DER) as the test saw it.
 */
async function handshake(
  p: RunningProxy,
  c: WebrtcCall,
  from: Endpoint,
  expectFailure = false,
): Promise<{ certificate: Buffer; error?: string }> {
  const a = addon!;
  const h = a.dtlsNew!(false)!;
  for (const d of a.dtlsFeed!(h, null).out) from.send(d, c.port);
  for (let i = 0; i < 20 && !a.dtlsSrtp!(h); i++)
    for (const d of a.dtlsFeed!(h, (await from.next()).msg).out) from.send(d, c.port);
  const keys = a.dtlsSrtp!(h);
  assert.ok(keys, 'the handshake completed');
  // The proxy's side is done once it has processed our last flight.
  const want = expectFailure ? 'failed' : 'connected';
  for (let i = 0; i < 50; i++) {
    const q = await p.ng.request({ command: 'query', ...c.id });
    const tags = q.tags as Record<string, { medias: { DTLS?: { state?: string; error?: string } }[] }>;
    const dtls = tags.browser!.medias[0]!.DTLS;
    if (dtls?.state === want) return { certificate: keys.peerCertificate, error: dtls.error };
    assert.notEqual(dtls?.state, expectFailure ? 'connected' : 'failed', JSON.stringify(dtls));
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`DTLS did not end ${want}`);
}

/** The plain party's packet reaches the browser at `at` as SRTP (RTP version bits, the 10-byte tag added). */
async function srtpReaches(c: WebrtcCall, plain: Endpoint, at: Endpoint): Promise<void> {
  const packet = rtp(0, 7, 1000, 0x1234);
  plain.send(packet, c.plainTo);
  const got = (await at.next()).msg;
  assert.equal(got.length, packet.length + 10);
  assert.equal(got[0]! & 0xc0, 0x80);
}

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
      await withEndpoints(p, [20, 21], async ([peer, plain]) => {
        const c = await webrtcCall(p, `webrtc-leg-${dataplane}`, peer.port, plain.port);
        const valid = async (what: string) => {
          const r = await check(c, peer, true);
          assert.equal(r.type, BINDING_SUCCESS, what);
          assert.ok(r.signed, `${what}: signed with our password`);
        };
        await valid('before DTLS');
        await handshake(p, c, peer);
        await valid('after DTLS (consent)');
        await valid('again');
        await p.ng.request({ command: 'delete', ...c.id });
      });
    });

    test('checks from another candidate are answered there, and the nominated one gets the media', async () => {
      // The browser's candidate in its SDP (x) and another of its candidates (y), which it nominates.
      await withEndpoints(p, [22, 23, 24], async ([x, y, plain]) => {
        const c = await webrtcCall(p, `webrtc-nominate-${dataplane}`, x.port, plain.port);
        // A check from x confirms x; one from y that fails authentication is answered at y and moves nothing.
        assert.equal((await check(c, x, false)).type, BINDING_SUCCESS);
        assert.notEqual((await check(c, y, true, 'wrong-password-wrong-pwd')).type, BINDING_SUCCESS);
        // The browser nominates y: the answer goes to y (not to the endpoint learned first), and so will media.
        assert.equal((await check(c, y, true)).type, BINDING_SUCCESS);
        assert.equal(x.pending(), 0, 'nothing for y went to x');
        await handshake(p, c, y);
        await srtpReaches(c, plain, y);
        assert.equal(x.pending(), 0, 'no media to x');
        await p.ng.request({ command: 'delete', ...c.id });
      });
    });

    test('DTLS from a source no check came from is ignored: a stranger cannot take the port before the browser', async () => {
      await withEndpoints(p, [27, 28, 29], async ([x, stranger, plain]) => {
        const c = await webrtcCall(p, `webrtc-stranger-${dataplane}`, x.port, plain.port);
        // The stranger's ClientHello (and an RTP packet, which would latch it) reach the port first.
        const h = addon!.dtlsNew!(false)!;
        for (const d of addon!.dtlsFeed!(h, null).out) stranger.send(d, c.port);
        stranger.send(rtp(0, 1, 160, 0x5555), c.port);
        // The browser's check comes after them on the same socket: by its reply, both were handled.
        assert.equal((await check(c, x, false)).type, BINDING_SUCCESS);
        assert.equal(stranger.pending(), 0, 'no ServerHello to the stranger');
        const q = await p.ng.request({ command: 'query', ...c.id });
        const tags = q.tags as Record<string, { medias: { DTLS?: { state?: string } }[] }>;
        assert.equal(tags.browser!.medias[0]!.DTLS?.state, 'waiting', 'no handshake started');
        // The browser's own handshake goes through, and media goes to it, not to the stranger.
        await handshake(p, c, x);
        await srtpReaches(c, plain, x);
        assert.equal(stranger.pending(), 0, 'no media to the stranger');
        await p.ng.request({ command: 'delete', ...c.id });
      });
    });

    test('SHA-1 and SHA-2 fingerprints: the browser checked by its SHA-1, ours by DTLS-fingerprint or its hash', async () => {
      const der = addon!.dtlsCertificate!()!;
      const hex = (hash: string, b: Buffer) => colonHex(createHash(hash).update(b).digest());
      await withEndpoints(p, [25, 26], async ([peer, plain]) => {
        // DTLS-fingerprint picks the hash of ours.
        const c = await webrtcCall(p, `webrtc-sha1-${dataplane}`, peer.port, plain.port, {
          fingerprint: `sha-1 ${hex('sha1', der)}`,
          ng: { 'DTLS-fingerprint': 'SHA-512' },
        });
        const ours = /^a=fingerprint:sha-512 (\S+)\r$/m.exec(c.sdp)?.[1];
        assert.ok(ours, `our fingerprint as SHA-512 in ${c.sdp}`);
        assert.equal((await check(c, peer, true)).type, BINDING_SUCCESS);
        const { certificate } = await handshake(p, c, peer);
        assert.equal(
          ours,
          hex('sha512', certificate),
          'the SHA-512 we gave is of the certificate we presented',
        );
        await srtpReaches(c, plain, peer);
        await p.ng.request({ command: 'delete', ...c.id });

        // A SHA-1 fingerprint that is not the browser's certificate's: the handshake ends, media stays held.
        // An unknown DTLS-fingerprint warns; ours then follows the browser's hash (SHA-1), as rtpengine's does.
        const wrong = Buffer.from(der);
        wrong[wrong.length - 1]! ^= 1;
        const c2 = await webrtcCall(p, `webrtc-sha1-bad-${dataplane}`, peer.port, plain.port, {
          fingerprint: `sha-1 ${hex('sha1', wrong)}`,
          ng: { 'DTLS-fingerprint': 'md5' },
        });
        assert.match(String(c2.warning), /DTLS-fingerprint 'md5' is not supported/);
        const ours2 = /^a=fingerprint:sha-1 (\S+)\r$/m.exec(c2.sdp)?.[1];
        assert.equal((await check(c2, peer, true)).type, BINDING_SUCCESS);
        const r = await handshake(p, c2, peer, true);
        assert.equal(ours2, hex('sha1', r.certificate), 'our SHA-1, as the browser used');
        assert.match(String(r.error), /does not match the fingerprint/);
        await p.ng.request({ command: 'delete', ...c2.id });
      });
    });
  });
}
