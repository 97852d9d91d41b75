/**
 * RTPproxy transports. UDP carries `<cookie> <command>` and answers `<cookie> <reply>\n`, with the reply
 * cache so a retransmitted command is answered, not executed twice. Stream sockets carry bare commands:
 * `unix:` answers one command and closes (RTPproxy's default socket), `cunix:` and `tcp:` keep the
 * connection and take newline-terminated commands.
 */
import type { Socket } from 'node:dgram';
import { rmSync } from 'node:fs';
import { createServer, type Server, type Socket as StreamSocket } from 'node:net';
import type { Logger } from '../util/log.js';
import { everySecond } from '../util/tick.js';
import { RTPP_E, RTPP_MAX_COMMAND, formatErrorReply, splitCookie } from '../wire/rtpproxy-command.js';
import { CookieCache } from './cookie-cache.js';
import { answerOnce, listenControlUdp } from './listeners.js';
import type { RtppDispatcher } from './rtpproxy-commands.js';

const MAX_CONNECTIONS = 256;

export type RtppListen =
  | { kind: 'unix' | 'cunix'; path: string }
  | { kind: 'tcp'; host: string; port: number };

/** `unix:/path`, `cunix:/path`, `tcp:IP:PORT` or `tcp:[v6]:PORT`. */
export function parseRtppListen(spec: string): RtppListen {
  const m = /^(unix|cunix):(.+)$/.exec(spec);
  if (m) return { kind: m[1] as 'unix' | 'cunix', path: m[2]! };
  const t = /^tcp6?:(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(spec);
  if (t && Number(t[3]) > 0 && Number(t[3]) < 65536)
    return { kind: 'tcp', host: (t[1] ?? t[2])!, port: Number(t[3]) };
  throw new Error(`'${spec}': expected unix:/path, cunix:/path or tcp:IP:PORT`);
}

/** Commands queued on one stream connection before it is closed. */
const MAX_PENDING = 1000;

export class RtppServer {
  readonly cache = new CookieCache();
  private udp: Socket[] = [];
  private streams: Server[] = [];
  private paths: string[] = [];
  private conns = new Set<StreamSocket>();
  private readonly untick: () => void;
  /** Datagrams that could not be answered (no cookie). */
  dropped = 0;

  constructor(
    private readonly dispatcher: RtppDispatcher,
    private readonly log: Logger,
  ) {
    this.untick = everySecond(() => this.cache.sweep());
  }

  async listenUdp(host: string, port: number): Promise<void> {
    const label = 'rtpproxy protocol';
    this.udp.push(
      await listenControlUdp(host, port, label, this.log, (s, m, a, p) => this.onDatagram(s, m, a, p)),
    );
  }

  private onDatagram(s: Socket, msg: Buffer, address: string, port: number): void {
    const split = msg.length <= RTPP_MAX_COMMAND ? splitCookie(msg.toString('latin1')) : undefined;
    if (!split) {
      this.dropped++;
      return;
    }
    answerOnce(
      this.cache,
      `${address}|${port}|${split.cookie}`,
      (reply) => s.send(reply, port, address),
      async () => {
        const reply =
          split.command === ''
            ? formatErrorReply(RTPP_E.unknownCommand)
            : await this.dispatcher.handle(split.command);
        return Buffer.from(`${split.cookie} ${reply}\n`, 'latin1');
      },
    );
  }

  /** Listens on a stream socket (unix, cunix or tcp). A stale unix socket file is replaced. */
  listenStream(l: RtppListen): Promise<void> {
    return new Promise((resolve, reject) => {
      const once = l.kind === 'unix';
      const srv = createServer((c) => this.onConnection(c, once));
      srv.once('error', reject);
      const ready = (): void => {
        srv.off('error', reject);
        srv.on('error', (e) => this.log.warn(`rtpproxy stream: ${e.message}`));
        this.streams.push(srv);
        this.log.info(
          `rtpproxy protocol listening on ${l.kind}:${'path' in l ? l.path : `${l.host}:${l.port}`}`,
        );
        resolve();
      };
      if ('path' in l) {
        rmSync(l.path, { force: true });
        this.paths.push(l.path);
        srv.listen(l.path, ready);
      } else srv.listen(l.port, l.host, ready);
    });
  }

  private onConnection(c: StreamSocket, once: boolean): void {
    if (this.conns.size >= MAX_CONNECTIONS) {
      c.destroy();
      return;
    }
    this.conns.add(c);
    c.on('close', () => this.conns.delete(c));
    c.on('error', () => {});
    let buf = '';
    // Commands on one connection are answered in order.
    let chain: Promise<unknown> = Promise.resolve();
    let done = false;
    let pending = 0;
    const run = (line: string): void => {
      if (done) return;
      if (once) done = true;
      // A client pipelining faster than we answer must not grow the queue without bound.
      if (++pending > MAX_PENDING) {
        done = true;
        c.destroy();
        return;
      }
      chain = chain.then(async () => {
        const reply = await this.dispatcher.handle(line);
        pending--;
        if (c.destroyed) return;
        if (once) c.end(`${reply}\n`);
        else c.write(`${reply}\n`);
      });
    };
    c.on('data', (d) => {
      buf += d.toString('latin1');
      if (once && !done) {
        // RTPproxy's unix socket: whatever one write carries is the command, newline or not.
        const line = buf.split('\n')[0]!.replace(/\r$/, '');
        buf = '';
        if (line.trim() !== '') run(line);
        return;
      }
      for (let nl = buf.indexOf('\n'); nl >= 0 && !done; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        if (line.trim() !== '') run(line);
      }
      if (buf.length > RTPP_MAX_COMMAND) {
        buf = '';
        c.end(`${formatErrorReply(RTPP_E.argumentCount)}\n`);
        done = true;
      }
    });
    // unix: the client may send a command without a newline and half-close.
    c.on('end', () => {
      if (buf.trim() !== '') run(buf);
      buf = '';
      void chain.then(() => c.end());
    });
  }

  close(): void {
    this.untick();
    for (const s of this.udp) s.close();
    for (const s of this.streams) s.close();
    for (const c of this.conns) c.destroy();
    for (const p of this.paths) rmSync(p, { force: true });
  }
}
