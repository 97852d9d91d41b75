/** Building a response to a request (RFC 3261 8.2.6) as plain data. */
import { canonicalHeaderName } from './header-names.js';
import { addHeader, getHeader, getHeaders } from './headers.js';
import type { SipHeader, SipRequest, SipResponse } from './message.js';

/** Reason phrases for the status codes the stack itself sends; others default to a generic phrase. */
export const REASON_PHRASES: Record<number, string> = {
  100: 'Trying',
  180: 'Ringing',
  183: 'Session Progress',
  200: 'OK',
  202: 'Accepted',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  415: 'Unsupported Media Type',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  482: 'Loop Detected',
  483: 'Too Many Hops',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  505: 'Version Not Supported',
  603: 'Decline',
};

/** Default reason phrase for a status code. */
export function reasonPhrase(status: number): string {
  return REASON_PHRASES[status] ?? (status < 200 ? 'Provisional' : status < 300 ? 'OK' : 'Error');
}

/**
 * A response copying Via (all), From, To, Call-ID and CSeq from the request; Record-Route is copied for
 * responses that may create a dialog (101-299). Headers missing from the request are simply absent, so
 * this works for a 400 to a broken request too. A To tag is added when given and the To has none.
 */
export function buildResponse(
  req: SipRequest,
  status: number,
  reason = reasonPhrase(status),
  toTag?: string,
): SipResponse {
  const res: SipResponse = { kind: 'response', status, reason, headers: [], body: Buffer.alloc(0) };
  for (const v of getHeaders(req, 'Via')) addHeader(res, 'Via', v);
  if (status > 100 && status < 300)
    for (const v of getHeaders(req, 'Record-Route')) addHeader(res, 'Record-Route', v);
  const copy = (name: string): void => {
    const v = getHeader(req, name);
    if (v !== undefined) addHeader(res, name, v);
  };
  copy('From');
  const to = getHeader(req, 'To');
  if (to !== undefined) {
    const tagged =
      toTag !== undefined && status > 100 && !/;\s*tag\s*=/i.test(to) ? `${to};tag=${toTag}` : to;
    addHeader(res, 'To', tagged);
  }
  copy('Call-ID');
  copy('CSeq');
  return res;
}

/**
 * Convenience: header list from a name→value record (values may be arrays for repeated headers), names
 * made canonical so that lookups and the serializer's Content-Length handling see them.
 */
export function headerList(
  headers: Record<string, string | string[]> | SipHeader[] | undefined,
): SipHeader[] {
  if (headers === undefined) return [];
  if (Array.isArray(headers))
    return headers.map((h) => ({ name: canonicalHeaderName(h.name), value: h.value }));
  const out: SipHeader[] = [];
  for (const [name, v] of Object.entries(headers)) {
    for (const value of Array.isArray(v) ? v : [v]) out.push({ name: canonicalHeaderName(name), value });
  }
  return out;
}
