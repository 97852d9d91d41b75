/**
 * ng over HTTP: `POST /ng` with content type `application/x-rtpengine-ng`, the body the usual
 * `cookie dict`, the reply the same framing. Connection failures are retried (same cookie) until the deadline.
 */
import { Agent, request } from 'node:http';
import type { BDict } from '../wire/bencode.js';
import { MAX_NG_MESSAGE, parseNgMessage } from '../wire/ng-message.js';
import { NgTimeoutError, NgTransportError } from './errors.js';
import { backoffMs, type NgSendOptions, type NgTransport } from './transport.js';

/** The content type rtpengine expects on `POST /ng`. */
export const NG_HTTP_CONTENT_TYPE = 'application/x-rtpengine-ng';

export class HttpTransport implements NgTransport {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 16 });
  private readonly inflight = new Set<AbortController>();
  private closed = false;

  constructor(
    readonly uri: string,
    private readonly host: string,
    private readonly port: number,
    private readonly path: string,
  ) {}

  async send(cookie: string, message: Buffer, opts: NgSendOptions): Promise<BDict> {
    const deadline = Date.now() + opts.timeoutMs;
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < 50; attempt++) {
      if (this.closed) throw new NgTransportError(`ng client for ${this.uri} is closed`);
      const left = deadline - Date.now();
      if (left <= 0) break;
      try {
        return await this.post(cookie, message, left);
      } catch (e) {
        if (e instanceof NgTransportError || e instanceof NgTimeoutError) throw e;
        lastError = e as Error;
        if (this.closed) throw new NgTransportError(`ng client for ${this.uri} closed`);
        if ((e as Error).name === 'AbortError') break;
      }
      const wait = Math.min(backoffMs(attempt, 50, 1000), deadline - Date.now());
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    throw new NgTimeoutError(opts.command, this.uri, opts.timeoutMs, lastError);
  }

  private post(cookie: string, message: Buffer, timeoutMs: number): Promise<BDict> {
    const ac = new AbortController();
    this.inflight.add(ac);
    const timer = setTimeout(() => ac.abort(), timeoutMs);
    return new Promise<BDict>((resolve, reject) => {
      const req = request(
        {
          host: this.host,
          port: this.port,
          path: this.path,
          method: 'POST',
          agent: this.agent,
          signal: ac.signal,
          headers: { 'content-type': NG_HTTP_CONTENT_TYPE, 'content-length': message.length },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_NG_MESSAGE) {
              req.destroy();
              reject(new NgTransportError(`reply from ${this.uri} exceeds ${MAX_NG_MESSAGE} bytes`));
            } else chunks.push(c);
          });
          res.on('end', () => {
            const body = Buffer.concat(chunks);
            if (res.statusCode !== 200) {
              reject(
                new NgTransportError(`HTTP ${res.statusCode} from ${this.uri}: ${body.toString().trim()}`),
              );
              return;
            }
            try {
              const m = parseNgMessage(body);
              if (m.cookie !== cookie) throw new Error(`cookie ${m.cookie} does not match ${cookie}`);
              resolve(m.body);
            } catch (e) {
              reject(new NgTransportError(`bad ng reply from ${this.uri}: ${(e as Error).message}`));
            }
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(message);
    }).finally(() => {
      clearTimeout(timer);
      this.inflight.delete(ac);
    });
  }

  close(): void {
    this.closed = true;
    for (const ac of this.inflight) ac.abort();
    this.agent.destroy();
  }
}
