/** Building the requests a UAC originates outside dialogs (RFC 3261 8.1.1) and CANCEL (9.1). */
import { randomBytes } from 'node:crypto';
import { addHeader, cseqOf, getHeader, getHeaders } from '../wire/sip/headers.js';
import type { SipRequest } from '../wire/sip/message.js';
import { headerList } from '../wire/sip/response.js';
import type { OutgoingRequestOptions } from './stack-types.js';
import { newTag } from './transaction-server.js';

/** What the UA core fills in for a request it originates. */
export interface LocalParts {
  /** Top Via with a fresh branch. */
  via: string;
  /** Default From (name-addr without tag). */
  from: string;
  /** Our Contact, added to dialog-creating requests. */
  contact: string;
  /** Host used to make Call-IDs unique. */
  host: string;
}

/** A new out-of-dialog request from the options; a From tag is added when missing. */
export function buildOutOfDialogRequest(o: OutgoingRequestOptions, local: LocalParts): SipRequest {
  const req: SipRequest = {
    kind: 'request',
    method: o.method,
    uri: o.uri,
    headers: [],
    body: Buffer.alloc(0),
  };
  addHeader(req, 'Via', local.via);
  addHeader(req, 'Max-Forwards', '70');
  let from = o.from ?? local.from;
  if (!/;\s*tag\s*=/i.test(from.slice(from.lastIndexOf('>') + 1))) from += `;tag=${newTag()}`;
  addHeader(req, 'From', from);
  addHeader(req, 'To', o.to ?? `<${o.uri}>`);
  addHeader(req, 'Call-ID', o.callId ?? `${randomBytes(10).toString('hex')}@${local.host}`);
  addHeader(req, 'CSeq', `${o.cseq ?? 1} ${o.method}`);
  if (o.method === 'INVITE' || o.method === 'SUBSCRIBE' || o.method === 'REFER')
    addHeader(req, 'Contact', local.contact);
  for (const h of headerList(o.headers)) req.headers.push(h);
  if (o.body !== undefined) {
    req.body = typeof o.body === 'string' ? Buffer.from(o.body, 'utf8') : o.body;
    if (getHeader(req, 'Content-Type') === undefined)
      addHeader(
        req,
        'Content-Type',
        o.contentType ?? (o.method === 'MESSAGE' ? 'text/plain' : 'application/sdp'),
      );
  }
  return req;
}

/** CANCEL for a pending INVITE (9.1): same Request-URI, top Via, Call-ID, From, To, Route, CSeq number. */
export function buildCancel(invite: SipRequest): SipRequest {
  const c: SipRequest = {
    kind: 'request',
    method: 'CANCEL',
    uri: invite.uri,
    headers: [],
    body: Buffer.alloc(0),
  };
  addHeader(c, 'Via', getHeader(invite, 'Via') ?? '');
  for (const r of getHeaders(invite, 'Route')) addHeader(c, 'Route', r);
  addHeader(c, 'Max-Forwards', '70');
  for (const n of ['From', 'To', 'Call-ID']) addHeader(c, n, getHeader(invite, n) ?? '');
  addHeader(c, 'CSeq', `${cseqOf(invite).seq} CANCEL`);
  return c;
}
