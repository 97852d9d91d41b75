/**
 * ICE-lite (RFC 8445 section 2.5) on a WebRTC party's port. We gather one host candidate per component (our
 * media port), never control and never check: the browser, a full agent, sends binding requests to our
 * candidate, and we answer those that carry our username fragment and MESSAGE-INTEGRITY under our password,
 * with its address as XOR-MAPPED-ADDRESS (also under our password, with FINGERPRINT). Requests that fail
 * get 400/401 and are not taken as a path. USE-CANDIDATE marks the path the browser nominated.
 */
import { randomInt } from 'node:crypto';
import {
  ATTR,
  attribute,
  BINDING_ERROR,
  BINDING_REQUEST,
  BINDING_SUCCESS,
  buildStun,
  checkFingerprint,
  checkIntegrity,
  parseStun,
  xorMappedAddress,
} from '../wire/stun.js';

export interface IceCredentials {
  ufrag: string;
  pwd: string;
}

const ICE_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function iceString(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += ICE_CHARS[randomInt(ICE_CHARS.length)];
  return s;
}

/** Fresh credentials: 8 characters of ufrag (RFC 8839: at least 4), 24 of password (at least 22). */
export function newIceCredentials(): IceCredentials {
  return { ufrag: iceString(8), pwd: iceString(24) };
}

export type BindingOutcome =
  /** A valid check: the success response to send back; `nominated` when it carried USE-CANDIDATE. */
  | { reply: Buffer; nominated: boolean }
  /** Not a valid check of ours: an error response when it was a request at all, and why. */
  | { reply?: Buffer; error: string };

function errorReply(tid: Buffer, code: 400 | 401, reason: string): Buffer {
  const v = Buffer.concat([Buffer.from([0, 0, Math.floor(code / 100), code % 100]), Buffer.from(reason)]);
  return buildStun(BINDING_ERROR, tid, [[ATTR.ERROR_CODE, v]]);
}

/** Answers one STUN message that arrived from `from` on a port whose local credentials are `local`. */
export function answerBinding(
  b: Buffer,
  from: { address: string; port: number },
  local: IceCredentials,
): BindingOutcome {
  const m = parseStun(b);
  if (!m) return { error: 'not a STUN message' };
  if (m.type !== BINDING_REQUEST) return { error: `STUN message type 0x${m.type.toString(16)} ignored` };
  if (!checkFingerprint(b, m)) return { error: 'bad FINGERPRINT' };
  const user = attribute(m, ATTR.USERNAME)?.value.toString('utf8');
  if (user === undefined || !attribute(m, ATTR.MESSAGE_INTEGRITY))
    return {
      reply: errorReply(m.transactionId, 400, 'Bad Request'),
      error: 'no USERNAME or MESSAGE-INTEGRITY',
    };
  if (!user.startsWith(`${local.ufrag}:`) || !checkIntegrity(b, m, local.pwd))
    return { reply: errorReply(m.transactionId, 401, 'Unauthorized'), error: 'wrong username or password' };
  const reply = buildStun(
    BINDING_SUCCESS,
    m.transactionId,
    [[ATTR.XOR_MAPPED_ADDRESS, xorMappedAddress(from.address, from.port, m.transactionId)]],
    local.pwd,
  );
  return { reply, nominated: attribute(m, ATTR.USE_CANDIDATE) !== undefined };
}
