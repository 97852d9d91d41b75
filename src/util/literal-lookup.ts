/**
 * node:dgram resolves the destination of every unconnected send through dns.lookup, which for an IP literal
 * still costs a validation and a process.nextTick hop before the packet leaves. Our destinations are IP
 * literals (learned from packets, taken from SDP, or the sender of a request), so answer those synchronously;
 * anything else still goes through the resolver. Pass as the `lookup` option of dgram.createSocket.
 */
import type { SocketOptions } from 'node:dgram';
import { lookup as dnsLookup } from 'node:dns';
import { isIP } from 'node:net';

export const literalLookup: NonNullable<SocketOptions['lookup']> = (hostname, options, callback) => {
  const family = isIP(hostname);
  if (family !== 0) callback(null, hostname, family);
  else dnsLookup(hostname, options, callback);
};
