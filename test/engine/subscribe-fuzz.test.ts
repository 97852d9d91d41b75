/**
 * Publish / subscribe fuzzed through the engine: any mix of publish, offer/answer, subscribe request, answer
 * and unsubscribe, with odd SDPs, tags and codec preferences, ends in a result or an engine/SDP error, and
 * deleting the call frees every port.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { EngineError } from '../../src/engine/options.js';
import { SdpError } from '../../src/wire/sdp.js';
import { exchange, fuzzEngine } from './fuzz-engine.js';

const f = fuzzEngine();
const tag = fc.constantFrom('A', 'B', 'P', 'C', 'sub', '');
const formats = fc.array(fc.constantFrom('0', '8', '9', '18', '101', '96', '127'), {
  minLength: 0,
  maxLength: 4,
});
const section = fc.record({
  port: fc.constantFrom(0, 4000, 4002, 65535),
  formats,
  direction: fc.constantFrom('sendrecv', 'sendonly', 'recvonly', 'inactive'),
  rtpmap: fc.boolean(),
});
const sdp = fc
  .array(section, { minLength: 0, maxLength: 3 })
  .map(
    (ms) =>
      `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n${ms
        .map(
          (m) =>
            `m=audio ${m.port} RTP/AVP ${m.formats.join(' ') || '0'}\r\n${
              m.rtpmap ? 'a=rtpmap:96 opus/48000/2\r\na=rtpmap:101 telephone-event/8000\r\n' : ''
            }a=${m.direction}\r\n`,
        )
        .join('')}`,
  );
const step = fc.oneof(
  fc.record({
    op: fc.constant('publish' as const),
    tag,
    sdp,
    accept: fc.array(fc.constantFrom('PCMA', 'opus', 'G722', 'any')),
  }),
  fc.record({ op: fc.constant('offer' as const), tag, sdp }),
  fc.record({ op: fc.constant('answer' as const), tag, sdp }),
  fc.record({
    op: fc.constant('subscribe' as const),
    tags: fc.array(tag, { maxLength: 3 }),
    all: fc.boolean(),
    to: fc.option(tag),
  }),
  fc.record({ op: fc.constant('subscribeAnswer' as const), to: tag, sdp }),
  fc.record({ op: fc.constant('unsubscribe' as const), to: tag }),
);

test('any sequence of publish/subscribe operations: a result or an error, and every port freed', async () => {
  let n = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 6 }), async (steps) => {
      const callId = `subfuzz-${n++}`;
      await exchange(f, callId, async () => {
        for (const s of steps) {
          try {
            if (s.op === 'publish')
              await f.engine.subscriptions.publish({ callId, fromTag: s.tag, sdp: s.sdp, accept: s.accept });
            else if (s.op === 'offer') await f.engine.offer({ callId, fromTag: s.tag || 'A', sdp: s.sdp });
            else if (s.op === 'answer')
              await f.engine.answer({ callId, fromTag: 'A', toTag: s.tag || 'B', sdp: s.sdp });
            else if (s.op === 'subscribe')
              await f.engine.subscriptions.subscribeRequest({
                callId,
                fromTags: s.all ? 'all' : s.tags,
                ...(s.to ? { toTag: s.to } : {}),
              });
            else if (s.op === 'subscribeAnswer')
              f.engine.subscriptions.subscribeAnswer({ callId, toTag: s.to, sdp: s.sdp });
            else f.engine.subscriptions.unsubscribe({ callId, toTag: s.to });
          } catch (e) {
            // Each step may fail on its own with an engine or SDP error; the sequence goes on.
            if (!(e instanceof EngineError || e instanceof SdpError)) throw e;
          }
        }
      });
    }),
    { numRuns: 150 },
  );
});

test('publishers and subscribers per call are bounded; a refused one leaves no ports behind', async () => {
  const callId = 'sub-bound';
  const sdp = (port: number) =>
    `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0\r\n`;
  await f.engine.offer({ callId, fromTag: 'A', sdp: sdp(4000) });
  await f.engine.answer({ callId, fromTag: 'A', toTag: 'B', sdp: sdp(4002) });
  const before = f.dataplane.openPairs;
  for (let i = 0; i < 32; i++)
    await f.engine.subscriptions.subscribeRequest({ callId, fromTags: ['A'], toTag: `s${i}` });
  assert.equal(f.dataplane.openPairs, before + 32);
  await assert.rejects(f.engine.subscriptions.subscribeRequest({ callId, fromTags: ['A'] }), EngineError);
  await assert.rejects(f.engine.subscriptions.publish({ callId, fromTag: 'P', sdp: sdp(4004) }), EngineError);
  assert.equal(f.dataplane.openPairs, before + 32, 'the refused ones bound nothing');
  // Replacing an existing subscriber is not a new one.
  await f.engine.subscriptions.subscribeRequest({ callId, fromTags: ['A'], toTag: 's0' });
  f.engine.delete({ callId });
  assert.equal(f.dataplane.openPairs, 0);
});
