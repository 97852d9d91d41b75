#!/usr/bin/env node
// Playback benchmark: CPU of the `sipmedia proxy` daemon per concurrent `play media` stream.
// Usage: npx tsc -p tsconfig.build.json && node bench/playback.mjs [N ...]   (default: 1 10 50 100)
// Spawns the built daemon on loopback, sets up N calls whose B side points at one local sink socket,
// starts N playbacks of a 30 s 8 kHz WAV, and samples the daemon's utime+stime from /proc/<pid>/stat
// over a fixed window. Prints a table: CPU % of one core, per stream, and the packet rate received.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatNgMessage, parseNgMessage } from '../dist/wire/ng-message.js';
import { wavHeader } from '../dist/media/wav-writer.js';

const counts = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
const Ns = counts.length ? counts : [1, 10, 50, 100];
const WINDOW_MS = 5000;
const BASE = 41000 + Math.floor(Math.random() * 50) * 200;
const NG = BASE;
const PORT_MIN = BASE + 10;
const PORT_MAX = PORT_MIN + 4 * Math.max(...Ns) + 20;
const TICK = 100; // USER_HZ: /proc/<pid>/stat times are in clock ticks (100 per second on Linux)

const dir = mkdtempSync(join(tmpdir(), 'sipmedia-bench-'));
const seconds = 30;
const pcm = Buffer.alloc(8000 * seconds * 2);
for (let i = 0; i < 8000 * seconds; i++)
  pcm.writeInt16LE(Math.round(12000 * Math.sin((2 * Math.PI * 440 * i) / 8000)), i * 2);
writeFileSync(join(dir, 'moh.wav'), Buffer.concat([wavHeader(8000, 1, pcm.length), pcm]));

const bin = fileURLToPath(new URL('../bin/sipmedia.js', import.meta.url));
const proc = spawn(
  process.execPath,
  [
    bin,
    'proxy',
    '--interface=127.0.0.1',
    `--listen-ng=127.0.0.1:${NG}`,
    `--port-min=${PORT_MIN}`,
    `--port-max=${PORT_MAX}`,
    `--media-dir=${dir}`,
    '--delete-delay=0',
    '--log-level=3',
  ],
  { stdio: ['ignore', 'inherit', 'inherit'] },
);

const ng = createSocket('udp4');
const pending = new Map();
ng.on('message', (m) => {
  const r = parseNgMessage(m);
  pending.get(r.cookie)?.(r.body);
  pending.delete(r.cookie);
});
let cookie = 0;
function request(body, timeoutMs = 3000) {
  const c = `b${cookie++}`;
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      pending.delete(c);
      reject(new Error(`ng ${body.command}: timeout`));
    }, timeoutMs);
    pending.set(c, (d) => {
      clearTimeout(t);
      resolve(d);
    });
    ng.send(formatNgMessage(c, body), NG, '127.0.0.1');
  });
}

const sink = createSocket('udp4');
let received = 0;
sink.on('message', () => {
  received++;
});
await new Promise((r) => sink.bind(0, '127.0.0.1', r));
const sinkPort = sink.address().port;
const sdp = (port) =>
  `v=0\r\no=b 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n`;

function cpuTicks() {
  const f = readFileSync(`/proc/${proc.pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]); // utime, stime (fields 14 and 15)
}
async function measure(ms) {
  const c0 = cpuTicks();
  const r0 = received;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const wall = (performance.now() - t0) / 1000;
  return { cpu: ((cpuTicks() - c0) / TICK / wall) * 100, pps: (received - r0) / wall };
}

try {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await request({ command: 'ping' }, 200)).result === 'pong') break;
    } catch {}
  }
  const rows = [];
  const idle = await measure(2000);
  rows.push({ streams: 0, cpu: idle.cpu, pps: idle.pps });
  for (const n of Ns) {
    const ids = [];
    for (let i = 0; i < n; i++) {
      const id = `bench-${n}-${i}`;
      ids.push(id);
      const o = await request({ command: 'offer', 'call-id': id, 'from-tag': 'a', sdp: sdp(9) });
      if (o.result !== 'ok') throw new Error(JSON.stringify(o));
      const a = await request({
        command: 'answer',
        'call-id': id,
        'from-tag': 'a',
        'to-tag': 'b',
        sdp: sdp(sinkPort),
      });
      if (a.result !== 'ok') throw new Error(JSON.stringify(a));
    }
    for (const id of ids) {
      const r = await request({
        command: 'play media',
        'call-id': id,
        'from-tag': 'a',
        file: 'moh.wav',
        'repeat-times': 10,
      });
      if (r.result !== 'ok') throw new Error(JSON.stringify(r));
    }
    await new Promise((r) => setTimeout(r, 500)); // warm-up
    const m = await measure(WINDOW_MS);
    rows.push({ streams: n, cpu: m.cpu, pps: m.pps });
    for (const id of ids) await request({ command: 'delete', 'call-id': id });
  }
  console.log(`\nPlayback benchmark (${WINDOW_MS / 1000} s window, PCMU 20 ms, Node ${process.version})\n`);
  console.log(
    '| playbacks | daemon CPU (% of one core) | CPU per playback (%) | packets/s received | expected |',
  );
  console.log('|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const per = r.streams ? ((r.cpu - idle.cpu) / r.streams).toFixed(3) : '-';
    console.log(`| ${r.streams} | ${r.cpu.toFixed(1)} | ${per} | ${Math.round(r.pps)} | ${r.streams * 50} |`);
  }
} finally {
  proc.kill('SIGTERM');
  ng.close();
  sink.close();
  rmSync(dir, { recursive: true, force: true });
}
