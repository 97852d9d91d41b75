/**
 * RTPproxy timeout notifications: when a session times out, `<notify_tag>\n` is written to the notify
 * socket its U command named. Only targets the operator allowed (--notify-allow, RTPproxy's -n) are used.
 */
import { connect } from 'node:net';
import type { Logger } from '../util/log.js';

/** Concurrent notification connections; more are dropped (and logged) rather than queued without bound. */
const MAX_INFLIGHT = 64;
const TIMEOUT_MS = 2000;

export type NotifyTarget = { path: string } | { host: string; port: number };

/** `unix:/path`, `tcp:host:port`, `tcp:[v6]:port`; undefined if it is neither. */
export function parseNotifyTarget(spec: string): NotifyTarget | undefined {
  if (spec.startsWith('unix:') && spec.length > 5) return { path: spec.slice(5) };
  const m = /^tcp6?:(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(spec);
  if (m && Number(m[3]) > 0 && Number(m[3]) < 65536) return { host: (m[1] ?? m[2])!, port: Number(m[3]) };
  return undefined;
}

export class Notifier {
  private inflight = 0;
  sent = 0;
  failed = 0;

  constructor(
    /** Allowed targets, as given by the operator (exact strings). Empty: notifications are off. */
    readonly allow: readonly string[],
    private readonly log: Logger,
  ) {}

  get enabled(): boolean {
    return this.allow.length > 0;
  }

  allowed(spec: string): boolean {
    return this.allow.includes(spec) && parseNotifyTarget(spec) !== undefined;
  }

  /** Writes `tag\n` to the target; resolves when done or failed (never rejects). */
  notify(spec: string, tag: string): Promise<void> {
    const target = parseNotifyTarget(spec);
    if (!target || !this.allowed(spec)) return Promise.resolve();
    if (this.inflight >= MAX_INFLIGHT) {
      this.failed++;
      this.log.warn(`rtpproxy notify: too many pending notifications, dropped one for ${spec}`);
      return Promise.resolve();
    }
    this.inflight++;
    return new Promise<void>((resolve) => {
      const c = 'path' in target ? connect(target.path) : connect(target.port, target.host);
      const done = (ok: boolean, why?: string): void => {
        clearTimeout(timer);
        if (ok) this.sent++;
        else {
          this.failed++;
          this.log.warn(`rtpproxy notify ${spec}: ${why}`);
        }
        c.destroy();
        this.inflight--;
        resolve();
      };
      const timer = setTimeout(() => done(false, 'timeout'), TIMEOUT_MS);
      c.on('error', (e) => done(false, e.message));
      c.on('connect', () => c.end(`${tag}\n`, () => done(true)));
    });
  }
}
