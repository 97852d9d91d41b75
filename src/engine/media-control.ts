/**
 * Media features on top of relayed calls, independent of the control protocol: blocking and silencing
 * (per call or per party), `play media`, `play DTMF`, DTMF detection and logging, and recording. State is
 * kept per call beside the engine's model; per-packet work happens in {@link StreamDuties} taps that exist
 * only while needed.
 */
import type { RelayLeg } from '../dataplane/relay-leg.js';
import {
  type DetectedDigit,
  DtmfError,
  type DtmfPacket,
  type DtmfSequence,
  generateDtmf,
} from '../media/dtmf.js';
import { dtmfToneSamples } from '../media/dtmf-tones.js';
import { FramePacketizer } from '../media/packetizer.js';
import type { PromptCache } from '../media/prompt-cache.js';
import { createFilePromptCache, resolveInMediaRoot } from '../media/prompt-file.js';
import { loadPrompt, PromptError } from '../media/prompt.js';
import type { Logger } from '../util/log.js';
import type { Call, MediaSide, Monologue } from './call.js';
import type { Engine } from './engine.js';
import { streamCodec } from './media-codec.js';
import { MOH_REPEAT, type MohConfig, type MohState, onHold } from './moh.js';
import { EngineError } from './options.js';
import type { DtmfSecurityOptions } from './dtmf-security.js';
import { DtmfInjection, Playback } from './playback.js';
import { CallRecording, type WavMode } from './recording.js';
import { StreamDuties } from './stream-duties.js';

export interface MediaConfig {
  /** Root for `play media` file names; unset: `file` is refused. */
  mediaDir: string | undefined;
  /** Parent directory of recordings; unset: recording is refused. */
  recordingDir: string | undefined;
  wavMode: WavMode;
  /** Where detected DTMF is sent as JSON (rtpengine's dtmf-log-dest); unset: detection off by default. */
  dtmfLogDest: { host: string; port: number } | undefined;
  /** Concurrent `play media` playbacks allowed over all calls. */
  maxPlaybacks: number;
  log: Logger;
  /** Sends the DTMF JSON datagrams (the dataplane owns sockets); unset: DTMF is only logged. */
  datagrams?: { send(data: string, port: number, host: string): void; close(): void };
}

export const DEFAULT_MAX_PLAYBACKS = 2000;
/** Longest wait for a relayed packet before a first insertion (three 20 ms frames). */
const PRIME_WAIT_MS = 70;
/** `source` of the playback that carries `play DTMF` in-band (queued like events, not a `play media`). */
const INBAND_DTMF = 'DTMF (in-band)';

/** The audio of a generated event sequence: each event's key tones over its duration, silence between. */
function inbandDtmf(seq: DtmfSequence): Int16Array {
  const pcm = new Int16Array(Math.ceil((seq.totalMs * 8000) / 1000));
  const events = new Map<number, DtmfPacket>();
  for (const p of seq.packets) {
    const e = events.get(p.tsOffset);
    if (!e || p.durationSamples > e.durationSamples) events.set(p.tsOffset, p);
  }
  for (const [at, p] of events) {
    const n = Math.max(0, Math.min(p.durationSamples, pcm.length - at));
    const tone = dtmfToneSamples(p.event, n, 0, p.payload[1]! & 0x3f);
    if (tone) pcm.set(tone, at);
  }
  return pcm;
}

export type BlockKind = 'dtmf' | 'media' | 'silence';

/** Which parties a request applies to; `call` means the call as a whole. */
export type Target = 'call' | Monologue[];

export interface PlayMediaRequest {
  file?: string;
  bytes?: Buffer;
  repeat?: number;
  /** `repeat-duration`: play (looping) for this long, ms; takes precedence over `repeat`. */
  repeatDurationMs?: number;
  startPosMs?: number;
}

export interface PlayDtmfRequest {
  code: string | number;
  durationMs?: number;
  volume?: number;
  pauseMs?: number;
}

class CallMedia {
  readonly callBlocks = new Set<BlockKind>();
  readonly partyBlocks = new Map<Monologue, Set<BlockKind>>();
  /** `DTMF-security` of the call-wide DTMF block, and of parties' own blocks. */
  callDtmfSecurity: DtmfSecurityOptions | undefined;
  readonly partyDtmfSecurity = new Map<Monologue, DtmfSecurityOptions>();
  readonly streams = new Map<MediaSide, StreamDuties>();
  recording: CallRecording | undefined;
  dtmfLogDest: { host: string; port: number } | undefined;
  /** Music on hold of the parties that gave it. */
  readonly moh = new Map<Monologue, MohState>();
}

export class MediaService {
  private readonly calls = new WeakMap<Call, CallMedia>();
  private readonly prompts: PromptCache = createFilePromptCache();
  private playbacks = 0;
  /** Recordings being finished (files flushed, metadata written). */
  private readonly stopping = new Set<Promise<void>>();

  constructor(
    private readonly engine: Engine,
    readonly config: MediaConfig,
  ) {}

  private state(call: Call): CallMedia {
    let s = this.calls.get(call);
    if (!s) {
      s = new CallMedia();
      this.calls.set(call, s);
    }
    return s;
  }

  /** Parties selected by from-tag, address or label; `all` for every party. Throws when none match. */
  select(
    call: Call,
    sel: { fromTag?: string; address?: string; label?: string; all?: boolean },
  ): Monologue[] {
    if (sel.all) return call.monologues.filter((m) => m.tag !== '' || m.media.length > 0);
    let found: Monologue[] = [];
    if (sel.fromTag !== undefined) {
      const m = call.byTag(sel.fromTag);
      if (!m) throw new EngineError('Unknown monologue tag');
      found = [m];
    } else if (sel.address !== undefined) {
      found = call.monologues.filter((m) => m.media.some((s) => s.rtpAdvertised?.address === sel.address));
      if (found.length === 0) throw new EngineError('No participant found for the given address');
    } else if (sel.label !== undefined) {
      found = call.monologues.filter((m) => m.label === sel.label);
      if (found.length === 0) throw new EngineError('No participant found for the given label');
    } else throw new EngineError('No participant selected (from-tag, address, label or all)');
    return found;
  }

  /** Duties of every audio stream of the call, created as needed, taps refreshed. */
  sync(call: Call): StreamDuties[] {
    const st = this.state(call);
    const out: StreamDuties[] = [];
    call.monologues.forEach((party, idx) => {
      for (const side of party.media) {
        if (side.kind !== 'audio') continue;
        let d = st.streams.get(side);
        if (!d) {
          d = new StreamDuties(party, side, Math.min(idx, 1), {
            onDigit: (s, digit, leg) => this.logDigit(call, s, digit, leg),
            recording: () => st.recording,
          });
          st.streams.set(side, d);
        }
        d.channel = Math.min(idx, 1);
        const codec = streamCodec(call, party, side.index - 1);
        d.dtmfPayloadType = codec?.dtmfPayloadType;
        d.audioPayloadType = side.transcode?.fromPt ?? codec?.payloadType;
        const party_ = st.partyBlocks.get(party);
        const on = (k: BlockKind) => st.callBlocks.has(k) || party_?.has(k) === true;
        d.blockDtmf = on('dtmf');
        d.dtmfSecurity = (party_?.has('dtmf') ? st.partyDtmfSecurity.get(party) : undefined) ??
          st.callDtmfSecurity ?? { mode: 'drop' };
        d.blockMedia = on('media');
        d.silence = on('silence');
        d.detect = (st.dtmfLogDest ?? this.config.dtmfLogDest) !== undefined;
        d.transcode = side.transcode;
        d.eventsToAudio = side.eventsToAudio;
        d.eventsFromAudio = side.eventsFromAudio;
        d.refresh();
        out.push(d);
      }
    });
    // Parties removed from the call (a deleted branch) lose their duties.
    for (const [side, d] of st.streams) {
      if (!out.includes(d)) {
        d.detach();
        st.streams.delete(side);
      }
    }
    return out;
  }

  /**
   * After an offer or answer: apply `record call` and a per-call DTMF log destination, and move taps to
   * any new legs.
   */
  async afterSignal(
    call: Call,
    o: {
      recordCall?: boolean;
      dtmfLogDest?: { host: string; port: number };
      moh?: { party: Monologue; config: MohConfig };
    },
  ): Promise<void> {
    // Most calls never get a media duty: they keep no media state and no per-stream objects.
    const detecting = o.dtmfLogDest !== undefined || this.config.dtmfLogDest !== undefined;
    const converting = call.monologues.some((m) =>
      m.media.some((s) => s.transcode !== undefined || s.eventsToAudio || s.eventsFromAudio !== undefined),
    );
    if (!this.calls.has(call) && o.recordCall !== true && !detecting && !converting && !o.moh) return;
    const st = this.state(call);
    if (o.dtmfLogDest) st.dtmfLogDest = o.dtmfLogDest;
    if (o.moh) {
      const prev = st.moh.get(o.moh.party);
      st.moh.set(o.moh.party, { ...o.moh.config, playing: prev?.playing });
    }
    if (o.recordCall === true) await this.startRecording(call);
    else if (o.recordCall === false) await this.stopRecording(call);
    this.sync(call);
    st.recording?.writeMeta();
    if (st.moh.size) await this.musicOnHold(call, st);
  }

  /** Starts the music of holders whose SDP now holds the call, stops it where the hold ended. */
  private async musicOnHold(call: Call, st: CallMedia): Promise<void> {
    const failed: string[] = [];
    for (const [party, moh] of st.moh) {
      if (!call.monologues.includes(party)) {
        st.moh.delete(party);
        continue;
      }
      const held = onHold(party, moh.connectionZero);
      const current = this.sync(call).find((d) => d.party === party && d.side.pair !== null)?.insertion;
      const ours = moh.playing !== undefined && current === moh.playing;
      // A playback the control side started keeps the stream; the music waits for the next signal.
      if (held && !ours && current === undefined) {
        try {
          await this.playMedia(call, [party], { ...moh.source, repeat: MOH_REPEAT });
          moh.playing = this.streamOf(call, party).insertion;
        } catch (e) {
          if (!(e instanceof EngineError)) throw e;
          failed.push(`music on hold: ${e.reason}`);
        }
      } else if (!held && ours) {
        this.stopMedia(call, [party]);
        moh.playing = undefined;
      } else if (!held) moh.playing = undefined;
    }
    if (failed.length) throw new EngineError(failed.join('; '));
  }

  /** Block; for DTMF, `security` says what blocked events become (default: dropped). */
  block(call: Call, kind: BlockKind, target: Target, security?: DtmfSecurityOptions): void {
    const st = this.state(call);
    if (target === 'call') {
      st.callBlocks.add(kind);
      if (kind === 'dtmf') st.callDtmfSecurity = security;
    } else
      for (const m of target) {
        this.partySet(st, m).add(kind);
        if (kind !== 'dtmf') continue;
        if (security) st.partyDtmfSecurity.set(m, security);
        else st.partyDtmfSecurity.delete(m);
      }
    this.sync(call);
  }

  /** Unblock; for the whole call, directional blocks stay unless `all` (as rtpengine does). */
  unblock(call: Call, kind: BlockKind, target: Target, all: boolean): void {
    const st = this.state(call);
    if (target === 'call') {
      st.callBlocks.delete(kind);
      if (all) for (const s of st.partyBlocks.values()) s.delete(kind);
    } else for (const m of target) this.partySet(st, m).delete(kind);
    this.sync(call);
  }

  private partySet(st: CallMedia, m: Monologue): Set<BlockKind> {
    let s = st.partyBlocks.get(m);
    if (!s) {
      s = new Set();
      st.partyBlocks.set(m, s);
    }
    return s;
  }

  /** The first audio stream of `party` that can carry inserted media towards its peer. */
  private streamOf(call: Call, party: Monologue): StreamDuties {
    const d = this.sync(call).find((x) => x.party === party && x.side.pair !== null);
    if (!d) throw new EngineError(`No usable audio stream for tag '${party.tag}'`);
    return d;
  }

  private async loadSamples(req: PlayMediaRequest): Promise<{ samples: Int16Array; source: string }> {
    try {
      if (req.file !== undefined) {
        const root = this.config.mediaDir;
        if (!root) throw new EngineError('Playing files requires a media directory (--media-dir)');
        const path = await resolveInMediaRoot(root, req.file);
        return { samples: await this.prompts.get(path), source: req.file };
      }
      if (req.bytes) return { samples: await loadPrompt(req.bytes), source: 'blob' };
    } catch (e) {
      if (e instanceof PromptError) throw new EngineError(`Failed to start media playback: ${e.message}`);
      throw e;
    }
    throw new EngineError('No media file specified');
  }

  /** `play media` to the peers of `parties` (their outgoing audio is replaced). Returns the duration in ms. */
  async playMedia(call: Call, parties: Monologue[], req: PlayMediaRequest): Promise<number> {
    const { samples, source } = await this.loadSamples(req);
    if (this.engine.calls.get(call.callId) !== call) throw new EngineError('Unknown call-id');
    const plans = parties.map((party) => {
      const d = this.streamOf(call, party);
      const codec = streamCodec(call, party, d.side.index - 1);
      if (!codec?.encodable)
        throw new EngineError(
          `Playback into codec ${codec?.name ?? 'unknown'} is not supported yet (playback encodes PCMU, PCMA or G722)`,
        );
      if (d.insertion instanceof DtmfInjection) throw new EngineError('DTMF playback in progress');
      return { d, codec };
    });
    await Promise.all(plans.map(({ d }) => d.primeSender(PRIME_WAIT_MS)));
    if (this.engine.calls.get(call.callId) !== call) throw new EngineError('Unknown call-id');
    const starting = plans.filter((p) => !(p.d.insertion instanceof Playback)).length;
    if (this.playbacks + starting > this.config.maxPlaybacks)
      throw new EngineError('Too many concurrent media playbacks');
    let duration = 0;
    for (const { d, codec } of plans) {
      d.insertion?.finish();
      const pk = new FramePacketizer(samples, { codec: codec.encodable!, ptimeMs: codec.ptimeMs });
      duration = pk.durationMs;
      const p = new Playback(
        d,
        pk,
        {
          payloadType: codec.payloadType,
          repeat:
            req.repeatDurationMs !== undefined ? 10_000 : Math.max(1, Math.min(req.repeat ?? 1, 10_000)),
          ...(req.repeatDurationMs !== undefined && {
            maxFrames: Math.max(1, Math.ceil(req.repeatDurationMs / codec.ptimeMs)),
          }),
          startFrame: pk.frameAtMs(req.startPosMs ?? 0),
          source,
        },
        () => {
          this.playbacks--;
          if (d.insertion === p) d.insertion = undefined;
          this.next(d);
        },
      );
      this.playbacks++;
      d.insertion = p;
      d.refresh();
      p.start();
    }
    return duration;
  }

  /** `stop media`: returns the last frame position (ms) of the last playback stopped, or undefined. */
  stopMedia(call: Call, parties: Monologue[]): number | undefined {
    let pos: number | undefined;
    for (const d of this.sync(call)) {
      if (!parties.includes(d.party) || !(d.insertion instanceof Playback)) continue;
      pos = d.insertion.lastFramePos;
      d.insertion.finish();
    }
    return pos;
  }

  /** `play DTMF` from `parties` (the events go to their peers); queued behind a running DTMF sequence. */
  async playDtmf(call: Call, parties: Monologue[], req: PlayDtmfRequest): Promise<void> {
    const jobs = parties.map((party) => {
      const d = this.streamOf(call, party);
      const codec = streamCodec(call, party, d.side.index - 1);
      const pt = codec?.dtmfPayloadType;
      if (pt === undefined && !codec?.encodable)
        throw new EngineError(
          `No telephone-event payload type negotiated, and in-band DTMF needs PCMU, PCMA or G722 (the codec is ${codec?.name ?? 'unknown'})`,
        );
      if (d.insertion instanceof Playback && d.insertion.options.source !== INBAND_DTMF)
        throw new EngineError('Media playback in progress');
      let seq: ReturnType<typeof generateDtmf>;
      try {
        seq = generateDtmf({
          code: req.code,
          durationMs: Math.min(5000, Math.max(100, req.durationMs ?? 250)),
          volume: req.volume ?? 8,
          pauseMs: Math.min(5000, Math.max(100, req.pauseMs ?? 100)),
          ptimeMs: codec!.ptimeMs,
        });
      } catch (e) {
        if (e instanceof DtmfError) throw new EngineError(e.message);
        throw e;
      }
      return { d, seq, pt, codec };
    });
    await Promise.all(jobs.map(({ d }) => d.primeSender(PRIME_WAIT_MS)));
    if (this.engine.calls.get(call.callId) !== call) throw new EngineError('Unknown call-id');
    for (const { d, seq, pt, codec } of jobs) {
      if (d.dtmfQueue.length >= 32) throw new EngineError('Too many queued DTMF requests');
      d.dtmfQueue.push(() => {
        const done = () => {
          if (d.insertion === inj) d.insertion = undefined;
          this.next(d);
        };
        // Without telephone-event the keys go in-band: their tones in the stream's own codec.
        const inj =
          pt !== undefined
            ? new DtmfInjection(d, seq.packets, pt, done)
            : new Playback(
                d,
                new FramePacketizer(inbandDtmf(seq), { codec: codec!.encodable!, ptimeMs: codec!.ptimeMs }),
                { payloadType: codec!.payloadType, repeat: 1, startFrame: 0, source: INBAND_DTMF },
                done,
              );
        d.insertion = inj;
        d.refresh();
        inj.start();
      });
      if (!d.insertion) this.next(d);
    }
  }

  private next(d: StreamDuties): void {
    if (d.insertion) return;
    d.dtmfQueue.shift()?.();
  }

  async startRecording(call: Call): Promise<CallRecording> {
    const st = this.state(call);
    if (st.recording && st.recording.status !== 'stopped') {
      st.recording.resume();
      this.sync(call);
      return st.recording;
    }
    const root = this.config.recordingDir;
    if (!root) throw new EngineError('Recording requires a recording directory (--recording-dir)');
    st.recording = await CallRecording.start(call, {
      root,
      wavMode: this.config.wavMode,
      log: this.config.log,
    });
    this.sync(call);
    return st.recording;
  }

  async stopRecording(call: Call): Promise<void> {
    const rec = this.state(call).recording;
    if (!rec) return;
    await rec.stop();
    this.sync(call);
  }

  pauseRecording(call: Call): void {
    this.state(call).recording?.pause();
    // A paused recording needs no tap: the stream may go back to the fast path (or the kernel).
    this.sync(call);
  }

  /** What `query` shows: recording state and, per tag, playback and blocking. */
  snapshot(call: Call): {
    recording: CallRecording | undefined;
    streams: StreamDuties[];
    callBlocks: ReadonlySet<BlockKind>;
  } {
    const st = this.calls.get(call);
    return {
      recording: st?.recording,
      streams: st ? [...st.streams.values()] : [],
      callBlocks: st?.callBlocks ?? new Set(),
    };
  }

  /** The call is gone: stop insertions, remove taps, finish the recording. */
  destroy(call: Call): void {
    const st = this.calls.get(call);
    if (!st) return;
    for (const d of st.streams.values()) d.detach();
    st.streams.clear();
    if (st.recording) {
      const p = st.recording.stop().catch(() => {});
      this.stopping.add(p);
      void p.finally(() => this.stopping.delete(p));
    }
    this.calls.delete(call);
  }

  /** Active playbacks over all calls. */
  get activePlaybacks(): number {
    return this.playbacks;
  }

  private logDigit(call: Call, s: StreamDuties, digit: DetectedDigit, leg: RelayLeg): void {
    const dest = this.state(call).dtmfLogDest ?? this.config.dtmfLogDest;
    // rtpengine's DTMF-log-dest JSON fields, plus the digit as a character.
    const json = JSON.stringify({
      callid: call.callId,
      source_tag: s.party.tag,
      source_label: s.party.label ?? '',
      tags: call.monologues.map((m) => m.tag),
      type: 'DTMF',
      timestamp: Math.floor(Date.now() / 1000),
      source_ip: leg.endpoint?.address ?? '',
      event: digit.event,
      digit: digit.digit ?? null,
      duration: digit.durationMs,
      volume: digit.volume,
    });
    this.config.log.info(`DTMF: ${json}`);
    if (dest) this.config.datagrams?.send(json, dest.port, dest.host);
  }

  /** Waits (at most `waitMs`) for recordings to finish writing, then releases the DTMF log socket. */
  async close(waitMs = 3000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((r) => {
      timer = setTimeout(r, waitMs);
    });
    await Promise.race([Promise.all(this.stopping), limit]);
    clearTimeout(timer);
    this.config.datagrams?.close();
  }
}
