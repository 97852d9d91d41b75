/**
 * HTTP(S) and WebSocket front end: `POST /ng` (cookie + bencode, as over UDP), `POST /ng-plain` (a JSON
 * dictionary, no cookie), WebSocket subprotocols `ng.rtpengine.com` and `ng-plain.rtpengine.com`, rtpengine-ctl's
 * commands as `GET /cli/list+totals` and over the WebSocket subprotocol `cli.rtpengine.com` (as rtpengine serves
 * them), plus `GET /ping`, `/health`, `/metrics`, the status page (`/`, `/status.json`). Bodies are refused with 413
 * as soon as they pass the limit, before they are buffered whole; bad input gets 400 or `result: error`.
 */
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Engine } from '../engine/engine.js';
import type { Logger } from '../util/log.js';
import type { BDict } from '../wire/bencode.js';
import { MAX_NG_MESSAGE, NgFramingError, formatNgMessage, parseNgMessage } from '../wire/ng-message.js';
import { CliCommands } from './cli-port.js';
import type { Metrics } from './metrics.js';
import type { NgDispatcher } from './ng-commands.js';
import { STATUS_HTML, statusSnapshot } from './status-page.js';

export const NG_CONTENT_TYPE = 'application/x-rtpengine-ng';
const WS_NG = 'ng.rtpengine.com';
const WS_NG_PLAIN = 'ng-plain.rtpengine.com';
const WS_CLI = 'cli.rtpengine.com';
const CLI_PREFIX = '/cli/';
const MAX_WS_CLIENTS = 256;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Reads a request body, refusing (413) as soon as it passes `limit` bytes. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new HttpError(413, `body over ${limit} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.pause();
        reject(new HttpError(413, `body over ${limit} bytes`));
        return;
      }
      chunks.push(d);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function isDict(v: unknown): v is BDict {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

export interface HttpOptions {
  /** Largest request body or WebSocket message accepted (default: the ng message limit). */
  maxBody?: number;
}

export class HttpFrontEnd {
  private servers: Server[] = [];
  private readonly wss: WebSocketServer;
  private readonly maxBody: number;
  private readonly cli: CliCommands;
  /** Requests answered with a 4xx status. */
  badRequests = 0;

  constructor(
    private readonly engine: Engine,
    private readonly ng: NgDispatcher,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    opts: HttpOptions = {},
  ) {
    this.maxBody = opts.maxBody ?? MAX_NG_MESSAGE;
    this.cli = new CliCommands(engine);
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.maxBody,
      handleProtocols: (protocols) => [WS_NG, WS_NG_PLAIN, WS_CLI].find((p) => protocols.has(p)) ?? false,
    });
    this.wss.on('connection', (ws) => this.onWebSocket(ws));
  }

  listen(host: string, port: number, tls?: { cert: string; key: string }): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      void this.onRequest(req, res);
    };
    const srv = tls
      ? createHttpsServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, handler)
      : createHttpServer(handler);
    srv.headersTimeout = 10_000;
    srv.requestTimeout = 30_000;
    srv.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    srv.on('clientError', (_e, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    });
    return new Promise((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, host, () => {
        srv.off('error', reject);
        srv.on('error', (e) => this.log.warn(`http: ${e.message}`));
        this.servers.push(srv);
        this.log.info(`${tls ? 'https' : 'http'} listening on ${host}:${port}`);
        resolve();
      });
    });
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (req.url ?? '/').split('?')[0];
    const protos = String(req.headers['sec-websocket-protocol'] ?? '');
    if (path !== '/' && path !== '/ng' && path !== '/ng-plain' && path !== '/cli') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    if (![WS_NG, WS_NG_PLAIN, WS_CLI].some((p) => protos.includes(p))) {
      this.badRequests++;
      socket.end(
        `HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nWebSocket subprotocol must be ${WS_NG}, ${WS_NG_PLAIN} or ${WS_CLI}\n`,
      );
      return;
    }
    if (this.wss.clients.size >= MAX_WS_CLIENTS) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit('connection', ws, req));
  }

  private onWebSocket(ws: WebSocket): void {
    ws.on('error', () => {});
    if (ws.protocol === WS_CLI) {
      // One command per message, its text back in one (binary) message, as rtpengine answers.
      ws.on('message', (data: Buffer) => {
        const line = (Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer)).toString('utf8');
        void this.cliReply(line).then((out) => {
          if (ws.readyState === ws.OPEN) ws.send(Buffer.from(out), { binary: true });
        });
      });
      return;
    }
    const plain = ws.protocol === WS_NG_PLAIN;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const raw = Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
      void (plain ? this.plainReply(raw) : this.ngReply(raw)).then(
        (out) => {
          if (out && ws.readyState === ws.OPEN)
            ws.send(plain ? out.toString('utf8') : out, { binary: isBinary });
        },
        () => {},
      );
    });
  }

  /** One rtpengine-ctl command line; the kernel's counters are read in first, as on the CLI port. */
  private async cliReply(line: string): Promise<string> {
    await this.engine.refreshCounters?.();
    return this.cli.run(line.split('\n')[0] ?? '');
  }

  /** cookie + bencode in, cookie + bencode out; undefined when there is no cookie to answer to. */
  private async ngReply(raw: Buffer): Promise<Buffer | undefined> {
    let m: ReturnType<typeof parseNgMessage>;
    try {
      m = parseNgMessage(raw);
    } catch (e) {
      if (!(e instanceof NgFramingError)) throw e;
      this.badRequests++;
      if (e.cookie === undefined) return undefined;
      return formatNgMessage(e.cookie, {
        result: 'error',
        'error-reason': `Could not decode message: ${e.message}`,
      });
    }
    return formatNgMessage(m.cookie, await this.ng.handle(m.body), m.json);
  }

  /** A JSON dictionary in, a JSON dictionary out (always: bad JSON gets `result: error`). */
  private async plainReply(raw: Buffer): Promise<Buffer> {
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      body = undefined;
    }
    if (!isDict(body)) {
      this.badRequests++;
      return Buffer.from(JSON.stringify({ result: 'error', 'error-reason': 'Body is not a JSON object' }));
    }
    const reply = await this.ng.handle(body);
    return Buffer.from(JSON.stringify(reply, (_k, v) => (Buffer.isBuffer(v) ? v.toString('latin1') : v)));
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    try {
      if (path.startsWith(CLI_PREFIX)) {
        if (req.method !== 'GET') throw new HttpError(405, `${req.method} not allowed on ${path}`);
        let line: string;
        try {
          // As rtpengine: spaces as `+` (or %20).
          line = decodeURIComponent(path.slice(CLI_PREFIX.length).replaceAll('+', ' '));
        } catch {
          throw new HttpError(400, `bad escape in ${path}`);
        }
        return send(res, 200, 'text/plain', await this.cliReply(line));
      }
      const key = `${req.method} ${path}`;
      switch (key) {
        case 'GET /':
        case 'GET /status':
          return send(res, 200, 'text/html; charset=utf-8', STATUS_HTML);
        case 'GET /status.json':
          await this.engine.refreshCounters?.();
          return send(res, 200, 'application/json', JSON.stringify(statusSnapshot(this.engine)));
        case 'GET /ping':
          return send(res, 200, 'text/plain', 'pong\n');
        case 'GET /health':
          return send(
            res,
            200,
            'application/json',
            JSON.stringify({
              status: 'ok',
              sessions: this.engine.calls.size,
              uptime: Math.floor((Date.now() - this.engine.stats.started) / 1000),
            }),
          );
        case 'GET /metrics':
          return send(res, 200, this.metrics.contentType, await this.metrics.text());
        case 'POST /ng': {
          const out = await this.ngReply(await readBody(req, this.maxBody));
          if (!out) throw new HttpError(400, 'not an ng message: expected "<cookie> <bencoded dictionary>"');
          return send(res, 200, NG_CONTENT_TYPE, out);
        }
        case 'POST /ng-plain': {
          const out = await this.plainReply(await readBody(req, this.maxBody));
          const status = out.includes('"Body is not a JSON object"') ? 400 : 200;
          return send(res, status, 'application/json', out);
        }
        default:
          if (
            ['/', '/status', '/status.json', '/ping', '/health', '/metrics', '/ng', '/ng-plain'].includes(
              path ?? '',
            )
          )
            throw new HttpError(405, `${req.method} not allowed on ${path}`);
          throw new HttpError(404, `no such resource: ${path}`);
      }
    } catch (e) {
      const status = e instanceof HttpError ? e.status : 500;
      if (status < 500) this.badRequests++;
      else this.log.err(`http: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      res.setHeader('connection', 'close');
      send(res, status, 'text/plain', `${e instanceof Error ? e.message : String(e)}\n`);
      // A refused body is not read to its end: drop the connection rather than drain it.
      if (status === 413) res.on('finish', () => req.socket.destroy());
    }
  }

  close(): void {
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
    for (const s of this.servers) {
      s.close();
      s.closeAllConnections();
    }
  }
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}
