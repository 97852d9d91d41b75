/**
 * node:dgram resolves the destination of every unconnected send through dns.lookup, which for an IP literal
 * still costs a validation and a process.nextTick hop before the packet leaves. Our destinations are IP
 * literals (learned from packets, taken from SDP, or the sender of a request), so answer those synchronously;
 * anything else still goes through the resolver. Pass as the `lookup` option of dgram.createSocket.
 */
import type { SocketOptions } from 'node:dgram';
import { lookup as dnsLookup } from 'node:dns';
import { isIP } from 'node:net';

// The last literal seen: replies and media mostly go to the same few peers, and isIP runs a long regex.
let lastHost = '';
let lastFamily = 0;

export const literalLookup: NonNullable<SocketOptions['lookup']> = (hostname, options, callback) => {
  if (hostname === lastHost) {
    callback(null, hostname, lastFamily);
    return;
  }
  const family = isIP(hostname);
  if (family === 0) {
    dnsLookup(hostname, options, callback);
    return;
  }
  lastHost = hostname;
  lastFamily = family;
  callback(null, hostname, family);
};
