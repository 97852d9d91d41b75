#!/usr/bin/env node
/**
 * SRTP benchmark: two relays of the same kind in a chain, A -> first (RTP/AVP to RTP/SAVP) -> second (RTP/SAVP
 * to RTP/AVP) -> B, so every packet is encrypted by one relay and decrypted by the other, and the load
 * generator at both ends sees plain RTP (loss and latency measured end to end). rtpengine (one thread each)
 * against sipmedia (native dataplane: SRTP in its worker; and the JavaScript dataplane), side by side, A/B/A/B;
 * the second sipmedia answers the first's SDES line (the DTLS offered next to it is not taken). rtpengine is
 * limited to AES_CM_128_HMAC_SHA1_80 (its `SDES-no-` flags), the suite sipmedia offers first, so both chains do
 * the same cryptography. Relay CPU = both relays' utime + stime over the generator's measured window.
 *
 *   npx tsc -p tsconfig.build.json && node bench/srtp.mjs [calls ...]   default: 50 100; about 2 minutes
 *   PLAIN=1 node bench/srtp.mjs ...      the same chain without SRTP (what SRTP adds at the same rate)
 *   ONLY=sipmedia-native node bench/srtp.mjs ...   one relay kind only
 */
import { spawn } from 'node:child_process';
import { fmt, median } from './lib/stats.mjs';
import { lock, unlock } from './lib/lock.mjs';
import { lineReader, readPorts, readWindow } from './lib/loadgen-io.mjs';
import { cpuSeconds } from './lib/proc.mjs';
import {
  hardStop,
  killAll,
  live,
  NG_PORT,
  relayVariants,
  rtpengineVersion,
  startRelay,
} from './lib/proxies.mjs';
import { buildLoadgen, LOADGEN, windowed } from './lib/relay-run.mjs';

const counts = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0 && n <= 1500);
const CALLS = counts.length ? counts : [50, 100];
const ROUNDS = 2;
const WARMUP_MS = 2000;
const MEASURE_MS = 5000;
const SECOND = { ngPort: NG_PORT + 1, mediaMin: 58010, mediaMax: 65500 };
const FIRST = { mediaMax: 58000 };
/** rtpengine offers a dozen suites; these flags leave AES_CM_128_HMAC_SHA1_80 first, as sipmedia offers it. */
const RTPENGINE_SDES = [
  'AEAD_AES_256_GCM',
  'AEAD_AES_128_GCM',
  'AES_256_CM_HMAC_SHA1_80',
  'AES_256_CM_HMAC_SHA1_32',
  'AES_192_CM_HMAC_SHA1_80',
  'AES_192_CM_HMAC_SHA1_32',
].map((s) => `SDES-no-${s}`);

const sdp = (port, who) =>
  `v=0\r\no=${who} 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n`;
const mediaPort = (text) => Number(/^m=audio (\d+) /m.exec(String(text))?.[1]);

async function request(ng, body) {
  const r = await ng.request(body);
  if (r.body.result !== 'ok') throw new Error(`${body.command}: ${r.body['error-reason'] ?? r.body.result}`);
  return String(r.body.sdp);
}

async function setupChain(first, second, i, aPort, bPort, flags) {
  const id = { 'call-id': `srtp-${i}`, 'from-tag': 'a-tag' };
  const o1 = await request(first.ng, {
    command: 'offer',
    ...id,
    sdp: sdp(aPort, 'a'),
    ...(process.env.PLAIN ? {} : { 'transport-protocol': 'RTP/SAVP' }),
    flags,
  });
  const o2 = await request(second.ng, {
    command: 'offer',
    ...id,
    sdp: o1,
    ...(process.env.PLAIN ? {} : { 'transport-protocol': 'RTP/AVP' }),
    flags,
  });
  const a2 = await request(second.ng, { command: 'answer', ...id, 'to-tag': 'b-tag', sdp: sdp(bPort, 'b') });
  const a1 = await request(first.ng, { command: 'answer', ...id, 'to-tag': 'b-tag', sdp: a2 });
  return `${mediaPort(a1)} ${mediaPort(o2)}\n`;
}

async function run(variant, calls) {
  const first = await startRelay(variant, FIRST);
  const second = await startRelay(variant, SECOND);
  const gen = spawn(LOADGEN, [String(calls), String(WARMUP_MS), String(MEASURE_MS), '8'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  live.add(gen);
  const exit = new Promise((r) => gen.on('exit', r));
  const killer = setTimeout(() => gen.kill('SIGKILL'), WARMUP_MS + MEASURE_MS + 60_000);
  try {
    const next = lineReader(gen.stdout);
    const { aPorts, bPorts } = await readPorts(next);
    const flags = variant.kind === 'rtpengine' ? RTPENGINE_SDES : [];
    const lines = new Array(calls);
    await windowed(calls, 16, async (i) => {
      lines[i] = await setupChain(
        first,
        second,
        i,
        aPorts[i % aPorts.length],
        bPorts[i % bPorts.length],
        flags,
      );
    });
    gen.stdin.write(`${lines.join('')}GO\n`);
    const sample = () => ({ cpu: cpuSeconds(first.pid) + cpuSeconds(second.pid), t: performance.now() });
    const { start, end, result } = await readWindow(next, sample);
    await exit;
    const secs = (end.t - start.t) / 1000;
    const cpu = end.cpu - start.cpu;
    return {
      relay: variant.name,
      calls,
      ...result,
      relayCores: cpu / secs,
      pktsPerCpuS: result.received / cpu,
    };
  } finally {
    clearTimeout(killer);
    if (gen.exitCode === null) gen.kill('SIGKILL');
    live.delete(gen);
    await first.stop();
    await second.stop();
  }
}

lock();
hardStop(10 * 60_000);
try {
  buildLoadgen();
  const variants = relayVariants({ nativeThreads: [1], js: true }).filter(
    (v) => v.name !== 'rtpengine-2t' && (!process.env.ONLY || v.name === process.env.ONLY),
  );
  console.log(
    `SRTP chain (AES_CM_128_HMAC_SHA1_80); rtpengine ${rtpengineVersion() || 'not installed'}; relays: ${variants.map((v) => v.name).join(', ')}`,
  );
  const rows = [];
  for (const calls of CALLS)
    for (let r = 0; r < ROUNDS; r++)
      for (const v of variants) {
        const x = await run(v, calls);
        rows.push(x);
        console.log(
          `${v.name.padEnd(16)} ${String(calls).padStart(4)} calls: ${fmt(x.received)} packets received, loss ${fmt(x.loss * 100, 2)} %, p50/p99 ${x.p50_us}/${x.p99_us} us, two relays ${fmt(x.relayCores, 3)} cores, ${fmt(x.pktsPerCpuS)} packets per CPU-s`,
        );
      }
  console.log(
    '\n| calls | relays | loss % | p50 / p99 (us) | both relays (cores) | packets per relay CPU-s (median) |',
  );
  console.log('|---|---|---|---|---|---|');
  for (const calls of CALLS) {
    const med = {};
    for (const v of variants) {
      const xs = rows.filter((x) => x.relay === v.name && x.calls === calls);
      med[v.name] = median(xs.map((x) => x.pktsPerCpuS));
      console.log(
        `| ${calls} | 2 x ${v.name} | ${fmt(median(xs.map((x) => x.loss * 100)), 2)} | ${fmt(median(xs.map((x) => x.p50_us)))} / ${fmt(median(xs.map((x) => x.p99_us)))} | ${fmt(median(xs.map((x) => x.relayCores)), 3)} | ${fmt(med[v.name])} |`,
      );
    }
    if (med['sipmedia-native'] && med['rtpengine-1t'])
      console.log(`| ${calls} | ratio | | | | ${fmt(med['sipmedia-native'] / med['rtpengine-1t'], 2)} x |`);
  }
} finally {
  killAll();
  unlock();
}
