/**
 * Codec options (strip, mask, except, transcode) against odd offers and answers, through the engine: every
 * offer/answer either answers with SDP that parses and keeps a format on every m= line, or is refused with
 * an engine or SDP error; nothing else may come out, and every call frees its ports.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Sdp } from '../../src/wire/sdp.js';
import { exchange, fuzzEngine } from './fuzz-engine.js';

const fz = fuzzEngine();
const { engine } = fz;

const formats = fc.array(fc.constantFrom<string>('0', '8', '9', '13', '18', '96', '97', '101', '127'), {
  minLength: 1,
  maxLength: 6,
});
const rtpmaps = fc.array(
  fc.constantFrom(
    'rtpmap:0 PCMU/8000',
    'rtpmap:0 opus/48000/2',
    'rtpmap:8 PCMA/16000',
    'rtpmap:96 PCMU/8000',
    'rtpmap:97 PCMA/8000',
    'rtpmap:101 telephone-event/8000',
    'rtpmap:13 CN/8000',
    'fmtp:101 0-15',
    'rtpmap:x broken',
  ),
  { maxLength: 5 },
);
const section = fc.record({
  fmts: formats,
  attrs: rtpmaps,
  proto: fc.constantFrom('RTP/AVP', 'RTP/SAVP', 'UDP'),
});
const party = fc.array(section, { minLength: 1, maxLength: 2 });
const names = fc.array(
  fc.constantFrom('PCMU', 'PCMA', 'pcma/8000', 'all', 'telephone-event', 'opus', 'G722', 'CN', 'full'),
  { maxLength: 3 },
);
const codec = fc.record({ strip: names, mask: names, except: names, transcode: names }, { requiredKeys: [] });

function sdp(port: number, sections: { fmts: string[]; attrs: string[]; proto: string }[]): string {
  const lines = ['v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0'];
  sections.forEach((m, i) => {
    lines.push(`m=audio ${port + 2 * i} ${m.proto} ${m.fmts.join(' ')}`, ...m.attrs.map((a) => `a=${a}`));
  });
  return `${lines.join('\r\n')}\r\n`;
}

function checkSdp(text: string): void {
  const s = Sdp.parse(text);
  for (const m of s.media) assert.ok(m.port === 0 || m.formats.length > 0, `empty m= line:\n${text}`);
}

let n = 0;
let answered = 0;
let converted = 0;
test('fuzz: codec options on odd offers and answers answer SDP or an engine error, and free the ports', async () => {
  await fc.assert(
    fc.asyncProperty(party, party, codec, codec, fc.nat(5), async (offer, answer, oc, ac, pick) => {
      const callId = `fz-${n++}`;
      await exchange(fz, callId, async () => {
        const o = await engine.offer({ callId, fromTag: 'a', sdp: sdp(4000, offer), codec: oc });
        checkSdp(o.sdp);
        // Mostly, as callees do, the answer picks from what the offer we sent on lists (pick 0: free choice).
        if (pick > 0)
          Sdp.parse(o.sdp).media.forEach((m, i) => {
            const f = m.formats;
            if (answer[i] && f.length)
              answer[i].fmts = [...f.slice(pick % f.length), ...f.slice(0, pick % f.length)];
          });
        const a = await engine.answer({
          callId,
          fromTag: 'a',
          toTag: 'b',
          sdp: sdp(5000, answer),
          codec: ac,
        });
        checkSdp(a.sdp);
        answered++;
        const call = engine.calls.get(callId);
        if (call?.monologues.some((m) => m.media.some((x) => x.transcode))) converted++;
      });
    }),
    { numRuns: 300, seed: 2026_12_02 },
  );
  // The generator reaches the interesting paths: most exchanges complete, some of them converting.
  assert.ok(answered > 150, `${answered} of 300 answered`);
  assert.ok(converted > 3, `${converted} converted`);
});
