/**
 * Every NgClient method against our own `sipmedia proxy` (UDP and TCP). The commands the proxy implements
 * must succeed; for the others the proxy must still answer (ok or an ng error), which the client surfaces as
 * a reply or an NgError — never a timeout. Skips loudly until the proxy is built.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { NgClient } from '../../src/client/client.js';
import { NG_COMMANDS, type NgMethod } from '../../src/client/commands.js';
import { NgError } from '../../src/client/errors.js';
import { startProxy } from '../helpers/proxy.js';

let proxy: Awaited<ReturnType<typeof startProxy>> | undefined;
let skip: string | false = false;
try {
  proxy = await startProxy(['--delete-delay=0']);
} catch (e) {
  skip = `MISSING PEER: sipmedia proxy not built yet (${(e as Error).message.split('\n')[0]})`;
  console.log(skip);
}

function sdpAt(port: number, extra = ''): string {
  return (
    'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n' +
    `m=audio ${port} RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n${extra}`
  );
}

describe('NgClient against sipmedia proxy', { skip }, () => {
  after(() => proxy?.stop());

  for (const uriOf of [(p: number) => `udp://127.0.0.1:${p}`, (p: number) => `tcp://127.0.0.1:${p}`]) {
    test(`the common commands over ${uriOf(0).slice(0, 3)}`, async () => {
      const p = proxy!;
      const ng = new NgClient(uriOf(uriOf(0).startsWith('udp') ? p.ngPort : p.tcpNgPort), {
        timeoutMs: 3000,
      });
      try {
        const callId = `proxy-${uriOf(0).slice(0, 3)}`;
        assert.equal((await ng.ping()).result, 'pong');
        const offer = await ng.offer({
          callId,
          fromTag: 'A',
          sdp: sdpAt(p.spare[0]!),
          receivedFrom: '127.0.0.1',
          flags: ['trust address'],
          replace: ['origin', 'session-connection'],
          ice: 'remove',
          transportProtocol: 'RTP/AVP',
        });
        const port = Number(/m=audio (\d+)/.exec(offer.sdp)?.[1]);
        assert.ok(port >= p.portMin && port <= p.portMax, `media port ${port} from the proxy's range`);
        const answer = await ng.answer({ callId, fromTag: 'A', toTag: 'B', sdp: sdpAt(p.spare[2]!) });
        assert.match(answer.sdp, /m=audio \d+ RTP\/AVP 8/);
        const q = await ng.query({ callId });
        assert.deepEqual(Object.keys(q.tags).sort(), ['A', 'B']);
        assert.ok((await ng.list()).calls.includes(callId));
        assert.equal(typeof (await ng.statistics()).statistics, 'object');
        assert.equal((await ng.delete({ callId })).result, 'ok');
        await assert.rejects(ng.query({ callId }), NgError);
      } finally {
        ng.close();
      }
    });
  }

  test('every other method gets an answer (ok or an ng error), never a timeout', async (t) => {
    const p = proxy!;
    const ng = new NgClient(`udp://127.0.0.1:${p.ngPort}`, { timeoutMs: 3000 });
    const callId = 'proxy-all';
    const call = { callId, fromTag: 'A' };
    try {
      await ng.offer({ ...call, sdp: sdpAt(p.spare[4]!) });
      await ng.answer({ ...call, toTag: 'B', sdp: sdpAt(p.spare[6]!) });
      const runs: Record<
        Exclude<NgMethod, 'ping' | 'offer' | 'answer' | 'delete' | 'query' | 'list' | 'statistics'>,
        () => Promise<unknown>
      > = {
        startRecording: () => ng.startRecording({ callId }),
        stopRecording: () => ng.stopRecording({ callId }),
        pauseRecording: () => ng.pauseRecording({ callId }),
        startForwarding: () => ng.startForwarding({ callId }),
        stopForwarding: () => ng.stopForwarding({ callId }),
        blockDTMF: () => ng.blockDTMF(call),
        unblockDTMF: () => ng.unblockDTMF(call),
        blockMedia: () => ng.blockMedia(call),
        unblockMedia: () => ng.unblockMedia(call),
        silenceMedia: () => ng.silenceMedia(call),
        unsilenceMedia: () => ng.unsilenceMedia(call),
        playMedia: () => ng.playMedia({ ...call, file: '/nonexistent.wav' }),
        stopMedia: () => ng.stopMedia(call),
        playDTMF: () => ng.playDTMF({ ...call, code: '5' }),
        publish: () =>
          ng.publish({ callId: 'proxy-pub', fromTag: 'P', sdp: sdpAt(p.spare[8]!, 'a=sendonly\r\n') }),
        subscribeRequest: () => ng.subscribeRequest({ callId: 'proxy-pub', fromTag: 'P' }),
        subscribeAnswer: () =>
          ng.subscribeAnswer({ callId: 'proxy-pub', toTag: 'S', sdp: sdpAt(p.spare[10]!) }),
        unsubscribe: () => ng.unsubscribe({ callId: 'proxy-pub', toTag: 'S' }),
        connect: () => ng.connect({ ...call, toTag: 'B' }),
      };
      const notYet: string[] = [];
      for (const [method, run] of Object.entries(runs)) {
        try {
          await run();
        } catch (e) {
          assert.ok(e instanceof NgError, `${method}: ${String(e)}`);
          notYet.push(`${NG_COMMANDS[method as NgMethod]} (${e.errorReason})`);
        }
      }
      if (notYet.length) t.diagnostic(`proxy answered with an error: ${notYet.join('; ')}`);
      await ng.delete({ callId });
    } finally {
      ng.close();
    }
  });
});
