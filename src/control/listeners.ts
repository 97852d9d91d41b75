/**
 * Socket plumbing shared by the control front ends (ng, RTPproxy, CLI): binding a UDP control socket or a
 * TCP listener, and answering a datagram once per (sender, cookie) through the cookie cache.
 */
import { createSocket, type Socket } from 'node:dgram';
import { createServer, isIPv6, type Server, type Socket as TcpSocket } from 'node:net';
import { literalLookup } from '../util/literal-lookup.js';
import type { Logger } from '../util/log.js';
import { type CookieCache, PENDING } from './cookie-cache.js';

/** Binds a UDP control socket; `label` names it in logs ("ng", "rtpproxy protocol"). */
export function listenControlUdp(
  host: string,
  port: number,
  label: string,
  log: Logger,
  onMessage: (s: Socket, msg: Buffer, address: string, port: number) => void,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', lookup: literalLookup });
    s.once('error', reject);
    s.on('message', (msg, rinfo) => onMessage(s, msg, rinfo.address, rinfo.port));
    s.bind(port, host, () => {
      s.off('error', reject);
      s.on('error', (e) => log.warn(`${label} udp: ${e.message}`));
      log.info(`${label} listening on udp ${host}:${port}`);
      resolve(s);
    });
  });
}

/** Starts a TCP listener; `label` names it in logs. */
export function listenControlTcp(
  host: string,
  port: number,
  label: string,
  log: Logger,
  onConnection: (c: TcpSocket) => void,
): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer(onConnection);
    srv.once('error', reject);
    srv.listen(port, host, () => {
      srv.off('error', reject);
      srv.on('error', (e) => log.warn(`${label} tcp: ${e.message}`));
      log.info(`${label} listening on tcp ${host}:${port}`);
      resolve(srv);
    });
  });
}

/**
 * Answers one request datagram through the cookie cache: a retransmission gets the cached reply (or nothing
 * while the first copy is still being handled), a new request is handled once and its reply cached.
 */
export function answerOnce(
  cache: CookieCache,
  key: string,
  send: (reply: Buffer) => void,
  handle: () => Promise<Buffer>,
): void {
  const cached = cache.get(key);
  if (cached === PENDING) return;
  if (cached) {
    send(cached);
    return;
  }
  cache.set(key, PENDING);
  void handle().then((reply) => {
    cache.set(key, reply);
    send(reply);
  });
}
