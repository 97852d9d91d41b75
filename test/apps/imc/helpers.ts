/** An in-memory conference for unit tests. */
import { Conference, type ConferenceOptions } from '../../../src/apps/imc/conference.js';
import { ImcStore } from '../../../src/store/imc-store.js';
import { type SqlStore, openSqlStore } from '../../../src/store/sql.js';

export const DOMAIN = 'chat.example.com';

export interface Harness {
  conf: Conference;
  store: ImcStore;
  sql: SqlStore;
  /** Sends `body` from `user` to `sip:<to>@chat.example.com`; returns [to, from, body] triples. */
  say(user: string, to: string, body: string): Promise<[string, string, string][]>;
}

export async function harness(opts: Partial<ConferenceOptions> = {}): Promise<Harness> {
  const sql = await openSqlStore(':memory:');
  const store = new ImcStore(sql.db);
  const conf = new Conference(store, { domain: DOMAIN, ...opts });
  return {
    conf,
    store,
    sql,
    async say(user, to, body) {
      const r = await conf.handle({
        from: { user, domain: DOMAIN },
        to: { user: to, domain: DOMAIN },
        body,
      });
      return r.out.map((o) => [o.to.user, o.from.user, o.body]);
    },
  };
}
