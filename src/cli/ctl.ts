/**
 * `sipmedia ctl`: a command-line client of any ng proxy (ours or rtpengine), built on sipmedia/client.
 * Exit codes: 0 ok, 1 the proxy answered an error (or load limit), 2 usage error, 3 timeout / unreachable.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { NgClient } from '../client/client.js';
import { NgError, NgTimeoutError, NgTransportError } from '../client/errors.js';
import type { NgFlag } from '../client/options.js';
import type { NgReply, QueryReply, StatisticsReply } from '../client/replies.js';
import { DEFAULT_NG_URI } from '../client/client.js';
import { NgUriError } from '../client/uri.js';

/** Where ctl writes (tests capture it). */
export interface CtlIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Reads stdin, for `offer -` (default: process.stdin). */
  stdin?: () => Promise<string>;
}

/** Exit codes scripts can rely on. */
export const CTL_EXIT = { ok: 0, ngError: 1, usage: 2, unreachable: 3 } as const;

const USAGE = `usage: sipmedia ctl [--proxy URI] [--json] [--timeout MS] <command> [args]

  --proxy URI      udp://host:port (default ${DEFAULT_NG_URI}), tcp://, ws://, http://host:port/ng
  --json           print the proxy's reply as JSON (for scripts)
  --timeout MS     give up after MS milliseconds (default 5000)

commands:
  ping
  list [--limit N]
  statistics
  query <call-id> [--from-tag T] [--to-tag T]
  delete <call-id> [--from-tag T] [--to-tag T] [--delete-delay S]
  offer <sdp-file|-> --call-id ID --from-tag T [--flags F,...] [--replace R,...] [--ice MODE]
        [--transport-protocol P] [--received-from ADDR]
  answer <sdp-file|-> --call-id ID --from-tag T --to-tag T [same options as offer]
  play-media <call-id> --file PATH [--from-tag T] [--repeat-times N]
  stop-media <call-id> [--from-tag T]
  block-dtmf | unblock-dtmf | block-media | unblock-media <call-id> [--from-tag T] [--to-tag T]
  start-recording | stop-recording <call-id> [--from-tag T]

exit codes: 0 ok, 1 error reply from the proxy, 2 usage error, 3 timeout or proxy unreachable
`;

class UsageError extends Error {}

const defaultIo: CtlIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

/** Runs `sipmedia ctl` with the arguments after `ctl`; resolves with the exit code. */
export async function runCtl(argv: string[], io: CtlIo = defaultIo): Promise<number> {
  let values: ReturnType<typeof parse>['values'];
  let positionals: string[];
  try {
    ({ values, positionals } = parse(argv));
  } catch (e) {
    io.err(`sipmedia ctl: ${(e as Error).message}\n\n${USAGE}`);
    return CTL_EXIT.usage;
  }
  if (values.help) {
    io.out(USAGE);
    return CTL_EXIT.ok;
  }
  const [command, ...args] = positionals;
  if (!command) {
    io.err(USAGE);
    return CTL_EXIT.usage;
  }
  let client: NgClient | undefined;
  try {
    const timeoutMs = values.timeout === undefined ? 5000 : Number(values.timeout);
    if (!(timeoutMs > 0)) throw new UsageError('--timeout must be a positive number');
    client = new NgClient(values.proxy ?? DEFAULT_NG_URI, { timeoutMs });
    const reply = await dispatch(client, command, args, values, io);
    if (values.json) io.out(`${JSON.stringify(reply, null, 2)}\n`);
    else {
      if (reply.warning) io.err(`warning: ${reply.warning}\n`);
      io.out(render(command, reply, client.uri));
    }
    return CTL_EXIT.ok;
  } catch (e) {
    if (e instanceof UsageError || e instanceof NgUriError) {
      io.err(`sipmedia ctl: ${e.message}\n`);
      return CTL_EXIT.usage;
    }
    if (e instanceof NgError) {
      if (values.json) io.out(`${JSON.stringify({ result: 'error', 'error-reason': e.errorReason })}\n`);
      io.err(`sipmedia ctl: ${e.message}\n`);
      return CTL_EXIT.ngError;
    }
    if (e instanceof NgTimeoutError || e instanceof NgTransportError) {
      io.err(`sipmedia ctl: ${e.message}\n`);
      return CTL_EXIT.unreachable;
    }
    throw e;
  } finally {
    client?.close();
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      proxy: { type: 'string', short: 'p' },
      json: { type: 'boolean' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      'call-id': { type: 'string' },
      'from-tag': { type: 'string' },
      'to-tag': { type: 'string' },
      flags: { type: 'string', multiple: true },
      replace: { type: 'string', multiple: true },
      ice: { type: 'string' },
      'transport-protocol': { type: 'string' },
      'received-from': { type: 'string' },
      'delete-delay': { type: 'string' },
      limit: { type: 'string' },
      file: { type: 'string' },
      'repeat-times': { type: 'string' },
    },
  });
}

type Values = ReturnType<typeof parse>['values'];

function list(v: string[] | undefined): string[] | undefined {
  if (!v) return undefined;
  return v
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
}

function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a non-negative integer`);
  return n;
}

function need(what: string, v: string | undefined): string {
  if (v === undefined || v === '') throw new UsageError(`missing ${what}`);
  return v;
}

async function readSdp(path: string | undefined, io: CtlIo): Promise<string> {
  const p = need('<sdp-file> (or - for stdin)', path);
  if (p === '-') {
    if (io.stdin) return io.stdin();
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return await readFile(p, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read SDP file ${p}: ${(e as Error).message}`);
  }
}

async function dispatch(
  ng: NgClient,
  command: string,
  args: string[],
  v: Values,
  io: CtlIo,
): Promise<NgReply> {
  const callArg = () => need('<call-id>', args[0]);
  const sel = () => ({ callId: callArg(), fromTag: v['from-tag'], toTag: v['to-tag'], flags: list(v.flags) });
  const sdpOpts = () => ({
    callId: need('--call-id', v['call-id']),
    fromTag: need('--from-tag', v['from-tag']),
    flags: list(v.flags) as NgFlag[] | undefined,
    replace: list(v.replace),
    ice: v.ice,
    transportProtocol: v['transport-protocol'],
    receivedFrom: v['received-from'],
  });
  switch (command) {
    case 'ping':
      return ng.ping();
    case 'list':
      return ng.list({ limit: int('limit', v.limit) });
    case 'statistics':
      return ng.statistics();
    case 'query':
      return ng.query(sel());
    case 'delete':
      return ng.delete({ ...sel(), deleteDelay: int('delete-delay', v['delete-delay']) });
    case 'offer':
      return ng.offer({ ...sdpOpts(), sdp: await readSdp(args[0], io) });
    case 'answer':
      return ng.answer({
        ...sdpOpts(),
        toTag: need('--to-tag', v['to-tag']),
        sdp: await readSdp(args[0], io),
      });
    case 'play-media':
      return ng.playMedia({
        ...sel(),
        file: need('--file', v.file),
        repeatTimes: int('repeat-times', v['repeat-times']),
      });
    case 'stop-media':
      return ng.stopMedia(sel());
    case 'block-dtmf':
      return ng.blockDTMF(sel());
    case 'unblock-dtmf':
      return ng.unblockDTMF(sel());
    case 'block-media':
      return ng.blockMedia(sel());
    case 'unblock-media':
      return ng.unblockMedia(sel());
    case 'start-recording':
      return ng.startRecording(sel());
    case 'stop-recording':
      return ng.stopRecording(sel());
    default:
      throw new UsageError(`unknown command '${command}' (see sipmedia ctl --help)`);
  }
}

/** Human-readable output of a reply. */
function render(command: string, reply: NgReply, uri: string): string {
  switch (command) {
    case 'ping':
      return `pong from ${uri}\n`;
    case 'list': {
      const calls = Array.isArray(reply.calls) ? (reply.calls as string[]) : [];
      return `${calls.length} call(s)\n${calls.map((c) => `  ${c}\n`).join('')}`;
    }
    case 'statistics':
      return renderStatistics(reply as StatisticsReply);
    case 'query':
      return renderCall(reply as QueryReply);
    case 'offer':
    case 'answer':
      return String(reply.sdp ?? '');
    case 'play-media':
      return reply.duration === undefined ? 'ok\n' : `ok, duration ${reply.duration} ms\n`;
    default:
      return 'ok\n';
  }
}

/** Aligned columns. */
export function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '))
    .join('\n')
    .concat('\n');
}

function renderStatistics(r: StatisticsReply): string {
  const rows: (string | number)[][] = [];
  for (const [section, values] of Object.entries(r.statistics ?? {})) {
    if (!values || typeof values !== 'object' || Array.isArray(values)) continue;
    for (const [k, val] of Object.entries(values as Record<string, unknown>)) {
      if (typeof val === 'string' || typeof val === 'number') rows.push([section, k, val]);
    }
  }
  return table(['section', 'name', 'value'], rows);
}

function renderCall(q: QueryReply): string {
  const rows: (string | number)[][] = [];
  for (const tag of Object.values(q.tags ?? {})) {
    for (const m of tag.medias ?? []) {
      for (const s of m.streams ?? []) {
        const ep = s.endpoint ? `${s.endpoint.address}:${s.endpoint.port}` : '-';
        const kind = s.flags?.includes('RTCP') ? 'RTCP' : 'RTP';
        const st = s.stats;
        rows.push([
          tag.tag,
          `${m.index} ${m.type}`,
          kind,
          s['local port'],
          ep,
          st?.packets ?? 0,
          st?.bytes ?? 0,
          st?.errors ?? 0,
        ]);
      }
    }
  }
  const t = q.totals;
  const head =
    `created ${q.created}, last signal ${q['last signal']}` +
    (t ? `, RTP ${t.RTP.packets} packets / ${t.RTP.bytes} bytes\n` : '\n');
  return head + table(['tag', 'media', 'kind', 'local port', 'endpoint', 'packets', 'bytes', 'errors'], rows);
}
