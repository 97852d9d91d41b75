/**
 * `sipmedia imc`: the IM conferencing service (Kamailio imc's commands over SIP MESSAGE, rooms in SQL), and
 * its operator sub-commands `sipmedia imc rooms` / `sipmedia imc members <room>` reading the same database.
 */
import { listMembers, listRooms } from '../apps/imc/ops.js';
import { type ImcServiceConfig, startImcService } from '../apps/imc/service.js';
import { redactDbUrl } from '../store/db-url.js';
import { ImcStore } from '../store/imc-store.js';
import { openSqlStore } from '../store/sql.js';
import { type LogLevel, Logger } from '../util/log.js';
import { parseUri } from '../wire/sip/index.js';

const USAGE = `Usage:
  sipmedia imc --listen=IP:PORT --domain=DOMAIN [options]   run the service
  sipmedia imc rooms [--db=URL] [--domain=DOMAIN]             list rooms
  sipmedia imc members <room> --domain=DOMAIN [--db=URL]      list a room's members

Options:
  --listen=IP:PORT          SIP over UDP (add --tcp for TCP on the same address)
  --domain=DOMAIN           the domain whose room URIs we serve (sip:<room>@DOMAIN)
  --db=URL                  sqlite:PATH (default: sipmedia-imc.sqlite here), postgres://..., mysql://...
  --outbound-proxy=URI      send every MESSAGE we originate through this SIP URI
  --extra-headers=H         headers for every MESSAGE we send, 'Name: value' separated by \\r\\n or newlines
  --command-char=C          the character starting a command (default #)
  --manager=USER            user part of the manager URI (default chat-manager)
  --create-on-join=yes|no   #join of a missing room creates it (default yes)
  --owner-leave=destroy|refuse   #leave by the owner destroys the room (default) or is refused (Kamailio 5.6)
  --max-body=BYTES          largest MESSAGE body (default 8192)
  --max-rooms=N, --max-members=N, --fanout-queue=N
  --http=IP:PORT            JSON ops (/rooms, /rooms/<room>/members), /metrics, /health
  --log-level=0..7          (default 5)`;

class UsageError extends Error {}

type Flags = Map<string, string>;

function parseFlags(argv: string[]): { flags: Flags; positional: string[] } {
  const flags: Flags = new Map();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    if (eq > 0) flags.set(a.slice(2, eq), a.slice(eq + 1));
    else if (a === '--tcp' || a === '--help') flags.set(a.slice(2), 'yes');
    else {
      const v = argv[i + 1];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      flags.set(a.slice(2), v);
      i++;
    }
  }
  return { flags, positional };
}

function hostPort(spec: string, what: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(spec);
  const port = Number(m?.[3]);
  if (!m || port < 1 || port > 65535) throw new UsageError(`${what} must be IP:PORT, got '${spec}'`);
  return { host: (m[1] ?? m[2]) as string, port };
}

function int(flags: Flags, name: string, min: number, max: number): number | undefined {
  const v = flags.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${name} must be an integer ${min}..${max}`);
  return n;
}

/** `Name: value` lines separated by CRLF, LF or the two characters \r\n (as Kamailio's extra_hdrs). */
export function parseExtraHeaders(spec: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of spec.split(/\\r\\n|\\n|\r?\n/)) {
    if (line.trim() === '') continue;
    const m = /^([A-Za-z0-9!#$%&'*+\-.^_`|~]+)\s*:\s*(.*)$/.exec(line.trim());
    if (!m) throw new UsageError(`--extra-headers: '${line}' is not 'Name: value'`);
    out[m[1] as string] = m[2] as string;
  }
  return out;
}

/** Builds the service configuration from command-line flags (exported for tests). */
export function imcConfigFromFlags(flags: Flags): ImcServiceConfig {
  const listen = flags.get('listen');
  const domain = flags.get('domain');
  if (!listen) throw new UsageError('--listen=IP:PORT is required');
  if (!domain) throw new UsageError('--domain=DOMAIN is required');
  const cfg: ImcServiceConfig = { domain, listen: hostPort(listen, '--listen') };
  if (flags.get('tcp') === 'yes') cfg.tcp = true;
  const db = flags.get('db');
  if (db) cfg.db = db;
  const proxy = flags.get('outbound-proxy');
  if (proxy) {
    try {
      const u = parseUri(proxy);
      if (u.scheme !== 'sip') throw new Error('not sip');
    } catch {
      throw new UsageError(`--outbound-proxy must be a SIP URI, got '${proxy}'`);
    }
    cfg.outboundProxy = proxy;
  }
  const extra = flags.get('extra-headers');
  if (extra) cfg.extraHeaders = parseExtraHeaders(extra);
  const cc = flags.get('command-char');
  if (cc !== undefined) {
    if ([...cc].length !== 1 || /\s/.test(cc)) throw new UsageError('--command-char must be one character');
    cfg.commandChar = cc;
  }
  const manager = flags.get('manager');
  if (manager) cfg.manager = manager;
  const coj = flags.get('create-on-join');
  if (coj !== undefined) {
    if (!/^(yes|no|1|0|true|false)$/i.test(coj)) throw new UsageError('--create-on-join must be yes or no');
    cfg.createOnJoin = /^(yes|1|true)$/i.test(coj);
  }
  const ol = flags.get('owner-leave');
  if (ol !== undefined) {
    if (ol !== 'destroy' && ol !== 'refuse') throw new UsageError('--owner-leave must be destroy or refuse');
    cfg.ownerLeave = ol;
  }
  const maxBody = int(flags, 'max-body', 16, 60_000);
  if (maxBody !== undefined) cfg.maxBody = maxBody;
  const maxRooms = int(flags, 'max-rooms', 1, 10_000_000);
  if (maxRooms !== undefined) cfg.maxRooms = maxRooms;
  const maxMembers = int(flags, 'max-members', 1, 1_000_000);
  if (maxMembers !== undefined) cfg.maxMembers = maxMembers;
  const fq = int(flags, 'fanout-queue', 1, 10_000_000);
  if (fq !== undefined) cfg.fanoutQueue = fq;
  const t1 = int(flags, 't1', 10, 10_000);
  if (t1 !== undefined) cfg.t1 = t1;
  const http = flags.get('http');
  if (http) cfg.http = hostPort(http, '--http');
  return cfg;
}

async function runOps(sub: string, flags: Flags, positional: string[]): Promise<number> {
  const sql = await openSqlStore(flags.get('db'));
  try {
    const store = new ImcStore(sql.db);
    const domain = flags.get('domain')?.toLowerCase();
    if (sub === 'rooms') {
      for (const r of await listRooms(store, domain))
        console.log(`${r.name}@${r.domain}\t${r.private ? 'private' : 'public'}\t${r.members} member(s)`);
      return 0;
    }
    const room = positional[0];
    if (!room) throw new UsageError('members: which room?');
    const [name, roomDomain] = room.replace(/^sips?:/, '').split('@');
    const d = roomDomain ?? domain;
    if (!name || !d) throw new UsageError('members: give the room as NAME@DOMAIN or use --domain');
    const list = await listMembers(store, name, d.toLowerCase());
    if (!list) {
      console.error(`sipmedia imc: room '${name}@${d}' not found`);
      return 1;
    }
    for (const m of list) console.log(`${m.user}@${m.domain}\t${m.role}${m.invited ? '\tinvited' : ''}`);
    return 0;
  } finally {
    await sql.close();
  }
}

/** Entry point of `sipmedia imc ...`; resolves with the exit code. */
export async function runImc(argv: string[]): Promise<number> {
  let parsed: { flags: Flags; positional: string[] };
  try {
    parsed = parseFlags(argv);
  } catch (e) {
    console.error(`sipmedia imc: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { flags, positional } = parsed;
  if (flags.has('help') || positional[0] === 'help') {
    console.log(USAGE);
    return 0;
  }
  const sub = positional[0];
  try {
    if (sub === 'rooms' || sub === 'members') return await runOps(sub, flags, positional.slice(1));
    if (sub !== undefined) throw new UsageError(`unknown sub-command '${sub}'`);
    const cfg = imcConfigFromFlags(flags);
    const level = int(flags, 'log-level', 0, 7) ?? 5;
    const log = new Logger(level as LogLevel);
    const service = await startImcService(cfg, log);
    const where = `${cfg.listen.host}:${cfg.listen.port}`;
    log.notice(
      `sipmedia imc running: sip:${service.conference.opts.manager}@${cfg.domain} on ${where}, db ${redactDbUrl(cfg.db ?? 'sqlite (default file)')}` +
        (cfg.http ? `, http ${cfg.http.host}:${cfg.http.port}` : ''),
    );
    // A line on stdout that scripts and tests can wait for.
    console.log(`imc ready ${where}`);
    await new Promise<void>((resolve) => {
      const stop = (sig: string): void => {
        log.notice(`${sig}: shutting down`);
        resolve();
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    await service.stop();
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`sipmedia imc: ${e.message}\n(see 'sipmedia imc --help')`);
      return 2;
    }
    console.error(`sipmedia imc: cannot start: ${(e as Error).message}`);
    return 1;
  }
}
