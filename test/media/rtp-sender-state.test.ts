import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { RtpSenderState } from '../../src/media/rtp-sender-state.js';
import {
  readMarker,
  readSeq,
  readSsrc,
  readTimestamp,
  seqDiff,
  tsDiff,
  writeRtpHeader,
} from '../../src/wire/rtp.js';

interface Out {
  seq: number;
  ts: number;
  ssrc: number;
  marker: boolean;
  kind: 'relay' | 'insert' | 'late';
}

function newState(): RtpSenderState {
  return new RtpSenderState({ clockRate: 8000, initialSsrc: 0xabc, initialSeq: 7, initialTimestamp: 99 });
}

/** Drives a state like the proxy would: an upstream sender every 20 ms and optional playbacks. */
class Harness {
  out: Out[] = [];
  inSeq: number;
  inTs: number;
  constructor(
    readonly st: RtpSenderState,
    seq0: number,
    ts0: number,
    readonly ssrc = 0x1111,
  ) {
    this.inSeq = seq0;
    this.inTs = ts0;
  }
  /** Upstream sends one packet at `now`; returns whether it was forwarded. */
  upstream(now: number): boolean {
    const ok = this.st.relay(this.inSeq, this.inTs, this.ssrc, now);
    this.inSeq = (this.inSeq + 1) & 0xffff;
    this.inTs = (this.inTs + 160) >>> 0;
    if (ok) this.push('relay');
    return ok;
  }
  insert(tsOffset: number, now: number, dur = 160): void {
    this.st.insert(tsOffset, dur, now);
    this.push('insert');
  }
  private push(kind: Out['kind']): void {
    const { seq, timestamp: ts, ssrc, marker } = this.st;
    this.out.push({ seq, ts, ssrc, marker, kind });
  }
}

function assertContinuous(out: Out[]): void {
  for (let i = 1; i < out.length; i++) {
    const a = out[i - 1]!;
    const b = out[i]!;
    assert.equal(seqDiff(b.seq, a.seq), 1, `seq step at ${i}: ${a.seq} -> ${b.seq}`);
    assert.ok(tsDiff(b.ts, a.ts) >= 0, `ts went back at ${i}: ${a.ts} -> ${b.ts}`);
    assert.equal(b.ssrc, a.ssrc, `ssrc changed at ${i}`);
  }
}

test('passthrough until the first insertion', () => {
  const h = new Harness(newState(), 1000, 5000);
  for (let i = 0; i < 5; i++) h.upstream(i * 20);
  assert.equal(h.st.rewriting, false);
  assert.deepEqual(
    h.out.map((o) => [o.seq, o.ts, o.ssrc]),
    [0, 1, 2, 3, 4].map((i) => [1000 + i, 5000 + 160 * i, 0x1111]),
  );
});

test('playback in the middle of a relayed stream keeps seq +1 and timestamps on the wall clock', () => {
  const h = new Harness(newState(), 1000, 5000);
  for (let i = 0; i < 50; i++) h.upstream(i * 20); // last: seq 1049, ts 12840 at t=980
  h.st.beginInsert(1005);
  // 25 ms after the last relayed packet: 12840 + 25 * 8.
  assert.equal(h.st.base, 13040);
  assert.equal(h.upstream(1010), false, 'relayed packets are refused while inserting');
  for (let i = 0; i < 10; i++) h.insert(i * 160, 1005 + i * 20);
  h.st.endInsert();
  // Upstream kept going (its seq/ts advanced by 10 packets during playback); next arrives at t=1205.
  h.inSeq = 1060;
  h.inTs = 5000 + 60 * 160;
  for (let i = 0; i < 10; i++) assert.ok(h.upstream(1205 + i * 20));
  assertContinuous(h.out);
  const firstPlayed = h.out[50]!;
  assert.deepEqual(firstPlayed, { seq: 1050, ts: 13040, ssrc: 0x1111, marker: false, kind: 'insert' });
  const resumed = h.out[60]!;
  // 200 ms after playback began at ts 13040.
  assert.deepEqual(resumed, { seq: 1060, ts: 13040 + 1600, ssrc: 0x1111, marker: true, kind: 'relay' });
  assert.equal(h.out[61]!.ts - resumed.ts, 160, 'relayed spacing kept after re-anchoring');
  assert.equal(h.out[61]!.marker, false);
  assert.equal(h.st.mapTimestamp(5000 + 60 * 160), 13040 + 1600);
});

test('an insertion never starts inside the last relayed frame', () => {
  const h = new Harness(newState(), 1, 0);
  h.upstream(0);
  h.upstream(20); // ts 160 at t=20, frame of 160 learned
  h.st.beginInsert(21); // wall clock says 168, but the frame lasts until 320
  assert.equal(h.st.base, 320);
});

test('playback when resuming faster than wall clock: timestamps still move past the inserted audio', () => {
  const h = new Harness(newState(), 1, 0);
  h.upstream(0);
  h.st.beginInsert(20);
  // A burst of 5 frames sent at once (the caller's timer fired late), then relay resumes immediately.
  for (let i = 0; i < 5; i++) h.insert(i * 160, 20);
  h.st.endInsert();
  h.upstream(21);
  assertContinuous(h.out);
  assert.equal(h.out.at(-1)!.ts, h.out.at(-2)!.ts + 160);
});

test('late relayed packets from before the insertion are dropped', () => {
  const h = new Harness(newState(), 100, 0);
  for (let i = 0; i < 3; i++) h.upstream(i * 20);
  h.st.beginInsert(60);
  h.insert(0, 60);
  h.insert(160, 80);
  h.st.endInsert();
  assert.ok(h.st.relay(110, 1600, 0x1111, 100)); // anchors: 110 -> 105
  assert.equal(h.st.seq, 105);
  assert.equal(h.st.relay(108, 1280, 0x1111, 101), false, 'would map to 103, already used by playback');
  assert.equal(h.st.relay(109, 1440, 0x1111, 101), false, 'would map to 104, the last inserted');
  assert.ok(h.st.relay(111, 1760, 0x1111, 120));
  assert.equal(h.st.seq, 106);
});

test('insertion with nothing relayed starts from the initial identity (media server)', () => {
  const st = newState();
  st.beginInsert(0);
  const seen: number[][] = [];
  for (let i = 0; i < 3; i++) {
    st.insert(i * 160, 160, i * 20);
    seen.push([st.seq, st.timestamp, st.ssrc]);
  }
  assert.deepEqual(seen, [
    [7, 99, 0xabc],
    [8, 259, 0xabc],
    [9, 419, 0xabc],
  ]);
  assert.throws(() => {
    st.endInsert();
    st.insert(0, 160, 100);
  }, /outside/);
});

test('an upstream SSRC change while rewriting re-anchors and keeps the output SSRC', () => {
  const h = new Harness(newState(), 10, 1000, 0x1111);
  h.upstream(0);
  h.st.beginInsert(20);
  h.insert(0, 20);
  h.st.endInsert();
  h.upstream(40);
  const other = new Harness(h.st, 50_000, 3_000_000_000, 0x2222);
  other.out = h.out;
  other.upstream(60);
  other.upstream(80);
  assertContinuous(h.out);
  assert.equal(h.out.at(-2)!.marker, true);
  assert.equal(h.out.at(-1)!.ts - h.out.at(-2)!.ts, 160);
});

test('passthrough follows an upstream SSRC change, and a later insertion continues the new stream', () => {
  const h = new Harness(newState(), 10, 1000, 0x1111);
  h.upstream(0);
  const other = new Harness(h.st, 500, 90_000, 0x2222);
  other.upstream(20);
  assert.deepEqual([h.st.seq, h.st.timestamp, h.st.ssrc], [500, 90_000, 0x2222]);
  h.st.beginInsert(40);
  h.st.insert(0, 160, 40);
  assert.deepEqual([h.st.seq, h.st.timestamp, h.st.ssrc], [501, 90_160, 0x2222]);
});

test('wraps sequence numbers and timestamps', () => {
  const h = new Harness(newState(), 0xfffe, 0xffffff00);
  h.upstream(0);
  h.upstream(20);
  h.st.beginInsert(40);
  h.insert(0, 40);
  h.insert(160, 60);
  h.st.endInsert();
  h.upstream(80);
  assertContinuous(h.out);
  assert.deepEqual(
    h.out.map((o) => o.seq),
    [0xfffe, 0xffff, 0, 1, 2],
  );
  assert.equal(h.out[2]!.ts, (0xffffff00 + 320) >>> 0);
});

test('DTMF-style insertion (same timestamp, growing duration) is followed by audio after the event', () => {
  const h = new Harness(newState(), 1, 0);
  h.upstream(0);
  h.st.beginInsert(20);
  for (let i = 0; i < 4; i++) h.insert(0, 20 + i * 20, 160 * (i + 1)); // progress packets
  for (let i = 0; i < 3; i++) h.insert(0, 100 + i * 20, 800); // end packets
  h.st.endInsert();
  h.upstream(100); // arrives early (the caller resumed without waiting): still after the 800-sample event
  assertContinuous(h.out);
  assert.equal(h.out.at(-1)!.ts, h.out.at(-2)!.ts + 800);
});

test('relayPacket rewrites headers in place only when needed', () => {
  const st = newState();
  const pkt = (seq: number, ts: number) => {
    const b = Buffer.alloc(172);
    writeRtpHeader(b, 0, false, seq, ts, 0x1111);
    return b;
  };
  const a = pkt(10, 1600);
  assert.ok(st.relayPacket(a, 0));
  assert.deepEqual([readSeq(a), readTimestamp(a)], [10, 1600]);
  st.beginInsert(20);
  st.insert(0, 160, 20);
  st.endInsert();
  const b = pkt(500, 80_000);
  assert.ok(st.relayPacket(b, 40));
  assert.deepEqual([readSeq(b), readTimestamp(b), readSsrc(b), readMarker(b)], [12, 1920, 0x1111, true]);
  const c = pkt(501, 80_160);
  assert.ok(st.relayPacket(c, 60, false));
  assert.deepEqual([readSeq(c), readTimestamp(c), readMarker(c)], [13, 2080, false]);
});

test('property: any schedule of relay bursts and playbacks gives seq +1 and non-decreasing timestamps', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0xffff }),
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.array(
        fc.record({
          relay: fc.integer({ min: 0, max: 20 }),
          gapMs: fc.integer({ min: 0, max: 500 }),
          frames: fc.integer({ min: 0, max: 20 }),
          late: fc.integer({ min: 0, max: 3 }),
        }),
        { maxLength: 12 },
      ),
      (seq0, ts0, plan) => {
        const h = new Harness(newState(), seq0, ts0);
        let now = 0;
        for (const step of plan) {
          for (let i = 0; i < step.relay; i++) {
            h.upstream(now);
            now += 20;
          }
          // A late duplicate of an older upstream packet must never break monotonicity.
          if (step.late > 0 && step.relay > 0) {
            const ok = h.st.relay(
              (h.inSeq - step.late - 1) & 0xffff,
              h.inTs - 160 * (step.late + 1),
              h.ssrc,
              now,
            );
            if (ok)
              h.out.push({ seq: h.st.seq, ts: h.st.timestamp, ssrc: h.st.ssrc, marker: false, kind: 'late' });
          }
          now += step.gapMs;
          if (step.frames > 0) {
            h.st.beginInsert(now);
            for (let i = 0; i < step.frames; i++) {
              h.insert(i * 160, now);
              now += 20;
            }
            h.st.endInsert();
            // upstream kept sending during the playback
            h.inSeq = (h.inSeq + step.frames) & 0xffff;
            h.inTs = (h.inTs + 160 * step.frames) >>> 0;
          }
        }
        // Upstream's own reordering is passed on as it came; what matters is that the in-order packets
        // and the inserted ones form one continuous sequence, and that a late packet never reuses the
        // sequence number of an inserted one.
        const inserted = new Set(h.out.filter((o) => o.kind === 'insert').map((o) => o.seq));
        for (const o of h.out)
          if (o.kind === 'late') assert.ok(!inserted.has(o.seq), `late packet on ${o.seq}`);
        const firstInsert = h.out.findIndex((o) => o.kind === 'insert');
        if (firstInsert < 0) return;
        assertContinuous(h.out.slice(Math.max(0, firstInsert - 1)).filter((o) => o.kind !== 'late'));
      },
    ),
    { numRuns: 500 },
  );
});
