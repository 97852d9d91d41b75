/**
 * Value syntax of the SDP lines the model understands (RFC 8866 / RFC 4566): `o=`, `c=`, `m=` and the
 * `a=` name/value split. Pure functions over one line's value; the line-preserving model is in sdp.ts.
 */

/** Input is not SDP, breaks a limit, or a setter was given a value that cannot be written as SDP. */
export class SdpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SdpError';
  }
}

/** One `x=value` line: `type` is the single letter before `=`, `value` everything after it. */
export interface SdpLine {
  type: string;
  value: string;
}

/** `c=<nettype> <addrtype> <address>`; a multicast `/ttl[/count]` suffix stays part of `address`. */
export interface SdpConnection {
  netType: string;
  addrType: 'IP4' | 'IP6' | (string & {});
  address: string;
}

/** `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>`, numbers kept as text. */
export interface SdpOrigin {
  username: string;
  sessId: string;
  sessVersion: string;
  netType: string;
  addrType: string;
  address: string;
}

/** The fields of an `m=` line: `m=<media> <port>[/<count>] <proto> <fmt> ...`. */
export interface SdpMediaLine {
  kind: string;
  port: number;
  portCount: number | undefined;
  proto: string;
  formats: string[];
}

/** Splits a field list. SDP says single spaces; tolerate runs of spaces/tabs from sloppy senders. */
export function tokens(value: string): string[] {
  const t = value.trim();
  if (t === '') return [];
  // Well-formed lines (nearly all) split on single spaces without a regular expression.
  return t.includes('  ') || t.includes('\t') ? t.split(/[ \t]+/) : t.split(' ');
}

/** A token fit to be written into a space-separated field (non-empty, no whitespace or line breaks). */
function checkToken(what: string, v: string): string {
  if (typeof v !== 'string' || v === '' || /[\s\0]/.test(v)) {
    throw new SdpError(`${what} must be a non-empty token without spaces, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function parseConnection(value: string): SdpConnection | undefined {
  const t = tokens(value);
  if (t.length !== 3) return undefined;
  return { netType: t[0]!, addrType: t[1]!, address: t[2]! };
}

export function formatConnection(c: SdpConnection): string {
  return `${checkToken('netType', c.netType)} ${checkToken('addrType', c.addrType)} ${checkToken('address', c.address)}`;
}

export function parseOrigin(value: string): SdpOrigin | undefined {
  const t = tokens(value);
  if (t.length !== 6) return undefined;
  return {
    username: t[0]!,
    sessId: t[1]!,
    sessVersion: t[2]!,
    netType: t[3]!,
    addrType: t[4]!,
    address: t[5]!,
  };
}

export function formatOrigin(o: SdpOrigin): string {
  return [
    checkToken('username', o.username),
    checkToken('sessId', o.sessId),
    checkToken('sessVersion', o.sessVersion),
    checkToken('netType', o.netType),
    checkToken('addrType', o.addrType),
    checkToken('address', o.address),
  ].join(' ');
}

const DIGITS = /^[0-9]{1,5}$/;

/** Parses an m= value; undefined when it is not `<media> <port>[/<n>] <proto> [fmt...]`. */
export function parseMediaLine(value: string): SdpMediaLine | undefined {
  const t = tokens(value);
  // RFC requires at least one format, but rejected or datachannel sections are sometimes sent without.
  if (t.length < 3) return undefined;
  const [kind, portField, proto] = t as [string, string, string];
  const slash = portField.indexOf('/');
  const portText = slash < 0 ? portField : portField.slice(0, slash);
  const countText = slash < 0 ? undefined : portField.slice(slash + 1);
  if (!DIGITS.test(portText)) return undefined;
  const port = Number(portText);
  if (port > 65535) return undefined;
  let portCount: number | undefined;
  if (countText !== undefined) {
    if (!DIGITS.test(countText)) return undefined;
    portCount = Number(countText);
    if (portCount < 1) return undefined;
  }
  return { kind, port, portCount, proto, formats: t.slice(3) };
}

export function formatMediaLine(m: SdpMediaLine): string {
  if (!Number.isInteger(m.port) || m.port < 0 || m.port > 65535) {
    throw new SdpError(`port must be an integer 0..65535, got ${m.port}`);
  }
  if (
    m.portCount !== undefined &&
    (!Number.isInteger(m.portCount) || m.portCount < 1 || m.portCount > 65535)
  ) {
    throw new SdpError(`portCount must be a positive integer, got ${m.portCount}`);
  }
  const port = m.portCount === undefined ? `${m.port}` : `${m.port}/${m.portCount}`;
  const parts = [checkToken('kind', m.kind), port, checkToken('proto', m.proto)];
  for (const f of m.formats) parts.push(checkToken('format', f));
  return parts.join(' ');
}

/** Splits an `a=` value into attribute name and value (`''` for a property attribute like `a=sendrecv`). */
export function splitAttribute(value: string): { name: string; value: string } {
  const colon = value.indexOf(':');
  if (colon < 0) return { name: value.trimEnd(), value: '' };
  return { name: value.slice(0, colon).trimEnd(), value: value.slice(colon + 1) };
}

/** Builds an `a=` value; rejects names that would not read back as the same attribute. */
export function joinAttribute(name: string, value: string | undefined): string {
  if (typeof name !== 'string' || name === '' || /[\s:\0]/.test(name)) {
    throw new SdpError(
      `attribute name must be a non-empty token without ':' or spaces, got ${JSON.stringify(name)}`,
    );
  }
  if (value === undefined) return name;
  checkLineText('attribute value', value);
  return `${name}:${value}`;
}

/** Text that goes into a line must not break it. */
export function checkLineText(what: string, v: string): string {
  if (typeof v !== 'string' || /[\r\n\0]/.test(v)) {
    throw new SdpError(`${what} must not contain CR, LF or NUL`);
  }
  return v;
}
