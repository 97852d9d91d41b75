/**
 * Acceptance of the media server with Debian's sipp as the caller (and callee), directly and through
 * Kamailio: the answer carries PCMU, RTP arrives at the caller's media address for the prompt's duration
 * with continuous numbering and decodes to the prompt's tone, the server hangs up after the prompt; a
 * caller hanging up mid-prompt stops the media at once; 100 concurrent calls complete; `call.bridge()`
 * relays media both ways between two sipp instances.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type BridgeStats,
  type MediaCall,
  type MediaServer,
  startMediaServer,
} from '../../src/apps/media-server/index.js';
import { toneDominance } from '../../src/media/goertzel.js';
import { reservePortBlock } from '../helpers/ports.js';
import { receivedSdps, sippInstalled, writeToneWav } from '../helpers/sipp.js';
import { type CapturedRtp, decodePackets, RtpSink, writeToneWavFile } from '../apps/media-server/harness.js';
import { kamailioUsable, startKamailioForMediaServer, startMediaSipp } from '../apps/media-server/peers.js';

const base = reservePortBlock();
const rtpBase = reservePortBlock();
const MS_PORT = base;
const KAM_PORT = base + 1;
let nextPort = base + 10;
const port = (): number => nextPort++;

const tmp = mkdtempSync(join(tmpdir(), 'ms-e2e-'));
const MEDIA = join(tmp, 'media');
let server: MediaServer;
let handler: (call: MediaCall) => Promise<void> = async () => {};
let runs = 0;

/** The rms example script: answer, play, hang up. */
const rmsScript =
  (file: string) =>
  async (call: MediaCall): Promise<void> => {
    if (!(await call.answer())) return;
    const r = await call.play(file);
    if (r.reason === 'finished') await call.hangup();
  };

before(async () => {
  mkdirSync(MEDIA, { recursive: true });
  writeToneWavFile(join(MEDIA, 'tone-16k-stereo.wav'), 1000, 16000, 2, 600);
  writeToneWavFile(join(MEDIA, 'short.wav'), 700, 8000, 1, 500);
  writeToneWavFile(join(MEDIA, 'long.wav'), 500, 8000, 1, 3000);
  server = await startMediaServer({
    listen: `127.0.0.1:${MS_PORT}`,
    rtpIp: '127.0.0.1',
    rtpPortMin: rtpBase,
    rtpPortMax: rtpBase + 199,
    mediaDir: MEDIA,
    maxCalls: 150,
  });
  server.on('call', (c) => handler(c));
});

after(async () => {
  await server.close(500);
  rmSync(tmp, { recursive: true, force: true });
});

function missing(kamailio = false): string | undefined {
  if (!sippInstalled()) return 'MISSING PEER: sipp not installed';
  if (kamailio && !kamailioUsable()) return 'MISSING PEER: kamailio not installed';
  return undefined;
}

function workDir(): string {
  return join(tmp, `run${++runs}`, 'w');
}

async function settled(): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const s = server.stats();
    if (s.calls === 0 && s.sockets === 0 && s.timers === 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`resources still held: ${JSON.stringify(server.stats())}`);
}

/** Checks one call's RTP: count, continuity, pacing and the tone. */
function checkStream(captured: readonly CapturedRtp[], packets: number, tone: number): void {
  const pkts = captured.map((c) => c.packet);
  assert.equal(pkts.length, packets, `expected ${packets} packets, got ${pkts.length}`);
  for (let i = 1; i < pkts.length; i++) {
    assert.equal(pkts[i]!.header.sequenceNumber, (pkts[i - 1]!.header.sequenceNumber + 1) & 0xffff);
    assert.equal(pkts[i]!.header.timestamp, (pkts[i - 1]!.header.timestamp + 160) >>> 0);
    assert.equal(pkts[i]!.header.ssrc, pkts[0]!.header.ssrc);
    assert.equal(pkts[i]!.header.payloadType, 0);
  }
  const span = captured.at(-1)!.at - captured[0]!.at;
  const nominal = (packets - 1) * 20;
  assert.ok(
    span > nominal * 0.8 && span < nominal * 1.5 + 100,
    `packets spread over ${span} ms, nominal ${nominal}`,
  );
  const audio = decodePackets(pkts.slice(2, -2));
  const others = [tone / 2, tone * 2, 3000].filter((f) => f !== tone);
  assert.ok(toneDominance(audio, tone, others, 8000) > 100, `decoded audio is not a ${tone} Hz tone`);
}

async function playCall(via: 'direct' | 'kamailio'): Promise<void> {
  const sink = await RtpSink.open(port());
  const dir = workDir();
  let kam: Awaited<ReturnType<typeof startKamailioForMediaServer>> | undefined;
  try {
    if (via === 'kamailio') kam = await startKamailioForMediaServer(join(dir, '..'), KAM_PORT, MS_PORT);
    handler = rmsScript('tone-16k-stereo.wav');
    const sipp = startMediaSipp({
      scenario: 'uac-play.xml',
      dir,
      name: 'uac',
      localPort: port(),
      controlPort: port(),
      mediaPort: port(),
      remote: `127.0.0.1:${via === 'kamailio' ? KAM_PORT : MS_PORT}`,
      args: ['-m', '1', '-key', 'rtp_port', String(sink.port)],
      timeoutMs: 20_000,
    });
    const r = await sipp.done;
    assert.equal(
      r.successful,
      1,
      `sipp failed:\n${r.output}\n${r.messages.slice(-3000)}${kam?.output().slice(-3000) ?? ''}`,
    );
    const sdps = receivedSdps(r.messages);
    assert.equal(sdps.length, 1);
    assert.match(sdps[0]!, /^m=audio \d+ RTP\/AVP 0 101$/m);
    assert.match(sdps[0]!, /^a=rtpmap:0 PCMU\/8000$/m);
    if (via === 'kamailio') assert.match(r.messages, /Record-Route:/i, 'the dialog went through Kamailio');
    // 600 ms of audio at 20 ms per packet.
    checkStream(sink.packets, 30, 1000);
    await settled();
  } finally {
    sink.close();
    await kam?.stop();
  }
}

describe('media server with sipp', { concurrency: false }, () => {
  test('sipp calls the server directly: PCMU answer, the prompt as 8 kHz mono tone, BYE after it', async (t) => {
    const m = missing();
    if (m) return t.skip(m);
    await playCall('direct');
  });

  test('sipp calls through Kamailio: same media, BYE routed back through the proxy', async (t) => {
    const m = missing(true);
    if (m) return t.skip(m);
    await playCall('kamailio');
  });

  test('caller hangs up mid-prompt: 200 OK, no RTP after it, no sockets or timers left', async (t) => {
    const m = missing();
    if (m) return t.skip(m);
    const sink = await RtpSink.open(port());
    try {
      let hungUpAt = 0;
      handler = async (call) => {
        call.on('hangup', () => {
          hungUpAt = performance.now();
        });
        await rmsScript('long.wav')(call);
      };
      const r = await startMediaSipp({
        scenario: 'uac-hangup.xml',
        dir: workDir(),
        name: 'uac',
        localPort: port(),
        controlPort: port(),
        mediaPort: port(),
        remote: `127.0.0.1:${MS_PORT}`,
        args: ['-m', '1', '-key', 'rtp_port', String(sink.port)],
        timeoutMs: 20_000,
      }).done;
      assert.equal(r.successful, 1, `sipp failed:\n${r.output}`);
      assert.ok(hungUpAt > 0, 'the call saw the BYE');
      await settled();
      await new Promise((res) => setTimeout(res, 60));
      assert.ok(sink.packets.length >= 10 && sink.packets.length < 60, `${sink.packets.length} packets`);
      assert.equal(sink.packets.filter((c) => c.at > hungUpAt + 5).length, 0, 'RTP after the BYE');
    } finally {
      sink.close();
    }
  });

  test('100 concurrent calls each play a prompt and complete', async (t) => {
    const m = missing();
    if (m) return t.skip(m);
    const sink = await RtpSink.open(port());
    try {
      handler = rmsScript('short.wav');
      const r = await startMediaSipp({
        scenario: 'uac-play.xml',
        dir: workDir(),
        name: 'uac100',
        localPort: port(),
        controlPort: port(),
        mediaPort: port(),
        remote: `127.0.0.1:${MS_PORT}`,
        args: ['-m', '100', '-l', '100', '-r', '100', '-key', 'rtp_port', String(sink.port)],
        timeoutMs: 40_000,
      }).done;
      assert.equal(
        r.successful,
        100,
        `sipp: ${r.successful} ok, ${r.failed} failed\n${r.output.slice(-2000)}`,
      );
      await settled();
      const bySsrc = new Map<number, CapturedRtp[]>();
      for (const c of sink.packets) {
        const l = bySsrc.get(c.packet.header.ssrc) ?? [];
        l.push(c);
        bySsrc.set(c.packet.header.ssrc, l);
      }
      assert.equal(bySsrc.size, 100, 'one RTP stream per call');
      for (const l of bySsrc.values()) assert.equal(l.length, 25, 'every call got its whole 500 ms prompt');
      const sample = [...bySsrc.values()][50]!;
      checkStream(sample, 25, 700);
    } finally {
      sink.close();
    }
  });

  test('call.bridge() connects a sipp caller to a sipp callee with media both ways', async (t) => {
    const m = missing();
    if (m) return t.skip(m);
    const calleePort = port();
    let stats: BridgeStats | undefined;
    let status = 0;
    handler = async (call) => {
      const r = await call.bridge(`sip:callee@127.0.0.1:${calleePort}`);
      stats = r.stats;
      status = r.status;
    };
    const uasDir = workDir();
    const uacDir = workDir();
    // sipp streams tone.wav from its working directory.
    for (const d of [uasDir, uacDir]) {
      mkdirSync(d, { recursive: true });
      writeToneWav(join(d, 'tone.wav'), 1000);
    }
    const uas = startMediaSipp({
      scenario: 'bridge-uas.xml',
      dir: uasDir,
      name: 'uas',
      localPort: calleePort,
      controlPort: port(),
      mediaPort: port() + 20,
      args: ['-m', '1'],
      timeoutMs: 20_000,
    });
    const uac = startMediaSipp({
      scenario: 'bridge-uac.xml',
      dir: uacDir,
      name: 'uac',
      localPort: port(),
      controlPort: port(),
      mediaPort: port() + 40,
      remote: `127.0.0.1:${MS_PORT}`,
      args: ['-m', '1'],
      timeoutMs: 20_000,
    });
    const [ra, rb] = await Promise.all([uac.done, uas.done]);
    assert.equal(ra.successful, 1, `caller sipp failed:\n${ra.output}\n${ra.messages.slice(-3000)}`);
    assert.equal(rb.successful, 1, `callee sipp failed:\n${rb.output}\n${rb.messages.slice(-3000)}`);
    assert.equal(status, 200);
    assert.ok(stats, 'bridge result');
    assert.ok(stats.toCallee >= 20, `caller -> callee packets: ${stats.toCallee}`);
    assert.ok(stats.toCaller >= 20, `callee -> caller packets: ${stats.toCaller}`);
    await settled();
  });
});
