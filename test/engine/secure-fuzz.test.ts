/**
 * SRTP and WebRTC negotiation against odd offers and answers, through the engine: any mix of protocols,
 * fingerprints, setup roles, crypto and ICE lines, with any `transport-protocol`, `ICE=force` and `DTLS=off`,
 * answers SDP that parses or is refused with an engine or SDP error; nothing else, and every call frees its ports.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { SignalOptions } from '../../src/engine/options.js';
import { Sdp } from '../../src/wire/sdp.js';
import { exchange, fuzzEngine } from './fuzz-engine.js';

const fz = fuzzEngine();
const { engine } = fz;

const PROTOS = [
  'RTP/AVP',
  'RTP/AVPF',
  'RTP/SAVP',
  'RTP/SAVPF',
  'UDP/TLS/RTP/SAVPF',
  'UDP/TLS/RTP/SAVP',
] as const;
const FP = Array.from({ length: 32 }, (_, i) => (i + 16).toString(16).toUpperCase()).join(':');
const attrs = fc.array(
  fc.constantFrom(
    'rtpmap:0 PCMU/8000',
    `fingerprint:sha-256 ${FP}`,
    'fingerprint:sha-256 12:34',
    `fingerprint:sha-1 ${FP.slice(0, 59)}`,
    'setup:actpass',
    'setup:active',
    'setup:passive',
    'setup:holdconn',
    'crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz',
    'crypto:2 AES_CM_128_HMAC_SHA1_32 inline:short',
    'crypto:x garbage',
    'ice-ufrag:abcd',
    'ice-pwd:aaaaaaaaaaaaaaaaaaaaaaaa',
    'candidate:1 1 udp 2122260223 192.0.2.1 4000 typ host',
    'rtcp-mux',
  ),
  { maxLength: 8 },
);
const section = fc.record({ proto: fc.constantFrom(...PROTOS), attrs });
const party = fc.array(section, { minLength: 1, maxLength: 2 });
const options = fc.record(
  {
    transportProtocol: fc.constantFrom(...PROTOS),
    iceForce: fc.boolean(),
    dtlsOff: fc.boolean(),
  },
  { requiredKeys: [] },
);

function sdp(port: number, sections: { proto: string; attrs: string[] }[], session: string[]): string {
  const lines = ['v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', ...session];
  sections.forEach((m, i) => {
    lines.push(`m=audio ${port + 2 * i} ${m.proto} 0`, ...m.attrs.map((a) => `a=${a}`));
  });
  return `${lines.join('\r\n')}\r\n`;
}

let n = 0;
let answered = 0;
let dtls = 0;
test('fuzz: SRTP/DTLS/ICE options on odd offers and answers answer SDP or an engine error, and free the ports', async () => {
  await fc.assert(
    fc.asyncProperty(
      party,
      party,
      options,
      fc.subarray([`a=fingerprint:sha-256 ${FP}`, 'a=setup:active', 'a=ice-lite']),
      async (offer, answer, o, session) => {
        const callId = `sf-${n++}`;
        await exchange(fz, callId, async () => {
          const off = await engine.offer({
            callId,
            fromTag: 'a',
            sdp: sdp(4000, offer, session),
            ...(o as Partial<SignalOptions>),
          });
          Sdp.parse(off.sdp);
          const a = await engine.answer({
            callId,
            fromTag: 'a',
            toTag: 'b',
            sdp: sdp(5000, answer, session),
          });
          Sdp.parse(a.sdp);
          answered++;
          if (engine.calls.get(callId)?.monologues.some((m) => m.media.some((x) => x.dtls))) dtls++;
        });
      },
    ),
    { numRuns: 300, seed: 2026_12_02 },
  );
  assert.ok(answered > 150, `${answered} of 300 answered`);
  assert.ok(dtls > 10, `${dtls} with a DTLS side`);
});
