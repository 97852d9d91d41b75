/**
 * ng media commands (rtpengine's names and keys): play media / stop media / play DTMF, block and unblock
 * DTMF and media, silence and unsilence media, start / stop / pause recording, and `record call` and
 * `DTMF-log-dest` on offer/answer. Translates the dictionary into {@link MediaService} calls.
 */
import type { Call } from '../engine/call.js';
import type { Engine } from '../engine/engine.js';
import type { BlockKind, MediaService, Target } from '../engine/media-control.js';
import { type DtmfSecurityOptions, parseDtmfSecurity } from '../engine/dtmf-security.js';
import type { MohConfig } from '../engine/moh.js';
import { EngineError } from '../engine/options.js';
import type { BDict, BValue } from '../wire/bencode.js';
import { dtmfCharToEvent } from '../wire/rtp-event.js';
import { NgRequestError, list, normalizeDict, normalizeKey, requireStr, str } from './ng-options.js';

/** Commands handled here (normalised). */
export const MEDIA_COMMANDS: ReadonlySet<string> = new Set([
  'play media',
  'stop media',
  'play dtmf',
  'block dtmf',
  'unblock dtmf',
  'block media',
  'unblock media',
  'silence media',
  'unsilence media',
  'start recording',
  'stop recording',
  'pause recording',
]);

const BLOCKS: Readonly<Record<string, [BlockKind, boolean]>> = {
  'block dtmf': ['dtmf', true],
  'unblock dtmf': ['dtmf', false],
  'block media': ['media', true],
  'unblock media': ['media', false],
  'silence media': ['silence', true],
  'unsilence media': ['silence', false],
};

type Dict = Map<string, BValue>;

function findCall(engine: Engine, m: Dict): Call {
  const call = engine.calls.get(requireStr(m, 'call id', 'call-id'));
  if (!call) throw new EngineError('Unknown call-id');
  return call;
}

function flagsOf(m: Dict): Set<string> {
  return new Set(list(m, 'flags').map(normalizeKey));
}

function int(m: Dict, key: string, min: number, max: number): number | undefined {
  const v = str(m, key);
  if (v === undefined || v === '') return undefined;
  return intValue(key, v, min, max);
}

function intValue(key: string, raw: BValue, min: number, max: number): number {
  const v = Buffer.isBuffer(raw) ? raw.toString() : String(raw);
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new NgRequestError(`Invalid value for '${key}': '${v}'`);
  return n;
}

function selector(m: Dict, flags: Set<string>) {
  const all = flags.has('all') || normalizeKey(str(m, 'all') ?? '') === 'all';
  const sel: { fromTag?: string; address?: string; label?: string; all?: boolean } = { all };
  const fromTag = str(m, 'from tag');
  const address = str(m, 'address');
  const label = str(m, 'label') ?? str(m, 'from label');
  if (fromTag) sel.fromTag = fromTag;
  if (address) sel.address = address;
  if (label !== undefined) sel.label = label;
  return sel;
}

/** Block-type commands: from-tag selects a party only with `directional` (rtpengine); address/label always. */
function blockTarget(media: MediaService, call: Call, m: Dict, flags: Set<string>): Target {
  const sel = selector(m, flags);
  if (sel.address !== undefined || sel.label !== undefined) return media.select(call, { ...sel, all: false });
  if (sel.fromTag !== undefined && flags.has('directional'))
    return media.select(call, { fromTag: sel.fromTag });
  return 'call';
}

function blob(m: Dict): Buffer | undefined {
  const raw = m.get('blob');
  if (Buffer.isBuffer(raw)) return raw;
  if (typeof raw === 'string') return Buffer.from(raw, 'utf8'); // exact only when the bytes were valid UTF-8: prefer blob64
  const b64 = str(m, 'blob64');
  if (b64 !== undefined) return Buffer.from(b64, 'base64');
  return undefined;
}

/** `DTMF-security` of a `block DTMF` request with its `digit`/`code`, `frequency` and `volume`. */
function dtmfSecurity(m: Dict): DtmfSecurityOptions | 'off' | undefined {
  const raw = str(m, 'dtmf security');
  if (raw === undefined) return undefined;
  const mode = parseDtmfSecurity(raw);
  if (mode === undefined)
    throw new NgRequestError(
      `Unknown DTMF-security mode '${raw}' (drop, silence, tone, random, zero, DTMF or off)`,
    );
  if (mode === 'off') return 'off';
  const o: DtmfSecurityOptions = { mode };
  const d = m.get('digit') ?? m.get('code');
  if (d !== undefined) {
    const code =
      typeof d === 'number' ? d : /^\d{1,2}$/.test(String(d)) ? Number(d) : dtmfCharToEvent(String(d));
    if (code === undefined || !Number.isInteger(code) || code < 0 || code > 15)
      throw new NgRequestError(`Invalid DTMF digit '${String(d)}'`);
    o.digit = code;
  }
  // `frequencies` (a list, as for tones elsewhere): a single sine, so its first.
  const list = m.get('frequencies');
  const first = Array.isArray(list) ? list[0] : list;
  const f = first !== undefined ? intValue('frequencies', first, 50, 3900) : int(m, 'frequency', 50, 3900);
  if (f !== undefined) o.frequency = f;
  const v = int(m, 'volume', -63, 63);
  if (v !== undefined) o.volumeDb = -Math.abs(v);
  return o;
}

/** The `moh` dictionary: `file`, `blob` or `blob64`, and `connection: zero`; problems become warnings. */
function mohConfig(raw: BValue, warnings: string[]): MohConfig | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || Buffer.isBuffer(raw)) {
    warnings.push(`'moh' must be a dictionary: ignored`);
    return undefined;
  }
  const d = normalizeDict(raw as BDict);
  const file = str(d, 'file');
  const bytes = file === undefined ? blob(d) : undefined;
  if (file === undefined && !bytes) {
    warnings.push(
      `'moh' without file, blob or blob64 ignored${d.has('db id') ? ' (db-id is not supported)' : ''}`,
    );
    return undefined;
  }
  const mode = str(d, 'mode');
  if (mode !== undefined && normalizeKey(mode) !== 'sendonly')
    warnings.push(`'moh' mode '${mode}' is not supported yet: sendonly used`);
  const conn = str(d, 'connection');
  if (conn !== undefined && normalizeKey(conn) !== 'zero')
    warnings.push(`'moh' connection '${conn}' ignored`);
  return {
    source: file !== undefined ? { file } : { bytes: bytes! },
    connectionZero: conn !== undefined && normalizeKey(conn) === 'zero',
  };
}

/** Handles one media command; `command` is normalised (lowercase, spaces). */
export async function handleMediaCommand(
  engine: Engine,
  media: MediaService,
  command: string,
  body: BDict,
): Promise<BDict> {
  const m = normalizeDict(body);
  const call = findCall(engine, m);
  const flags = flagsOf(m);
  const block = BLOCKS[command];
  if (block) {
    const [kind, on] = block;
    const target = blockTarget(media, call, m, flags);
    const security = kind === 'dtmf' && on ? dtmfSecurity(m) : undefined;
    if (security === 'off') {
      media.unblock(call, kind, target, false);
      return { result: 'ok' };
    }
    if (on) media.block(call, kind, target, security);
    else media.unblock(call, kind, target, flags.has('all'));
    return { result: 'ok' };
  }
  switch (command) {
    case 'play media': {
      const parties = media.select(call, selector(m, flags));
      const file = str(m, 'file');
      const bytes = file === undefined ? blob(m) : undefined;
      const req: Parameters<MediaService['playMedia']>[2] = {};
      if (file !== undefined) req.file = file;
      if (bytes) req.bytes = bytes;
      const repeat = int(m, 'repeat times', 1, 10_000);
      if (repeat !== undefined) req.repeat = repeat;
      const repeatFor = int(m, 'repeat duration', 1, 86_400_000);
      if (repeatFor !== undefined) req.repeatDurationMs = repeatFor;
      const start = int(m, 'start pos', 0, 86_400_000);
      if (start !== undefined) req.startPosMs = start;
      const duration = await media.playMedia(call, parties, req);
      return { result: 'ok', duration };
    }
    case 'stop media': {
      const pos = media.stopMedia(call, media.select(call, selector(m, flags)));
      return pos === undefined ? { result: 'ok' } : { result: 'ok', 'last-frame-pos': pos };
    }
    case 'play dtmf': {
      const parties = media.select(call, selector(m, flags));
      const raw = m.get('code') ?? m.get('digit');
      if (raw === undefined || raw === '') throw new NgRequestError('No DTMF digit or code in message');
      let code: string | number;
      if (typeof raw === 'number') code = raw;
      else {
        const s = str(m, m.has('code') ? 'code' : 'digit')!;
        code = /^\d+$/.test(s) && Number(s) <= 15 && s.length <= 2 ? Number(s) : s;
      }
      const req: Parameters<MediaService['playDtmf']>[2] = { code };
      const duration = int(m, 'duration', 0, 100_000);
      const volume = int(m, 'volume', -63, 63);
      const pause = int(m, 'pause', 0, 100_000);
      if (duration !== undefined) req.durationMs = duration;
      if (volume !== undefined) req.volume = volume;
      if (pause !== undefined) req.pauseMs = pause;
      await media.playDtmf(call, parties, req);
      return { result: 'ok' };
    }
    case 'start recording':
      await media.startRecording(call);
      return { result: 'ok' };
    case 'stop recording': {
      const pause = flags.has('pause') || /^(yes|on|true)$/i.test(str(m, 'pause') ?? '');
      if (pause) media.pauseRecording(call);
      else await media.stopRecording(call);
      return { result: 'ok' };
    }
    case 'pause recording':
      media.pauseRecording(call);
      return { result: 'ok' };
    default:
      return { result: 'error', 'error-reason': 'Unrecognized command' };
  }
}

/** `IP:PORT` or `[IPv6]:PORT`, undefined when unusable. */
export function parseHostPort(s: string): { host: string; port: number } | undefined {
  const r = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  if (!r) return undefined;
  const port = Number(r[2]);
  return port > 0 && port < 65536 ? { host: r[1]!, port } : undefined;
}

/**
 * After a successful offer/answer: `record call` (yes/on starts, no/off stops) and a per-call
 * `DTMF-log-dest`, read from the normalised request. Returns warnings for values it could not use.
 */
export async function mediaAfterSignal(
  engine: Engine,
  media: MediaService,
  m: Dict,
  command: 'offer' | 'answer',
): Promise<string[]> {
  const call = engine.calls.get(str(m, 'call id') ?? '');
  if (!call) return [];
  const warnings: string[] = [];
  const o: Parameters<MediaService['afterSignal']>[1] = {};
  const moh = m.get('moh');
  if (moh !== undefined) {
    // The holder: the offerer on offer, the answerer (to-tag) on answer.
    const party = call.byTag(str(m, command === 'offer' ? 'from tag' : 'to tag') ?? '');
    const config = mohConfig(moh, warnings);
    if (party && config) o.moh = { party, config };
  }
  const rec = str(m, 'record call');
  if (rec !== undefined) {
    if (/^(yes|on|true)$/i.test(rec)) o.recordCall = true;
    else if (/^(no|off|false)$/i.test(rec)) o.recordCall = false;
    else warnings.push(`Invalid 'record call' value '${rec}' ignored`);
  }
  const dest = str(m, 'dtmf log dest');
  if (dest !== undefined) {
    const hp = parseHostPort(dest);
    if (hp) o.dtmfLogDest = hp;
    else warnings.push(`Invalid 'DTMF-log-dest' '${dest}' ignored`);
  }
  try {
    await media.afterSignal(call, o);
  } catch (e) {
    if (e instanceof EngineError) warnings.push(e.reason);
    else throw e;
  }
  return warnings;
}
