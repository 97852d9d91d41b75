/**
 * The RTPproxy control protocol (sippy/rtpproxy, spoken by Kamailio's `rtpproxy` module): one command per
 * line or datagram, a command letter with modifiers glued to it, then space-separated arguments. Pure parse
 * and serialize; errors carry RTPproxy's numeric `E<n>` codes, checked in the same order RTPproxy checks
 * them (command letter, argument count, modifiers, then each argument).
 */
import { isIP } from 'node:net';

/** RTPproxy's error codes (the numbers of `E<n>` replies). */
export const RTPP_E = {
  unknownCommand: 0,
  argumentCount: 1,
  modifiersNotAllowed: 2,
  subcommandNotAllowed: 3,
  recordModifier: 5,
  queryModifier: 6,
  copyModifier: 7,
  deleteModifier: 8,
  statsModifier: 9,
  notifyTagEncoding: 10,
  externalNoBridge: 11,
  internalNoBridge: 12,
  ptime: 13,
  codecs: 14,
  localAddressSyntax: 15,
  remoteAddressSyntax: 16,
  playModifier: 17,
  infoModifier: 18,
  replyTooBig: 25,
  localAddress: 31,
  remoteAddress: 32,
  unknownModifier: 35,
  noAddressForFamily: 36,
  mediaAddress: 37,
  sessionUnknown: 50,
  playFailed: 60,
  queryFailed: 62,
  copyFailed: 65,
  statsFailed: 68,
  listenFailed: 71,
  notifyDisabled: 75,
  overload: 98,
} as const;

export class RtppError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'RtppError';
  }
}

/** A tag with its `;medianum` suffix (1 when absent): which m= line of the call a U/L is about. */
export interface RtppTag {
  tag: string;
  medianum: number;
}

/** U/L modifiers. `sides` lists e/i letters in order: [this SDP's sender side, its recipient's side]. */
export interface RtppUlModifiers {
  asymmetric: boolean | undefined;
  sides: ('e' | 'i')[];
  ipv6: boolean;
  weak: boolean;
  /** z<ms>: repacketize to this ptime. */
  ptime: number | undefined;
  /** c<pt,...>: payload types of the stream. */
  codecs: number[] | undefined;
  /** l<addr> or l{label}: local address to use. */
  local: { address: string } | { label: string } | undefined;
  /** r<addr>: use the local address that reaches this remote. */
  remote: string | undefined;
  newPort: boolean;
}

export interface RtppSession {
  callId: string;
  fromTag: RtppTag;
  toTag: RtppTag | undefined;
}

export type RtppCommand =
  | { kind: 'V' }
  | { kind: 'VF'; date: string }
  | { kind: 'I'; brief: boolean }
  | { kind: 'X' }
  | { kind: 'G'; verbose: boolean; names: string[] }
  | (RtppSession & {
      kind: 'U' | 'L';
      modifiers: RtppUlModifiers;
      /** The address and port the command names; null: none usable (on hold, or not an address). */
      media: { address: string; port: number } | null;
      /** 0.0.0.0 / :: given: the party is on hold. */
      onHold: boolean;
      notify: { socket: string; tag: string } | undefined;
    })
  | (RtppSession & { kind: 'D'; weak: boolean })
  | (RtppSession & { kind: 'P'; count: number; prompt: string; codecs: string })
  | (RtppSession & { kind: 'S' })
  | (RtppSession & { kind: 'R'; single: boolean })
  | (RtppSession & { kind: 'N'; all: boolean })
  | (RtppSession & { kind: 'C'; mode: '' | 's' | 'p'; target: string })
  | (RtppSession & { kind: 'Q'; verbose: boolean; counters: string[] });

/** Longest command line we parse; longer ones are refused, not buffered. */
export const RTPP_MAX_COMMAND = 8192;
/** Q takes at most this many counter names (RTPproxy's limit is of the same order). */
const MAX_QUERY_STATS = 16;
const MAX_STATS = 255;

const fail = (code: number, message: string): never => {
  throw new RtppError(code, message);
};

export function parseTag(raw: string): RtppTag {
  const semi = raw.lastIndexOf(';');
  if (semi > 0) {
    const n = raw.slice(semi + 1);
    if (/^\d{1,4}$/.test(n) && Number(n) > 0) return { tag: raw.slice(0, semi), medianum: Number(n) };
  }
  return { tag: raw, medianum: 1 };
}

function formatTag(t: RtppTag, withMedianum: boolean): string {
  return withMedianum && t.medianum !== 1 ? `${t.tag};${t.medianum}` : t.tag;
}

/** RTPproxy's URL decoding of notify tags: `%XX` only; a broken escape is an error. */
function urlUnquote(s: string): string | undefined {
  if (!s.includes('%')) return s;
  if (/%(?![0-9a-fA-F]{2})/.test(s)) return undefined;
  try {
    return decodeURIComponent(s);
  } catch {
    return s.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
  }
}

/**
 * Splits an address glued to an l/r modifier: `l1.2.3.4`, `l[::1]`, `l{label}`. Returns the value and the
 * rest of the modifier string.
 */
function takeAddress(s: string): { value: string; bracket: '{' | '[' | ''; rest: string } | undefined {
  const open = s[0];
  if (open === '[' || open === '{') {
    const close = s.indexOf(open === '[' ? ']' : '}');
    if (close <= 1) return undefined;
    return { value: s.slice(1, close), bracket: open, rest: s.slice(close + 1) };
  }
  const m = /^[0-9a-fA-F.:]+/.exec(s);
  if (!m) return undefined;
  return { value: m[0], bracket: '', rest: s.slice(m[0].length) };
}

function parseUlModifiers(mods: string, bridge: boolean): RtppUlModifiers {
  const out: RtppUlModifiers = {
    asymmetric: undefined,
    sides: [],
    ipv6: false,
    weak: false,
    ptime: undefined,
    codecs: undefined,
    local: undefined,
    remote: undefined,
    newPort: false,
  };
  let rest = mods;
  while (rest.length > 0) {
    const c = rest[0]!.toLowerCase();
    rest = rest.slice(1);
    switch (c) {
      case 'a':
        out.asymmetric = true;
        break;
      case 's':
        out.asymmetric = false;
        break;
      case 'e':
      case 'i':
        if (!bridge || out.sides.length >= 2)
          fail(c === 'e' ? RTPP_E.externalNoBridge : RTPP_E.internalNoBridge, `'${c}' needs bridging mode`);
        out.sides.push(c);
        break;
      case '6':
        out.ipv6 = true;
        break;
      case 'w':
        out.weak = true;
        break;
      case 'z': {
        const m = /^\d*/.exec(rest)?.[0] ?? '';
        const n = m === '' ? 0 : Number(m);
        if (n <= 0 || n >= 1000) fail(RTPP_E.ptime, `invalid ptime in z modifier`);
        out.ptime = n;
        rest = rest.slice(m.length);
        break;
      }
      case 'c': {
        const m = /^[\d,]*/.exec(rest)?.[0] ?? '';
        if (m === '' || out.codecs !== undefined) fail(RTPP_E.codecs, 'invalid codec list in c modifier');
        const pts = m.split(',').filter((x) => x !== '');
        if (pts.length === 0 || pts.some((p) => p.length > 3 || Number(p) > 127))
          fail(RTPP_E.codecs, 'invalid payload type in c modifier');
        out.codecs = pts.map(Number);
        rest = rest.slice(m.length);
        break;
      }
      case 'l': {
        const a = takeAddress(rest);
        if (!a) return fail(RTPP_E.localAddressSyntax, 'invalid address in l modifier');
        if (a.bracket === '{') out.local = { label: a.value };
        else if (isIP(a.value) === 0) fail(RTPP_E.localAddress, `invalid local address '${a.value}'`);
        else out.local = { address: a.value };
        rest = a.rest;
        break;
      }
      case 'r': {
        const a = takeAddress(rest);
        if (!a || a.bracket === '{') return fail(RTPP_E.remoteAddressSyntax, 'invalid address in r modifier');
        if (isIP(a.value) === 0) fail(RTPP_E.remoteAddress, `invalid remote address '${a.value}'`);
        out.remote = a.value;
        rest = a.rest;
        break;
      }
      case 'n':
        out.newPort = true;
        break;
      default:
        fail(RTPP_E.unknownModifier, `unknown command modifier '${c}'`);
    }
  }
  return out;
}

/** RTPproxy resolves the address only when its length fits the family; otherwise there is no address. */
function parseMedia(address: string, port: string, ipv6: boolean): { media: RtppUlMedia; onHold: boolean } {
  const fits = ipv6
    ? address.length >= 2 && address.length <= 45
    : address.length >= 7 && address.length <= 15;
  if (!fits) return { media: null, onHold: false };
  const v6 = address.replace(/^\[(.*)\]$/, '$1');
  if (isIP(v6) !== (ipv6 ? 6 : 4) || !/^\d{1,5}$/.test(port) || Number(port) > 65535)
    fail(RTPP_E.mediaAddress, `cannot use ${address} port ${port}`);
  if (v6 === '0.0.0.0' || v6 === '::') return { media: null, onHold: true };
  return { media: { address: v6, port: Number(port) }, onHold: false };
}
type RtppUlMedia = { address: string; port: number } | null;

export interface ParseOptions {
  /** The proxy bridges two networks (e/i modifiers allowed). */
  bridge?: boolean;
}

/** Parses one command (no cookie). Throws RtppError with the code RTPproxy would reply. */
export function parseRtppCommand(line: string, opts: ParseOptions = {}): RtppCommand {
  if (line.length > RTPP_MAX_COMMAND) fail(RTPP_E.argumentCount, 'command too long');
  const argv = line.split(/[ \t\r\n]+/).filter((a) => a !== '');
  const head = argv[0];
  if (head === undefined) return fail(RTPP_E.unknownCommand, 'empty command');
  const letter = head[0]!.toUpperCase();
  let mods = head.slice(1);
  const argc = argv.length;
  const sub = argv.indexOf('&&');
  const nargs = (min: number, max: number): void => {
    if (argc < min || argc > max)
      fail(RTPP_E.argumentCount, `${letter}: invalid number of arguments (${argc})`);
  };
  const noMods = (): void => {
    if (mods !== '') fail(RTPP_E.modifiersNotAllowed, `${letter}: modifiers are not supported`);
  };
  const session = (fpos: number): RtppSession => {
    const to = argv[fpos + 1];
    return {
      callId: argv[1]!,
      fromTag: parseTag(argv[fpos]!),
      toTag: to === undefined ? undefined : parseTag(to),
    };
  };
  if (sub >= 0 && letter !== 'U' && letter !== 'L' && 'VIXGDPSRNCQ'.includes(letter))
    fail(RTPP_E.subcommandNotAllowed, 'sub-commands are not supported by this command');
  switch (letter) {
    case 'V':
      if (mods[0] === 'F' || mods[0] === 'f') {
        mods = mods.slice(1);
        nargs(2, 2);
        noMods();
        return { kind: 'VF', date: argv[1]! };
      }
      nargs(1, 1);
      noMods();
      return { kind: 'V' };
    case 'I':
      nargs(1, 1);
      if (mods !== '' && mods.toLowerCase() !== 'b')
        fail(RTPP_E.infoModifier, `I: unknown modifier '${mods}'`);
      return { kind: 'I', brief: mods !== '' };
    case 'X':
      nargs(1, 1);
      noMods();
      return { kind: 'X' };
    case 'G':
      nargs(1, MAX_STATS + 1);
      if (mods !== '' && mods.toLowerCase() !== 'v')
        fail(RTPP_E.statsModifier, `G: unknown modifier '${mods}'`);
      return { kind: 'G', verbose: mods !== '', names: argv.slice(1) };
    case 'U':
    case 'L': {
      if (sub >= 0) fail(RTPP_E.subcommandNotAllowed, 'sub-commands (&&) are not supported');
      if (letter === 'U') nargs(5, 8);
      else nargs(5, 6);
      let toPos: number | undefined = argc >= 6 ? 5 : undefined;
      let notify: { socket: string; tag: string } | undefined;
      if (letter === 'U' && argc > 6) {
        const [sockPos, tagPos] = argc === 8 ? [6, 7] : [5, 6];
        if (argc === 7) toPos = undefined;
        const tag = urlUnquote(argv[tagPos]!);
        if (tag === undefined) fail(RTPP_E.notifyTagEncoding, 'invalid URL encoding of the notify tag');
        notify = { socket: argv[sockPos]!, tag: tag! };
      }
      const modifiers = parseUlModifiers(mods, opts.bridge === true);
      const { media, onHold } = parseMedia(argv[2]!, argv[3]!, modifiers.ipv6);
      const to = toPos === undefined ? undefined : argv[toPos];
      return {
        kind: letter,
        callId: argv[1]!,
        fromTag: parseTag(argv[4]!),
        toTag: to === undefined ? undefined : parseTag(to),
        modifiers,
        media,
        onHold,
        notify,
      };
    }
    case 'D': {
      nargs(3, 4);
      if (mods !== '' && mods.toLowerCase() !== 'w')
        fail(RTPP_E.deleteModifier, `D: unknown modifier '${mods}'`);
      return { kind: 'D', weak: mods !== '', ...session(2) };
    }
    case 'P': {
      nargs(5, 6);
      if (mods !== '' && !/^\d+$/.test(mods)) fail(RTPP_E.playModifier, `P: invalid repeat count '${mods}'`);
      const count = mods === '' ? 1 : Number(mods);
      return { kind: 'P', count, prompt: argv[2]!, codecs: argv[3]!, ...session(4) };
    }
    case 'S':
      nargs(3, 4);
      noMods();
      return { kind: 'S', ...session(2) };
    case 'R':
      nargs(3, 4);
      if (mods !== '' && mods.toLowerCase() !== 's')
        fail(RTPP_E.recordModifier, `R: unknown modifier '${mods}'`);
      return { kind: 'R', single: mods !== '', ...session(2) };
    case 'N':
      nargs(3, 4);
      if (mods !== '' && mods.toLowerCase() !== 'a') fail(RTPP_E.modifiersNotAllowed, `N: unknown modifier`);
      return { kind: 'N', all: mods !== '', ...session(2) };
    case 'C': {
      nargs(4, 5);
      const m = mods.toLowerCase();
      if (m !== '' && m !== 's' && m !== 'p') fail(RTPP_E.copyModifier, `C: unknown modifier '${mods}'`);
      return { kind: 'C', mode: m as '' | 's' | 'p', target: argv[2]!, ...session(3) };
    }
    case 'Q': {
      nargs(3, 4 + MAX_QUERY_STATS);
      if (mods !== '' && mods.toLowerCase() !== 'v')
        fail(RTPP_E.queryModifier, `Q: unknown modifier '${mods}'`);
      return { kind: 'Q', verbose: mods !== '', ...session(2), counters: argv.slice(4) };
    }
    default:
      return fail(RTPP_E.unknownCommand, `unknown command '${head[0]}'`);
  }
}

function ulModifiers(m: RtppUlModifiers): string {
  let s = '';
  if (m.asymmetric === true) s += 'a';
  if (m.asymmetric === false) s += 's';
  s += m.sides.join('');
  if (m.ipv6) s += '6';
  if (m.weak) s += 'w';
  if (m.ptime !== undefined) s += `z${m.ptime}`;
  if (m.codecs) s += `c${m.codecs.join(',')}`;
  if (m.local) s += 'address' in m.local ? `l${bracket(m.local.address)}` : `l{${m.local.label}}`;
  if (m.remote) s += `r${bracket(m.remote)}`;
  if (m.newPort) s += 'n';
  return s;
}

const bracket = (a: string): string => (a.includes(':') ? `[${a}]` : a);

function tags(s: RtppSession, medianum: boolean): string[] {
  return [formatTag(s.fromTag, medianum), ...(s.toTag ? [formatTag(s.toTag, medianum)] : [])];
}

/** Serializes a command (what a client such as Kamailio sends). parse(format(c)) gives c back. */
export function formatRtppCommand(c: RtppCommand): string {
  switch (c.kind) {
    case 'V':
    case 'X':
      return c.kind;
    case 'VF':
      return `VF ${c.date}`;
    case 'I':
      return c.brief ? 'Ib' : 'I';
    case 'G':
      return [c.verbose ? 'Gv' : 'G', ...c.names].join(' ');
    case 'U':
    case 'L': {
      const addr = c.media?.address ?? (c.onHold ? (c.modifiers.ipv6 ? '::' : '0.0.0.0') : '-');
      const port = c.media?.port ?? 0;
      const parts = [`${c.kind}${ulModifiers(c.modifiers)}`, c.callId, addr, String(port), ...tags(c, true)];
      if (c.notify) parts.push(c.notify.socket, encodeURIComponent(c.notify.tag));
      return parts.join(' ');
    }
    case 'D':
      return [c.weak ? 'Dw' : 'D', c.callId, ...tags(c, false)].join(' ');
    case 'P':
      return [`P${c.count === 1 ? '' : c.count}`, c.callId, c.prompt, c.codecs, ...tags(c, true)].join(' ');
    case 'S':
      return ['S', c.callId, ...tags(c, true)].join(' ');
    case 'R':
      return [c.single ? 'Rs' : 'R', c.callId, ...tags(c, true)].join(' ');
    case 'N':
      return [c.all ? 'Na' : 'N', c.callId, ...tags(c, true)].join(' ');
    case 'C':
      return [`C${c.mode}`, c.callId, c.target, ...tags(c, true)].join(' ');
    case 'Q':
      return [c.verbose ? 'Qv' : 'Q', c.callId, ...tags(c, true), ...c.counters].join(' ');
  }
}

/** A UDP datagram: `<cookie> <command>`. Returns undefined when there is no cookie to reply with. */
export function splitCookie(datagram: string): { cookie: string; command: string } | undefined {
  const m = /^\s*(\S+)[ \t]*([\s\S]*)$/.exec(datagram);
  if (!m) return undefined;
  return { cookie: m[1]!, command: m[2]!.replace(/[\r\n]+$/, '') };
}

/** The U/L reply: `port`, or `port addr`, with ` 6` for IPv6. */
export function formatPortReply(port: number, address?: string): string {
  if (!address) return String(port);
  return `${port} ${address}${isIP(address) === 6 ? ' 6' : ''}`;
}

export function formatErrorReply(code: number): string {
  return `E${code}`;
}
