/**
 * Acceptance: Kamailio 5.6 with its `rtpengine` module between a sipp UAC and a sipp UAS, RTP both ways.
 * 20 sequential and 10 concurrent calls complete; each sipp receives SDP carrying the proxy's address and
 * ports from its range; the proxy's ng counters show packets on every leg of every call.
 *
 * The proxy under test comes from E2E_PROXY=sipmedia|rtpengine (default sipmedia). The same scenario also
 * runs against Debian's rtpengine as a reference when it is installed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { kamailioInstalled } from '../helpers/kamailio.js';
import { type ProxyKind, proxyKindFromEnv, rtpengineInstalled } from '../helpers/rtpengine.js';
import { type SippResult, sippInstalled } from '../helpers/sipp.js';
import { runKamailioScenario, type ScenarioResult, UAC_MEDIA_IP, UAS_MEDIA_IP } from './kamailio-scenario.js';

const SEQUENTIAL = 20;
const CONCURRENT = 10;

function missingPeer(kind: ProxyKind): string | undefined {
  if (!kamailioInstalled()) return 'MISSING PEER: kamailio (with the rtpengine module) not installed';
  if (!sippInstalled()) return 'MISSING PEER: sipp not installed';
  if (kind === 'rtpengine' && !rtpengineInstalled()) return 'MISSING PEER: rtpengine not installed';
  return undefined;
}

/** Checks one SDP received by a sipp: it must point at the proxy (127.0.0.1, a port of its range). */
function assertProxySdp(sdp: string, r: ScenarioResult, who: string, ownMediaIp: string): void {
  const c = /^c=IN IP4 (\S+)$/m.exec(sdp)?.[1];
  const port = Number(/^m=audio (\d+) /m.exec(sdp)?.[1]);
  const o = /^o=\S+ \S+ \S+ IN IP4 (\S+)$/m.exec(sdp)?.[1];
  assert.equal(c, '127.0.0.1', `${who} got c=${c}, not the proxy address:\n${sdp}`);
  assert.notEqual(c, ownMediaIp);
  assert.ok(
    port >= r.proxy.portMin && port <= r.proxy.portMax,
    `${who} got m= port ${port}, outside the proxy range`,
  );
  // Kamailio asks for replace-origin: the o= address is the proxy's too.
  assert.equal(o, '127.0.0.1', `${who} got o= address ${o}`);
}

function assertScenario(r: ScenarioResult): void {
  const sipp = (name: string, x: SippResult): string =>
    `--- sipp ${name}: exit ${x.code}, ${x.successful} ok, ${x.failed} failed\n${x.errors}\n${x.output.slice(-1500)}`;
  const ctx = (): string =>
    `\n${r.logs().slice(-6000)}\n${sipp('uac-seq', r.sequential)}\n${sipp('uac-conc', r.concurrent)}\n${sipp('uas', r.uas)}`;
  assert.equal(r.sequential.code, 0, `sequential UAC exit code ${r.sequential.code}${ctx()}`);
  assert.equal(r.sequential.successful, SEQUENTIAL, `sequential calls successful${ctx()}`);
  assert.equal(r.sequential.failed, 0);
  assert.equal(r.concurrent.code, 0, `concurrent UAC exit code ${r.concurrent.code}${ctx()}`);
  assert.equal(r.concurrent.successful, CONCURRENT, `concurrent calls successful${ctx()}`);
  assert.equal(r.concurrent.failed, 0);
  assert.equal(r.uas.successful, SEQUENTIAL + CONCURRENT, 'the UAS completed every call');

  // Every 200 OK the UAC saw and every INVITE the UAS saw carried rewritten SDP.
  assert.equal(r.uacSdps.length, SEQUENTIAL + CONCURRENT, 'one answer SDP per call at the UAC');
  assert.equal(r.uasSdps.length, SEQUENTIAL + CONCURRENT, 'one offer SDP per call at the UAS');
  for (const s of r.uacSdps) assertProxySdp(s, r, 'UAC', UAC_MEDIA_IP);
  for (const s of r.uasSdps) assertProxySdp(s, r, 'UAS', UAS_MEDIA_IP);

  // Media went through the proxy on both legs of every call.
  assert.equal(r.uacCallIds.length, SEQUENTIAL + CONCURRENT);
  for (const id of r.uacCallIds)
    assert.ok(r.counters.has(id), `no ng query of call ${id} logged by Kamailio${ctx()}`);
  for (const [id, legs] of r.counters) {
    assert.equal(legs.length, 2, `call ${id}: expected 2 legs, got ${JSON.stringify(legs)}`);
    for (const leg of legs)
      assert.ok(leg.rtpPackets > 0, `call ${id} leg ${leg.tag}: no RTP through the proxy`);
  }
  // Every call was deleted on BYE.
  assert.deepEqual(r.proxyCallIds, [], 'the proxy still holds calls after all BYEs');
}

describe('Kamailio rtpengine module drives the media proxy', { concurrency: false }, () => {
  const kind = proxyKindFromEnv();

  test(`${kind}: ${SEQUENTIAL} sequential + ${CONCURRENT} concurrent calls with RTP both ways`, async (t) => {
    const missing = missingPeer(kind);
    if (missing) {
      t.skip(missing);
      return;
    }
    assertScenario(
      await runKamailioScenario(kind, { sequentialCalls: SEQUENTIAL, concurrentCalls: CONCURRENT }),
    );
  });

  test(`reference: the same scenario against Debian's rtpengine`, async (t) => {
    if (kind === 'rtpengine') {
      t.skip('E2E_PROXY=rtpengine: already covered above');
      return;
    }
    const missing = missingPeer('rtpengine');
    if (missing) {
      t.skip(missing);
      return;
    }
    assertScenario(
      await runKamailioScenario('rtpengine', { sequentialCalls: SEQUENTIAL, concurrentCalls: CONCURRENT }),
    );
  });
});
