/**
 * Runs inside the relay namespace (ng listens on that namespace's 127.0.0.1) and sets calls up for the kernel
 * bench, driven by JSON lines on stdin; answers one JSON line per request on stdout.
 *
 *   {"op":"ping","port":P,"tries":N}                        -> {"up":true|false}
 *   {"op":"setup","port":P,"calls":N,"aAddr","bAddr","aPorts":[..],"bPorts":[..]}
 *                                                          -> {"ports":[[toRelayFromA,toRelayFromB],..],"setupMs"}
 * Each party's SDP carries its real namespace address, so the relay's first endpoint is already right and
 * learning only confirms it.
 */
import { createInterface } from 'node:readline';
import { NgBench, setupCall } from '../lib/ng.mjs';

const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const clients = new Map();
const client = (port) => {
  let c = clients.get(port);
  if (!c) {
    c = new NgBench(port);
    clients.set(port, c);
  }
  return c;
};

async function setupOne(ng, callId, m, i) {
  const c = await setupCall(
    ng,
    callId,
    m.aPorts[i % m.aPorts.length],
    m.bPorts[i % m.bPorts.length],
    m.aAddr,
    m.bAddr,
  );
  return [c.toProxyFromA, c.toProxyFromB];
}

async function handle(m) {
  const ng = client(m.port);
  if (m.op === 'ping') {
    for (let i = 0; i < (m.tries ?? 100); i++) {
      try {
        if ((await ng.request({ command: 'ping' }, 100)).body.result === 'pong') return { up: true };
      } catch {}
    }
    return { up: false };
  }
  if (m.op === 'setup') {
    const t0 = performance.now();
    const ports = new Array(m.calls);
    let next = 0;
    const worker = async () => {
      while (next < m.calls) {
        const i = next++;
        ports[i] = await setupOne(ng, `kbench-${m.run}-${i}`, m, i);
      }
    };
    await Promise.all(Array.from({ length: Math.min(16, m.calls) }, worker));
    return { ports, setupMs: performance.now() - t0 };
  }
  throw new Error(`unknown op ${m.op}`);
}

createInterface({ input: process.stdin })
  .on('line', async (line) => {
    let m;
    try {
      m = JSON.parse(line);
      out({ id: m.id, ...(await handle(m)) });
    } catch (e) {
      out({ id: m?.id, error: String(e?.message ?? e) });
    }
  })
  .on('close', () => {
    for (const c of clients.values()) c.close();
  });
