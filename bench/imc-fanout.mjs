#!/usr/bin/env node
/**
 * imc fan-out: one MESSAGE to a room of N members (default 500) becomes N-1 MESSAGEs. Times from sending
 * the MESSAGE until the receiver has answered every fanned-out MESSAGE, over a few rounds.
 * The service runs as its own process (`sipmedia imc` from dist/, SQLite file); this process is the
 * receiver for all members (the service's outbound proxy) and answers 200 to each MESSAGE.
 *
 *   npx tsc -p tsconfig.build.json && node bench/imc-fanout.mjs [members=500] [rounds=5]
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImcStore } from '../dist/store/imc-store.js';
import { openSqlStore } from '../dist/store/sql.js';
import { buildResponse, parseMessage, serializeMessage } from '../dist/wire/sip/index.js';

const MEMBERS = Math.min(Math.max(Number(process.argv[2] ?? 500), 2), 5000);
const ROUNDS = Math.min(Math.max(Number(process.argv[3] ?? 5), 1), 20);
const DOMAIN = 'bench.example.com';
const PORT = 41000 + Math.floor(Math.random() * 2000);
const RX_PORT = PORT + 1;

const dir = mkdtempSync(join(tmpdir(), 'imc-bench-'));
const db = `sqlite:${join(dir, 'imc.sqlite')}`;

// A room with MEMBERS members, written straight into the database.
{
  const sql = await openSqlStore(db);
  const store = new ImcStore(sql.db);
  const room = await store.createRoom('bench', DOMAIN, 0, { user: 'u0', domain: DOMAIN }, 1);
  for (let i = 1; i < MEMBERS; i++) await store.addMember(room.id, { user: `u${i}`, domain: DOMAIN }, 0);
  await sql.close();
}

const child = spawn(
  process.execPath,
  [
    '--input-type=module',
    '-e',
    "const { runImc } = await import('./dist/cli/imc.js'); process.exitCode = await runImc(process.argv.slice(1));",
    '--',
    `--listen=127.0.0.1:${PORT}`,
    `--domain=${DOMAIN}`,
    `--db=${db}`,
    `--outbound-proxy=sip:127.0.0.1:${RX_PORT}`,
    '--max-members=10000',
    '--log-level=3',
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
await new Promise((resolve, reject) => {
  const t = setTimeout(() => reject(new Error('imc did not start')), 20_000);
  child.stdout.on('data', (d) => {
    if (String(d).includes('imc ready')) {
      clearTimeout(t);
      resolve();
    }
  });
  child.on('exit', () => reject(new Error('imc exited')));
});

// The receiver: answers every request 200 and counts the relayed texts per round.
const rx = createSocket('udp4');
let got = 0;
let onAll = () => {};
rx.on('message', (buf, rinfo) => {
  let msg;
  try {
    msg = parseMessage(buf);
  } catch {
    return;
  }
  if (msg.kind !== 'request') return;
  rx.send(serializeMessage(buildResponse(msg, 200)), rinfo.port, rinfo.address);
  if (msg.body.toString().startsWith('[u0]: ')) {
    got++;
    if (got === MEMBERS - 1) onAll();
  }
});
await new Promise((r) => rx.bind(RX_PORT, '127.0.0.1', r));

function sendText(round) {
  const branch = `z9hG4bKbench${round}${Date.now()}`;
  const body = `round ${round}`;
  const req = [
    `MESSAGE sip:bench@${DOMAIN} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${RX_PORT};branch=${branch};rport`,
    'Max-Forwards: 70',
    `From: <sip:u0@${DOMAIN}>;tag=b${round}`,
    `To: <sip:bench@${DOMAIN}>`,
    `Call-ID: bench-${round}-${branch}`,
    'CSeq: 1 MESSAGE',
    'Content-Type: text/plain',
    `Content-Length: ${body.length}`,
    '',
    body,
  ].join('\r\n');
  rx.send(req, PORT, '127.0.0.1');
}

const results = [];
try {
  for (let round = 0; round < ROUNDS; round++) {
    got = 0;
    const t0 = process.hrtime.bigint();
    const done = new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`round ${round}: only ${got}/${MEMBERS - 1} after 30 s`)),
        30_000,
      );
      onAll = () => {
        clearTimeout(t);
        resolve();
      };
    });
    sendText(round);
    await done;
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    results.push(ms);
    // Let the service's transactions settle before the next round.
    await new Promise((r) => setTimeout(r, 300));
  }
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));
  rx.close();
  rmSync(dir, { recursive: true, force: true });
}

const sorted = [...results].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)];
const rate = ((MEMBERS - 1) / median) * 1000;
console.log(`members: ${MEMBERS}, fanned-out MESSAGEs per round: ${MEMBERS - 1}, rounds: ${ROUNDS}`);
console.log(`round times (ms): ${results.map((r) => r.toFixed(1)).join(', ')}`);
console.log(
  `median: ${median.toFixed(1)} ms, best: ${sorted[0].toFixed(1)} ms, ${rate.toFixed(0)} MESSAGEs/s (median)`,
);
