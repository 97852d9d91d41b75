/**
 * One call through an ng proxy: offer, answer, query, delete.
 *
 *   npx tsx examples/offer-answer.ts [udp://127.0.0.1:2223]
 *
 * Works against `sipmedia proxy` or rtpengine. In your own code, import from 'sipmedia/client'.
 */
import { NgClient, NgError, NgTimeoutError } from '../src/client/index.js';

const proxy = process.argv[2] ?? 'udp://127.0.0.1:2223';
const ng = new NgClient(proxy, { timeoutMs: 3000 });

const callerSdp = [
  'v=0',
  'o=alice 1 1 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 40000 RTP/AVP 8 101',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  '',
].join('\r\n');
const calleeSdp = callerSdp.replace('o=alice', 'o=bob').replace('m=audio 40000', 'm=audio 40010');

const callId = `example-${Date.now()}@127.0.0.1`;
try {
  await ng.ping();
  const offer = await ng.offer({
    callId,
    fromTag: 'alice-tag',
    sdp: callerSdp,
    receivedFrom: '127.0.0.1',
    flags: ['trust address'],
    replace: ['origin', 'session-connection'],
    ice: 'remove',
  });
  console.log('SDP for the callee:\n' + offer.sdp);

  const answer = await ng.answer({ callId, fromTag: 'alice-tag', toTag: 'bob-tag', sdp: calleeSdp });
  console.log('SDP for the caller:\n' + answer.sdp);

  const q = await ng.query({ callId });
  for (const tag of Object.values(q.tags)) {
    const ports = tag.medias.flatMap((m) => m.streams.map((s) => s['local port']));
    console.log(`participant ${tag.tag}: proxy ports ${ports.join(', ')}`);
  }

  const del = await ng.delete({ callId });
  console.log(`deleted; RTP packets relayed: ${del.totals?.RTP.packets ?? 0}`);
} catch (e) {
  if (e instanceof NgTimeoutError) console.error(`no ng proxy answering at ${proxy}: ${e.message}`);
  else if (e instanceof NgError) console.error(`the proxy refused: ${e.errorReason}`);
  else throw e;
  process.exitCode = 1;
} finally {
  ng.close();
}
