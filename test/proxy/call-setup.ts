/** Sets up a two-party call through a running proxy with real loopback endpoints, for black-box tests. */
import type { BDict } from '../../src/wire/bencode.js';
import { Endpoint, audioSdp, sdpPorts } from '../helpers/endpoint.js';
import type { RunningProxy } from '../helpers/proxy.js';

export interface TestCall {
  callId: string;
  a: Endpoint;
  aRtcp: Endpoint;
  b: Endpoint;
  bRtcp: Endpoint;
  /** Where A sends (from the answer A got) and where B sends (from the offer B got). */
  toProxyFromA: { rtp: number; rtcp: number; address: string };
  toProxyFromB: { rtp: number; rtcp: number; address: string };
  offer: BDict;
  answer: BDict;
  close: () => void;
}

let seq = 0;

export async function setupCall(
  p: RunningProxy,
  o: {
    offerExtra?: BDict;
    answerExtra?: BDict;
    aAddress?: string;
    bAddress?: string;
    aSdpExtra?: string;
    bSdpExtra?: string;
    portBase?: number;
  } = {},
): Promise<TestCall> {
  const n = seq++;
  const base = o.portBase ?? p.spare[(n * 4) % 40]!;
  const aAddr = o.aAddress ?? '127.0.0.1';
  const bAddr = o.bAddress ?? '127.0.0.1';
  const a = await Endpoint.open(base, aAddr);
  const aRtcp = await Endpoint.open(base + 1, aAddr);
  const b = await Endpoint.open(base + 2, bAddr);
  const bRtcp = await Endpoint.open(base + 3, bAddr);
  const callId = `call-${process.pid}-${n}`;
  const offer = await p.ng.request({
    command: 'offer',
    'call-id': callId,
    'from-tag': 'tagA',
    sdp: audioSdp(aAddr, base, o.aSdpExtra),
    ...o.offerExtra,
  });
  if (offer.result !== 'ok') throw new Error(`offer failed: ${JSON.stringify(offer)}`);
  const answer = await p.ng.request({
    command: 'answer',
    'call-id': callId,
    'from-tag': 'tagA',
    'to-tag': 'tagB',
    sdp: audioSdp(bAddr, base + 2, o.bSdpExtra),
    ...o.answerExtra,
  });
  if (answer.result !== 'ok') throw new Error(`answer failed: ${JSON.stringify(answer)}`);
  const op = sdpPorts(String(offer.sdp));
  const ap = sdpPorts(String(answer.sdp));
  return {
    callId,
    a,
    aRtcp,
    b,
    bRtcp,
    toProxyFromB: { rtp: op.rtp, rtcp: op.rtcp ?? op.rtp + 1, address: op.address },
    toProxyFromA: { rtp: ap.rtp, rtcp: ap.rtcp ?? ap.rtp + 1, address: ap.address },
    offer,
    answer,
    close: () => {
      for (const e of [a, aRtcp, b, bRtcp]) e.close();
    },
  };
}
