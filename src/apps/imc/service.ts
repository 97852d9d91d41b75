/** Assembles the imc service: SQL store, SIP stack, conference logic, fan-out, and the optional HTTP endpoint. */
import type { Server } from 'node:http';
import { type SipStack, createSipStack } from '../../sip/index.js';
import { ImcStore } from '../../store/imc-store.js';
import { type SqlStore, openSqlStore } from '../../store/sql.js';
import type { Logger } from '../../util/log.js';
import { Conference, type ConferenceOptions } from './conference.js';
import { startImcHttp } from './http.js';
import { ImcMetrics } from './metrics.js';
import { ImcSipGlue, type SipGlueOptions } from './sip-glue.js';

export interface ImcServiceConfig extends Partial<ConferenceOptions>, Partial<SipGlueOptions> {
  domain: string;
  listen: { host: string; port: number };
  /** Also listen on TCP at the same address. */
  tcp?: boolean;
  /** `--db` URL (SQLite file by default). */
  db?: string;
  outboundProxy?: string;
  http?: { host: string; port: number };
  /** SIP timer T1 in ms (tests shrink it). */
  t1?: number;
}

export interface ImcService {
  stack: SipStack;
  store: ImcStore;
  sql: SqlStore;
  conference: Conference;
  glue: ImcSipGlue;
  metrics: ImcMetrics;
  http?: Server;
  stop(): Promise<void>;
}

export async function startImcService(cfg: ImcServiceConfig, log: Logger): Promise<ImcService> {
  const sql = await openSqlStore(cfg.db);
  const store = new ImcStore(sql.db);
  let stack: SipStack | undefined;
  let http: Server | undefined;
  try {
    stack = await createSipStack({
      udp: cfg.listen,
      ...(cfg.tcp ? { tcp: cfg.listen } : {}),
      ...(cfg.outboundProxy ? { outboundProxy: cfg.outboundProxy } : {}),
      ...(cfg.t1 ? { t1: cfg.t1 } : {}),
      user: cfg.manager ?? 'chat-manager',
    });
    const conference = new Conference(store, cfg);
    const metrics = new ImcMetrics(() => store.countRooms());
    const glue = new ImcSipGlue(stack, conference, store, metrics, log, cfg);
    if (cfg.http)
      http = await startImcHttp(cfg.http.host, cfg.http.port, store, conference.opts.domain, metrics, log);
    const s = stack;
    const h = http;
    return {
      stack: s,
      store,
      sql,
      conference,
      glue,
      metrics,
      ...(h ? { http: h } : {}),
      async stop() {
        // Let accepted requests and queued MESSAGEs finish, for a bounded time.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          glue.idle(),
          new Promise<void>((r) => {
            timer = setTimeout(r, 2000);
          }),
        ]);
        clearTimeout(timer);
        s.close();
        if (h) await new Promise<void>((r) => h.close(() => r()));
        await sql.close();
      },
    };
  } catch (e) {
    stack?.close();
    await sql.close();
    throw e;
  }
}
