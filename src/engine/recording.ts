/**
 * Recording of one call: a pcap per stream (each direction of each media section, as seen on the wire), a
 * WAV of the G.711 or G.722 audio decoded (one channel per direction, or mixed to mono; G.722's lower band,
 * 8 kHz), and a metadata JSON file
 * (call-id, tags, labels, SDPs, metadata, start and end). Everything is written while the call runs, through
 * {@link RecordingFile} queues, so forwarding never waits for the disk.
 *
 * WAV timeline: each stream is anchored at the wall-clock position of its first packet; later packets are
 * placed by their RTP timestamps, so jitter does not distort the audio. Audio older than the flush point
 * (a fixed latency behind real time) is dropped and counted.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ALAW_DECODE, ULAW_DECODE } from '../media/g711.js';
import { G722Decoder } from '../media/g722.js';
import { mixInt16 } from '../media/mix.js';
import { WavWriter } from '../media/wav-writer.js';
import { pcapGlobalHeader, pcapUdpRecord, type UdpEndpoints } from '../wire/pcap.js';
import {
  readPayloadType,
  readSsrc,
  readTimestamp,
  rtpPayloadEnd,
  rtpPayloadOffset,
  tsDiff,
} from '../wire/rtp.js';
import type { Logger } from '../util/log.js';
import type { Call } from './call.js';
import { RecordingFile } from './recording-file.js';

/** How the WAV holds the directions: one channel each (`separate`), summed (`mixed`), or no WAV. */
export type WavMode = 'separate' | 'mixed' | 'none';

export interface RecordingConfig {
  /** Parent directory; each recording gets its own sub-directory. */
  root: string;
  wavMode: WavMode;
  log: Logger;
  /** Bound on unwritten bytes per file. */
  queueBytes?: number;
}

const RATE = 8000;
/** WAV audio is written this far behind real time, leaving room for jitter. */
const LATENCY_SAMPLES = RATE / 2;
/** Audio held per channel before flushing: later packets beyond it are dropped. */
const WINDOW_SAMPLES = RATE * 10;
const FLUSH_MS = 250;
/** Header sizes are patched every this many flushes, so a crash leaves a playable file. */
const PATCH_EVERY = 4;
/** A timestamp jump larger than this re-anchors the stream at the current wall-clock position. */
const MAX_JUMP = RATE * 5;
const MAX_STREAMS = 32;
/** G.722's static payload type; its RTP clock (and lower band) is 8 kHz like G.711's. */
const G722_PT = 9;

class Channel {
  buf = new Int16Array(WINDOW_SAMPLES);
  /** Highest position written + 1 (absolute samples since the recording started). */
  end = 0;
  ssrc = -1;
  anchorTs = 0;
  anchorPos = 0;
  /** G.722's decoder state for the current source (its lower band is the 8 kHz signal). */
  g722: G722Decoder | undefined;
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80) || '_';
}

export class CallRecording {
  status: 'recording' | 'paused' | 'stopped' = 'recording';
  error: string | undefined;
  readonly dir: string;
  readonly started = Date.now();
  private readonly startedPerf = performance.now();
  ended: number | undefined;
  packets = 0;
  /** Packets or audio left out: too late for the WAV, too many streams, or queue full. */
  dropped = 0;
  private readonly pcaps = new Map<string, RecordingFile>();
  private wavFile: RecordingFile | undefined;
  private wav: WavWriter | undefined;
  private readonly channels: Channel[] = [];
  private flushed = 0;
  private flushes = 0;
  private timer: NodeJS.Timeout | undefined;
  private metaBusy: Promise<void> = Promise.resolve();
  private metaDirty = false;
  private metaWriting = false;
  /** The directory could not be created: nothing is written at all. */
  private noDir = false;

  private constructor(
    private readonly call: Call,
    private readonly cfg: RecordingConfig,
  ) {
    const stamp = new Date(this.started).toISOString().replace(/[:.]/g, '-');
    this.dir = join(cfg.root, `${safeName(call.callId)}-${stamp}`);
  }

  /** Creates the directory and files; a failure is kept in `error` (and logged), never thrown. */
  static async start(call: Call, cfg: RecordingConfig): Promise<CallRecording> {
    const r = new CallRecording(call, cfg);
    try {
      await mkdir(r.dir, { recursive: true, mode: 0o750 });
    } catch (e) {
      r.noDir = true;
      r.fail(`cannot create ${r.dir}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      return r;
    }
    if (cfg.wavMode !== 'none') {
      r.wavFile = r.file('audio.wav');
      r.wav = new WavWriter(r.wavFile, { sampleRate: RATE, channels: cfg.wavMode === 'mixed' ? 1 : 2 });
    }
    r.writeMeta();
    r.timer = setInterval(() => r.flush(false), FLUSH_MS);
    r.timer.unref();
    return r;
  }

  get writing(): boolean {
    return this.status === 'recording' && this.error === undefined;
  }

  /** Files created so far (names relative to {@link dir}). */
  files(): string[] {
    return [...this.pcaps.values(), ...(this.wavFile ? [this.wavFile] : [])].map((f) =>
      f.path.slice(this.dir.length + 1),
    );
  }

  private file(name: string): RecordingFile {
    return new RecordingFile(join(this.dir, name), this.cfg.queueBytes, (_f, msg) => this.fail(msg));
  }

  private fail(msg: string): void {
    if (this.error !== undefined) return;
    this.error = msg;
    this.cfg.log.err(`recording of call ${this.call.callId}: ${msg}`);
  }

  /**
   * One RTP (or, `rtcp`, RTCP: pcap only) packet of stream `key` (e.g. `tag-1`) as sent on the wire between
   * `ep`. `channel` is the WAV channel of its direction (0 or 1).
   */
  packet(key: string, channel: number, ep: UdpEndpoints, msg: Buffer, rtcp = false): void {
    if (!this.writing) return;
    this.packets++;
    let pcap = this.pcaps.get(key);
    if (!pcap) {
      if (this.pcaps.size >= MAX_STREAMS) {
        this.dropped++;
        return;
      }
      pcap = this.file(`${safeName(key)}.pcap`);
      pcap.write(pcapGlobalHeader());
      this.pcaps.set(key, pcap);
    }
    const before = pcap.dropped;
    pcap.write(pcapUdpRecord(performance.timeOrigin + performance.now(), ep, msg));
    if (pcap.dropped !== before) this.dropped++;
    if (this.wav && !rtcp) this.audio(Math.min(1, Math.max(0, channel)), msg);
  }

  private nowPos(): number {
    return Math.floor(((performance.now() - this.startedPerf) * RATE) / 1000);
  }

  private audio(ch: number, msg: Buffer): void {
    const pt = readPayloadType(msg);
    const table = pt === 0 ? ULAW_DECODE : pt === 8 ? ALAW_DECODE : undefined;
    if (!table && pt !== G722_PT) return;
    const off = rtpPayloadOffset(msg);
    const end = off < 0 ? -1 : rtpPayloadEnd(msg, off);
    if (end <= off) return;
    let c = this.channels[ch];
    if (!c) {
      c = new Channel();
      this.channels[ch] = c;
    }
    const ts = readTimestamp(msg);
    const ssrc = readSsrc(msg);
    let pos = c.anchorPos + tsDiff(ts, c.anchorTs);
    if (ssrc !== c.ssrc || Math.abs(pos - Math.max(c.end, this.flushed)) > MAX_JUMP) {
      if (ssrc !== c.ssrc) c.g722 = undefined;
      c.ssrc = ssrc;
      c.anchorTs = ts;
      c.anchorPos = Math.max(this.nowPos(), c.end, this.flushed);
      pos = c.anchorPos;
    }
    const n = end - off;
    // G.722 is decoded whether or not the samples fit the window: its ADPCM state must see every packet.
    let pcm: Int16Array | undefined;
    if (!table) {
      c.g722 ??= new G722Decoder();
      pcm = c.g722.decode(msg.subarray(off, end));
    }
    if (pos < this.flushed || pos + n > this.flushed + WINDOW_SAMPLES) {
      this.dropped++;
      return;
    }
    const at = pos - this.flushed;
    if (pcm) c.buf.set(pcm, at);
    else for (let i = 0; i < n; i++) c.buf[at + i] = table![msg[off + i]!]!;
    if (pos + n > c.end) c.end = pos + n;
  }

  /** Write the WAV up to the latency point (or everything, at the end). */
  private flush(all: boolean): void {
    if (!this.wav) return;
    const limit = all
      ? Math.max(this.flushed, ...this.channels.map((c) => c.end))
      : this.nowPos() - LATENCY_SAMPLES;
    const n = Math.min(limit - this.flushed, WINDOW_SAMPLES);
    if (n > 0) {
      const blocks = [0, 1].map((i) => {
        const c = this.channels[i];
        if (!c) return new Int16Array(n);
        const out = c.buf.slice(0, n);
        c.buf.copyWithin(0, n);
        c.buf.fill(0, WINDOW_SAMPLES - n);
        return out;
      });
      if (this.cfg.wavMode === 'mixed') this.wav.writeInterleaved(mixInt16(blocks));
      else this.wav.writeChannels(blocks);
      this.flushed += n;
    }
    if (++this.flushes % PATCH_EVERY === 0) this.wav.patchSizes();
  }

  pause(): void {
    if (this.status === 'recording') this.status = 'paused';
  }

  resume(): void {
    if (this.status === 'paused') this.status = 'recording';
  }

  /** Metadata: call-id, parties with labels and SDPs, `metadata`, times, files. */
  meta(): Record<string, unknown> {
    return {
      'call-id': this.call.callId,
      tags: this.call.monologues.map((m) => ({ tag: m.tag, label: m.label ?? null, sdp: m.sdp ?? null })),
      metadata: this.call.metadata ?? null,
      start: new Date(this.started).toISOString(),
      end: this.ended === undefined ? null : new Date(this.ended).toISOString(),
      'wav mode': this.cfg.wavMode,
      files: this.files(),
      packets: this.packets,
      dropped: this.dropped,
      error: this.error ?? null,
    };
  }

  /** (Re)write the metadata file in the background; overlapping requests collapse into one. */
  writeMeta(): Promise<void> {
    if (this.noDir) return this.metaBusy;
    if (this.metaWriting) {
      this.metaDirty = true;
      return this.metaBusy;
    }
    this.metaWriting = true;
    this.metaBusy = (async () => {
      do {
        this.metaDirty = false;
        try {
          await writeFile(join(this.dir, 'metadata.json'), `${JSON.stringify(this.meta(), null, 2)}\n`);
        } catch (e) {
          this.fail(`metadata: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
        }
      } while (this.metaDirty && this.error === undefined);
      this.metaWriting = false;
    })();
    return this.metaBusy;
  }

  /** Flush everything, finish the files and the metadata. Idempotent. */
  async stop(): Promise<void> {
    if (this.status === 'stopped') return;
    this.status = 'stopped';
    this.ended = Date.now();
    if (this.timer) clearInterval(this.timer);
    if (!this.noDir) {
      this.flush(true);
      this.wav?.close();
      await Promise.all(
        [...this.pcaps.values(), ...(this.wavFile ? [this.wavFile] : [])].map((f) => f.close()),
      );
      await this.writeMeta();
    }
  }
}
