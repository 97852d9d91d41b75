/**
 * One `m=` section of the line-preserving SDP model: the `m=` line fields and the media-level attributes
 * a media proxy rewrites (`a=rtcp`, `a=rtcp-mux`, `a=mid`, `a=ptime`, codecs).
 */
import {
  type SdpConnection,
  type SdpLine,
  type SdpMediaLine,
  SdpError,
  formatConnection,
  formatMediaLine,
  parseMediaLine,
  tokens,
} from './sdp-fields.js';
import { SdpSection, copyLines } from './sdp-section.js';

/** RFC 8866 §5 line order inside a media section. */
const MEDIA_ORDER = 'micbka';

/** `a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>]`. */
export interface SdpRtpmap {
  encoding: string;
  clockRate: number;
  channels?: number;
}

/** `a=rtcp:<port> [<nettype> <addrtype> <address>]` (RFC 3605). */
export interface SdpRtcp {
  port: number;
  connection?: SdpConnection;
}

function parsePort(text: string | undefined): number | undefined {
  if (text === undefined || !/^[0-9]{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}

/** One `m=` section: the `m=` line (`lines[0]`) and the lines after it up to the next `m=`. */
export class SdpMedia extends SdpSection {
  /** The last parse of the m= line and the text it came from (lines may be edited directly). */
  private parsedFrom: string | undefined;
  private parsed: SdpMediaLine | undefined;

  /** `lines[0]` must be a well-formed `m=` line (throws SdpError otherwise). */
  constructor(lines: SdpLine[]) {
    super(lines);
    this.mline();
  }

  /** Builds a section holding only its `m=` line. */
  static create(m: Omit<SdpMediaLine, 'portCount'> & { portCount?: number }): SdpMedia {
    return new SdpMedia([{ type: 'm', value: formatMediaLine({ portCount: undefined, ...m }) }]);
  }

  protected override get order(): string {
    return MEDIA_ORDER;
  }

  /** The parsed m= line; callers must not change it. */
  private mline(): SdpMediaLine {
    const l = this.lines[0];
    if (l?.type === 'm' && l.value === this.parsedFrom && this.parsed) return this.parsed;
    const m = l?.type === 'm' ? parseMediaLine(l.value) : undefined;
    if (!m) throw new SdpError('media section does not start with a valid m= line');
    this.parsedFrom = l!.value;
    this.parsed = m;
    return m;
  }

  private rewrite(change: Partial<SdpMediaLine>): void {
    const value = formatMediaLine({ ...this.mline(), ...change });
    this.lines[0]!.value = value;
  }

  /** Media type: audio, video, image, application, text, message... */
  get kind(): string {
    return this.mline().kind;
  }
  set kind(v: string) {
    this.rewrite({ kind: v });
  }

  get port(): number {
    return this.mline().port;
  }
  set port(v: number) {
    this.rewrite({ port: v });
  }

  /** The `/<number of ports>` suffix of the m= port, undefined when absent. */
  get portCount(): number | undefined {
    return this.mline().portCount;
  }
  set portCount(v: number | undefined) {
    this.rewrite({ portCount: v });
  }

  /** Transport protocol: RTP/AVP, RTP/SAVPF, UDP/TLS/RTP/SAVPF, udptl, UDP/DTLS/SCTP... */
  get proto(): string {
    return this.mline().proto;
  }
  set proto(v: string) {
    this.rewrite({ proto: v });
  }

  /** Format list (payload types for RTP). A fresh array: assign a new one to change the m= line. */
  get formats(): string[] {
    return [...this.mline().formats];
  }
  set formats(v: string[]) {
    this.rewrite({ formats: [...v] });
  }

  /** A port of 0 rejects (or disables) the media section (RFC 3264 §6). */
  get rejected(): boolean {
    return this.port === 0;
  }

  /** `a=rtcp`, undefined when absent or malformed. */
  get rtcp(): SdpRtcp | undefined {
    const v = this.attr('rtcp');
    if (v === undefined) return undefined;
    const t = tokens(v);
    const port = parsePort(t[0]);
    if (port === undefined) return undefined;
    if (t.length === 1) return { port };
    if (t.length !== 4) return undefined;
    return { port, connection: { netType: t[1]!, addrType: t[2]!, address: t[3]! } };
  }

  /** Rewrites `a=rtcp` in place (or appends it); undefined removes it. */
  set rtcp(r: SdpRtcp | undefined) {
    if (r === undefined) {
      this.removeAttrs('rtcp');
      return;
    }
    if (!Number.isInteger(r.port) || r.port < 0 || r.port > 65535) {
      throw new SdpError(`rtcp port must be an integer 0..65535, got ${r.port}`);
    }
    this.setAttr('rtcp', r.connection ? `${r.port} ${formatConnection(r.connection)}` : `${r.port}`);
  }

  /** `a=rtcp-mux` (RFC 5761) is present. Setting true appends it when missing; false removes it. */
  get rtcpMux(): boolean {
    return this.hasAttr('rtcp-mux');
  }
  set rtcpMux(on: boolean) {
    if (!on) this.removeAttrs('rtcp-mux');
    else if (!this.rtcpMux) this.addAttr('rtcp-mux');
  }

  /** `a=mid` (RFC 5888); setting undefined removes it. */
  get mid(): string | undefined {
    return this.attr('mid');
  }
  set mid(v: string | undefined) {
    if (v === undefined) this.removeAttrs('mid');
    else this.setAttr('mid', v);
  }

  /** `a=ptime` in milliseconds, undefined when absent or not a positive number. */
  get ptime(): number | undefined {
    const v = this.attr('ptime');
    if (v === undefined) return undefined;
    const t = v.trim();
    if (!/^[0-9]+(\.[0-9]+)?$/.test(t)) return undefined;
    const n = Number(t);
    return n > 0 ? n : undefined;
  }
  set ptime(v: number | undefined) {
    if (v === undefined) {
      this.removeAttrs('ptime');
      return;
    }
    if (!Number.isFinite(v) || v <= 0) throw new SdpError(`ptime must be a positive number, got ${v}`);
    this.setAttr('ptime', String(v));
  }

  /** `a=rtpmap` by payload type; the first mapping of a payload type wins, malformed lines are skipped. */
  rtpmaps(): Map<number, SdpRtpmap> {
    const out = new Map<number, SdpRtpmap>();
    for (const v of this.attrs('rtpmap')) {
      const t = tokens(v);
      if (t.length !== 2) continue;
      const pt = parsePayloadType(t[0]);
      if (pt === undefined || out.has(pt)) continue;
      const parts = t[1]!.split('/');
      if (parts.length < 2 || parts.length > 3 || parts[0] === '') continue;
      const clockRate = parsePositive(parts[1]);
      if (clockRate === undefined) continue;
      const map: SdpRtpmap = { encoding: parts[0]!, clockRate };
      if (parts.length === 3) {
        const channels = parsePositive(parts[2]);
        if (channels === undefined) continue;
        map.channels = channels;
      }
      out.set(pt, map);
    }
    return out;
  }

  /** Parameters of the first `a=fmtp:<pt> <params>`, undefined when there is none. */
  fmtp(pt: number | string): string | undefined {
    const want = String(pt);
    for (const v of this.attrs('fmtp')) {
      const m = /^[ \t]*([^ \t]+)(?:[ \t]+(.*))?$/.exec(v);
      if (m && m[1] === want) return m[2] ?? '';
    }
    return undefined;
  }

  /**
   * Drops formats from the m= line together with their `a=rtpmap`, `a=fmtp` and `a=rtcp-fb` lines
   * (`a=rtcp-fb:*` stays). Returns how many formats were removed from the m= line.
   */
  removeFormats(formats: Iterable<string | number>): number {
    const drop = new Set([...formats].map(String));
    const before = this.formats;
    const kept = before.filter((f) => !drop.has(f));
    if (kept.length !== before.length) this.formats = kept;
    this.removeAttrs(
      (name, value) =>
        (name === 'rtpmap' || name === 'fmtp' || name === 'rtcp-fb') && drop.has(tokens(value)[0] ?? ''),
    );
    return before.length - kept.length;
  }

  override clone(): SdpMedia {
    return new SdpMedia(copyLines(this.lines));
  }
}

function parsePayloadType(text: string | undefined): number | undefined {
  if (text === undefined || !/^[0-9]{1,3}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 127 ? n : undefined;
}

function parsePositive(text: string | undefined): number | undefined {
  if (text === undefined || !/^[0-9]{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n > 0 ? n : undefined;
}
