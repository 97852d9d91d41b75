/**
 * Line-preserving SDP model for rewriting offers and answers. Unlike sdp-transform, nothing is
 * regenerated from a parsed object: the text is kept as lines, and the proxy edits the few lines it owns
 * (`c=`, `m=` port, `a=rtcp`, ICE, crypto...) in place. `Sdp.parse(x).toString() === x` for CRLF input.
 *
 * @example
 * const sdp = Sdp.parse(offer);
 * for (const m of sdp.media) {
 *   m.port = allocated;
 *   m.connection = undefined;                 // use the session-level c=
 *   m.removeAttrs((n) => iceAttributeNames.has(n));
 *   m.rtcp = { port: allocated + 1 };
 * }
 * sdp.session.connection = { netType: 'IN', addrType: 'IP4', address: '203.0.113.1' };
 * reply.sdp = sdp.toString();
 */
import {
  type SdpConnection,
  type SdpLine,
  type SdpOrigin,
  SdpError,
  formatOrigin,
  parseConnection,
  parseMediaLine,
  parseOrigin,
} from './sdp-fields.js';
import { SdpMedia } from './sdp-media.js';
import { type SdpDirection, SdpSection, copyLines } from './sdp-section.js';

export {
  SdpError,
  type SdpConnection,
  type SdpLine,
  type SdpMediaLine,
  type SdpOrigin,
} from './sdp-fields.js';
export { type SdpRtcp, type SdpRtpmap, SdpMedia } from './sdp-media.js';
export { type SdpDirection, SdpSection, iceAttributeNames, isDirection } from './sdp-section.js';

/** Largest SDP accepted, in UTF-8 bytes. */
export const MAX_SDP_BYTES = 64 * 1024;
/** Most lines accepted. */
export const MAX_SDP_LINES = 2000;
/** Most m= sections accepted. */
export const MAX_SDP_MEDIA = 64;

/** A whole session description: the session-level section and the media sections, in order. */
export class Sdp {
  /** Lines before the first `m=`, starting with `v=0`. */
  session: SdpSection;
  /** The `m=` sections in order; splice freely to drop or add sections. */
  media: SdpMedia[];

  constructor(session: SdpSection, media: SdpMedia[] = []) {
    this.session = session;
    this.media = media;
  }

  /**
   * Parses SDP text. Accepts CRLF or bare LF line ends and a missing final line end; refuses (SdpError)
   * anything that does not start with `v=0`, has a line that is not `x=...`, lacks `o=` or `s=`, has a
   * malformed `o=`, `c=` or `m=` line, or exceeds {@link MAX_SDP_BYTES}, {@link MAX_SDP_LINES} or
   * {@link MAX_SDP_MEDIA}.
   */
  static parse(text: string): Sdp {
    if (typeof text !== 'string') throw new SdpError('SDP must be a string');
    if (text.length > MAX_SDP_BYTES || Buffer.byteLength(text, 'utf8') > MAX_SDP_BYTES) {
      throw new SdpError(`SDP larger than ${MAX_SDP_BYTES} bytes`);
    }
    const raw = text.split('\n');
    // One empty piece after a final line end is normal; tolerate a few stray blank lines after it too.
    while (raw.length > 0 && (raw[raw.length - 1] === '' || raw[raw.length - 1] === '\r')) raw.pop();
    if (raw.length > MAX_SDP_LINES) throw new SdpError(`SDP has more than ${MAX_SDP_LINES} lines`);
    if (raw.length === 0) throw new SdpError('empty SDP');

    const session: SdpLine[] = [];
    const media: SdpLine[][] = [];
    let current = session;
    for (let i = 0; i < raw.length; i++) {
      let s = raw[i]!;
      if (s.endsWith('\r')) s = s.slice(0, -1);
      if (s.length < 2 || s.charCodeAt(1) !== 0x3d || !/^[a-zA-Z]$/.test(s[0]!)) {
        throw new SdpError(`line ${i + 1} is not of the form x=value`);
      }
      if (/[\r\0]/.test(s)) throw new SdpError(`line ${i + 1} contains CR or NUL`);
      const line: SdpLine = { type: s[0]!, value: s.slice(2) };
      if (i === 0 && (line.type !== 'v' || line.value !== '0')) throw new SdpError('SDP must start with v=0');
      switch (line.type) {
        case 'm':
          if (media.length >= MAX_SDP_MEDIA)
            throw new SdpError(`SDP has more than ${MAX_SDP_MEDIA} m= sections`);
          if (!parseMediaLine(line.value)) throw new SdpError(`line ${i + 1}: malformed m= line`);
          current = [];
          media.push(current);
          break;
        case 'c':
          if (!parseConnection(line.value)) throw new SdpError(`line ${i + 1}: malformed c= line`);
          break;
        case 'o':
          if (!parseOrigin(line.value)) throw new SdpError(`line ${i + 1}: malformed o= line`);
          break;
      }
      current.push(line);
    }
    if (!session.some((l) => l.type === 'o')) throw new SdpError('SDP has no o= line');
    if (!session.some((l) => l.type === 's')) throw new SdpError('SDP has no s= line');
    return new Sdp(
      new SdpSection(session),
      media.map((lines) => new SdpMedia(lines)),
    );
  }

  /** `o=` of the session, undefined if it was removed. */
  get origin(): SdpOrigin | undefined {
    const l = this.session.lines.find((x) => x.type === 'o');
    return l ? parseOrigin(l.value) : undefined;
  }

  /** Rewrites `o=` in place (inserted after `v=` if missing). */
  set origin(o: SdpOrigin) {
    this.session.setLine('o', formatOrigin(o));
  }

  /** The `c=` that applies to a media section: its own, else the session's. */
  connectionOf(m: SdpMedia): SdpConnection | undefined {
    return m.connection ?? this.session.connection;
  }

  /** The direction that applies to a media section: its own, else the session's, else sendrecv. */
  directionOf(m: SdpMedia): SdpDirection {
    return m.direction ?? this.session.direction ?? 'sendrecv';
  }

  /** All lines in order: session then media. */
  lines(): SdpLine[] {
    return [...this.session.lines, ...this.media.flatMap((m) => m.lines)];
  }

  /** The SDP text, every line ended by CRLF (as rtpengine emits it). */
  toString(): string {
    let out = '';
    for (const l of this.session.lines) out += `${l.type}=${l.value}\r\n`;
    for (const m of this.media) for (const l of m.lines) out += `${l.type}=${l.value}\r\n`;
    return out;
  }

  /** Deep copy: edits to the copy never show in the original. */
  clone(): Sdp {
    return new Sdp(
      new SdpSection(copyLines(this.session.lines)),
      this.media.map((m) => m.clone()),
    );
  }
}
