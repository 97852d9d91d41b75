/**
 * Users and rooms as imc names them: user@domain. A parameter like `bob`, `bob@example.com` or
 * `sip:bob@example.com` becomes a party; a missing domain is the room's domain (as imc's build_uri does).
 */
import type { Party } from '../../store/imc-store.js';
import { parseUri } from '../../wire/sip/index.js';

/** SIP user part characters (RFC 3261 25.1 unreserved / user-unreserved / escaped), no '@' or ':'. */
const USER = /^(?:[A-Za-z0-9\-_.!~*'()&=+$,;?/]|%[0-9A-Fa-f]{2})+$/;
/** Room names: a stricter set, because they also appear in `[room]` lists and URIs of their own. */
const ROOM = /^[A-Za-z0-9\-_.!~*'()+]+$/;
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.?$|^\d{1,3}(?:\.\d{1,3}){3}$|^\[[0-9A-Fa-f:.]+\]$/;

/** Longest user, room or domain (the database columns are varchar(64)). */
export const MAX_NAME = 64;

export function validUser(u: string): boolean {
  return u.length > 0 && u.length <= MAX_NAME && USER.test(u);
}

export function validRoomName(r: string): boolean {
  return r.length > 0 && r.length <= MAX_NAME && ROOM.test(r);
}

export function validDomain(d: string): boolean {
  return d.length > 0 && d.length <= MAX_NAME && HOST.test(d);
}

/** Domains compare case-insensitively; we store them lower-cased. */
export function normDomain(d: string): string {
  return d.toLowerCase();
}

/**
 * A command parameter naming a user or room, completed with `domain` when it has none. undefined when it is
 * not a usable SIP address.
 */
export function paramToParty(value: string, domain: string): Party | undefined {
  const withScheme = value.includes(':') ? value : `sip:${value}`;
  const full = withScheme.includes('@') ? withScheme : `${withScheme}@${domain}`;
  try {
    const u = parseUri(full);
    if (u.scheme !== 'sip' && u.scheme !== 'sips') return undefined;
    if (u.user === undefined || u.port !== undefined || u.password !== undefined) return undefined;
    if (Object.keys(u.params).length > 0 || Object.keys(u.headers).length > 0) return undefined;
    if (!validUser(u.user) || !validDomain(u.host)) return undefined;
    return { user: u.user, domain: normDomain(u.host) };
  } catch {
    return undefined;
  }
}

/** `sip:user@domain`. */
export function partyUri(p: Party): string {
  return `sip:${p.user}@${p.domain}`;
}
