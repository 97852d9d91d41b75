import { startProxy } from './test/helpers/proxy.js';
import { startRtpengine } from './test/helpers/rtpengine.js';
import { Endpoint, rtp, sdpPorts } from './test/helpers/endpoint.js';
const ours = await startProxy(['--delete-delay=0']);
const theirs = await startRtpengine();
const plain = (port: number) => `v=0\r\no=ep 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n`;
const port = ours.spare[20]!;
const a = await Endpoint.open(port); const b = await Endpoint.open(port + 1);
const id = { 'call-id': 'dtls-x', 'from-tag': 'A' };
const o1: any = await ours.ng.request({ command: 'offer', ...id, sdp: plain(port), 'transport-protocol': 'RTP/SAVP' });
console.log('o1', o1.sdp);
const o2: any = await theirs.ng.request({ command: 'offer', ...id, sdp: o1.sdp, 'transport-protocol': 'RTP/AVP' });
const a2: any = await theirs.ng.request({ command: 'answer', ...id, 'to-tag': 'B', sdp: plain(port + 1) });
console.log('a2', a2.sdp);
const a1: any = await ours.ng.request({ command: 'answer', ...id, 'to-tag': 'B', sdp: a2.sdp });
const toFirst = sdpPorts(a1.sdp).rtp;
for (let i = 0; i < 50; i++) { a.send(rtp(0, i, i * 160, 1, Buffer.alloc(160, 1)), toFirst); await new Promise((r) => setTimeout(r, 20)); }
console.log('b got', (b as any).queue.length);
const toSecond = sdpPorts(o2.sdp).rtp;
for (let i = 0; i < 50; i++) { b.send(rtp(0, i, i * 160, 2, Buffer.alloc(160, 2)), toSecond); await new Promise((r) => setTimeout(r, 20)); }
console.log('a got', (a as any).queue.length);
const q: any = await ours.ng.request({ command: 'query', ...id });
console.log(JSON.stringify(q.tags, null, 0).slice(0, 3000));
console.log(theirs.output().split('\n').filter((l) => /DTLS|dtls|SRTP|crypto|error|rror/i.test(l)).slice(-30).join('\n'));
console.log('--- ours'); console.log(ours.output().slice(-2000));
a.close(); b.close(); await ours.stop(); await theirs.stop();
