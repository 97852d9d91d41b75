/** A lean ng-over-UDP requester that times each round trip (the bench's own, so it adds little overhead). */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { formatNgMessage, parseNgMessage } from '../../dist/wire/ng-message.js';

export class NgBench {
  constructor(port, host = '127.0.0.1') {
    this.port = port;
    this.host = host;
    this.pending = new Map();
    this.prefix = randomBytes(4).toString('hex');
    this.n = 0;
    this.sock = createSocket('udp4');
    this.sock.on('message', (msg) => {
      let m;
      try {
        m = parseNgMessage(msg);
      } catch {
        return;
      }
      const p = this.pending.get(m.cookie);
      if (!p) return;
      this.pending.delete(m.cookie);
      clearTimeout(p.timer);
      p.resolve({ body: m.body, rttUs: Number(process.hrtime.bigint() - p.t0) / 1000 });
    });
  }

  /** Resolves with `{ body, rttUs }`; rejects after `timeoutMs`. */
  request(body, timeoutMs = 2000) {
    const cookie = `${this.prefix}${(this.n++).toString(36)}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(cookie);
        reject(new Error(`ng ${body.command}: no reply in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(cookie, { resolve, timer, t0: process.hrtime.bigint() });
      this.sock.send(formatNgMessage(cookie, body), this.port, this.host);
    });
  }

  close() {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    this.sock.close();
  }
}

/** A party's SDP (`law`: PCMU, PCMA or G722; + telephone-event) at `addr`:`port`. */
export function audioSdp(port, origin = 'bench', addr = '127.0.0.1', law = 'PCMU') {
  const pt = { PCMU: 0, PCMA: 8, G722: 9 }[law];
  return (
    `v=0\r\no=${origin} 1 1 IN IP4 ${addr}\r\ns=-\r\nc=IN IP4 ${addr}\r\nt=0 0\r\n` +
    `m=audio ${port} RTP/AVP ${pt} 101\r\na=rtpmap:${pt} ${law}/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n`
  );
}

/** The media port of the first m= line of an SDP reply. */
export function mediaPort(sdp) {
  const m = /^m=audio (\d+) /m.exec(String(sdp));
  if (!m) throw new Error('no m=audio line in reply SDP');
  return Number(m[1]);
}

/**
 * Offer + answer for one call. `aPort`/`bPort` are the parties' advertised RTP ports (at `aAddr`/`bAddr`).
 * With `transcode` ({ from: 'PCMU' | 'G722' }), A offers that codec with `codec: { transcode: [PCMA] }` and
 * B answers PCMA. Returns the proxy ports each party sends to and the round-trip times.
 */
export async function setupCall(
  ng,
  callId,
  aPort,
  bPort,
  aAddr = '127.0.0.1',
  bAddr = '127.0.0.1',
  transcode = undefined,
) {
  const offer = await ng.request({
    command: 'offer',
    'call-id': callId,
    'from-tag': 'a-tag',
    sdp: audioSdp(aPort, 'a', aAddr, transcode?.from ?? 'PCMU'),
    ...(transcode ? { codec: { transcode: ['PCMA'] } } : {}),
  });
  if (offer.body.result !== 'ok')
    throw new Error(`offer: ${offer.body['error-reason'] ?? offer.body.result}`);
  const answer = await ng.request({
    command: 'answer',
    'call-id': callId,
    'from-tag': 'a-tag',
    'to-tag': 'b-tag',
    sdp: audioSdp(bPort, 'b', bAddr, transcode ? 'PCMA' : 'PCMU'),
  });
  if (answer.body.result !== 'ok')
    throw new Error(`answer: ${answer.body['error-reason'] ?? answer.body.result}`);
  return {
    // A sends to the port the answer gave A; B sends to the port the offer gave B.
    toProxyFromA: mediaPort(answer.body.sdp),
    toProxyFromB: mediaPort(offer.body.sdp),
    offerUs: offer.rttUs,
    answerUs: answer.rttUs,
  };
}
