#!/usr/bin/env node
// Media server CPU per call: N concurrent sipp calls, each answered, played a prompt of D seconds and hung
// up by the server (the rms example configuration). Reports the server process's CPU time per call and per
// second of audio. Bounded: one batch of calls, a hard time limit. Needs dist/ (npx tsc -p
// tsconfig.build.json) and sipp. Usage: node bench/media-server.mjs [calls=100] [seconds=3]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startMediaServer } from '../dist/apps/media-server/index.js';

const CALLS = Math.min(Number(process.argv[2] ?? 100), 500);
const SECONDS = Math.min(Number(process.argv[3] ?? 3), 30);
const SIP = Number(process.env.BENCH_SIP_PORT ?? 50060);
const RTP_MIN = Number(process.env.BENCH_RTP_MIN ?? 51000);
const SINK = SIP + 2;
const LIMIT_MS = 30_000 + SECONDS * 1000 * 2;
const root = dirname(fileURLToPath(import.meta.url));
const scenario = join(root, '../test/e2e/fixtures/media-server/uac-play.xml');

const dir = mkdtempSync(join(tmpdir(), 'ms-bench-'));
const rate = 16000;
const frames = rate * SECONDS;
const data = Buffer.alloc(frames * 2);
for (let i = 0; i < frames; i++)
  data.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)), i * 2);
const head = Buffer.alloc(44);
head.write('RIFF', 0);
head.writeUInt32LE(36 + data.length, 4);
head.write('WAVEfmt ', 8);
head.writeUInt32LE(16, 16);
head.writeUInt16LE(1, 20);
head.writeUInt16LE(1, 22);
head.writeUInt32LE(rate, 24);
head.writeUInt32LE(rate * 2, 28);
head.writeUInt16LE(2, 32);
head.writeUInt16LE(16, 34);
head.write('data', 36);
head.writeUInt32LE(data.length, 40);
writeFileSync(join(dir, 'prompt.wav'), Buffer.concat([head, data]));
mkdirSync(join(dir, 'sipp'));

// The caller's media: a separate process counting packets, so its work is not charged to the server.
const sink = spawn(
  process.execPath,
  [
    '-e',
    `const s=require('dgram').createSocket('udp4');let n=0;s.on('message',()=>n++);` +
      `s.bind(${SINK},'127.0.0.1');process.on('SIGTERM',()=>{console.log(n);process.exit(0)})`,
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
let sinkOut = '';
sink.stdout.on('data', (d) => {
  sinkOut += d;
});

const server = await startMediaServer({
  listen: `127.0.0.1:${SIP}`,
  rtpIp: '127.0.0.1',
  rtpPortMin: RTP_MIN,
  rtpPortMax: RTP_MIN + 2 * CALLS + 10,
  mediaDir: dir,
  play: 'prompt.wav',
  maxCalls: CALLS + 10,
});

const cpu0 = process.cpuUsage();
const t0 = performance.now();
const sipp = spawn(
  'sipp',
  [
    `127.0.0.1:${SIP}`,
    '-sf',
    scenario,
    '-i',
    '127.0.0.1',
    '-p',
    String(SIP + 1),
    '-cp',
    String(SIP + 3),
    '-m',
    String(CALLS),
    '-l',
    String(CALLS),
    '-r',
    String(Math.min(CALLS, 200)),
    '-key',
    'rtp_port',
    String(SINK),
    '-nostdin',
    '-trace_stat',
    '-stf',
    join(dir, 'stats.csv'),
  ],
  { cwd: join(dir, 'sipp'), stdio: 'ignore' },
);
const killer = setTimeout(() => sipp.kill('SIGKILL'), LIMIT_MS);
const code = await new Promise((r) => sipp.on('exit', (c) => r(c)));
clearTimeout(killer);
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const stats = server.stats();
await server.close(500);
sink.kill('SIGTERM');
await new Promise((r) => sink.on('exit', r));
rmSync(dir, { recursive: true, force: true });

const cpuMs = (cpu.user + cpu.system) / 1000;
const result = {
  calls: CALLS,
  promptSeconds: SECONDS,
  sippExit: code,
  completedCalls: stats.totalCalls,
  packetsAtCaller: Number(sinkOut.trim()),
  packetsExpected: CALLS * SECONDS * 50,
  wallMs: Math.round(wallMs),
  serverCpuMs: Math.round(cpuMs),
  cpuMsPerCall: +(cpuMs / CALLS).toFixed(2),
  cpuMsPerCallSecond: +(cpuMs / CALLS / SECONDS).toFixed(3),
  cpuPercentOfOneCore: +((cpuMs / wallMs) * 100).toFixed(1),
  node: process.version,
};
console.log(JSON.stringify(result, null, 2));
process.exit(code === 0 ? 0 : 1);
