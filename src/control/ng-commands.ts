/**
 * ng command dispatch, independent of the transport: a request dictionary in, a reply dictionary out. Never
 * throws: every failure becomes `result: error` with an `error-reason`.
 */
import { EngineError } from '../engine/options.js';
import type { Engine } from '../engine/engine.js';
import type { MediaService } from '../engine/media-control.js';
import type { Logger } from '../util/log.js';
import type { BDict } from '../wire/bencode.js';
import { formatCall, formatMediaState, formatStatistics } from './ng-format.js';
import { MEDIA_COMMANDS, handleMediaCommand, mediaAfterSignal } from './ng-media.js';
import {
  NgRequestError,
  list,
  normalizeDict,
  normalizeKey,
  parseSignal,
  requireStr,
  str,
} from './ng-options.js';
import { SUBSCRIBE_COMMANDS, handleSubscribe } from './ng-subscribe.js';
import { expandRtppFlags } from './rtpp-flags.js';

/** rtpengine commands we know of but do not implement yet: a clear error instead of "unrecognized". */
const NOT_YET = new Set([
  'start forwarding',
  'stop forwarding',
  'connect',
  'cli',
  'transform',
  'create',
  'create answer',
  'mesh',
  'inject start',
  'inject stop',
]);

/** Age of kernel counters a `delete` reply accepts (ms): deletes share at most one counter read a second. */
const DELETE_COUNTERS_MS = 1000;

function errorReply(reason: string): BDict {
  return { result: 'error', 'error-reason': reason };
}

export class NgDispatcher {
  /** Requests per command, for `statistics` and `/metrics`. */
  readonly counts: Record<string, number> = {};
  /** Cumulative handling time per command, seconds. */
  readonly seconds: Record<string, number> = {};
  errors = 0;
  /** Called after each request (for latency histograms in /metrics). Must not throw. */
  readonly observers: ((command: string, seconds: number, ok: boolean) => void)[] = [];

  constructor(
    private readonly engine: Engine,
    private readonly log: Logger,
    /** Playback, DTMF, media control and recording; without it those commands are refused. */
    private readonly media?: MediaService,
  ) {}

  async handle(body: BDict): Promise<BDict> {
    const started = performance.now();
    let command = '';
    let reply: BDict;
    try {
      const cmd = body.command;
      if (typeof cmd !== 'string' || cmd === '') throw new NgRequestError('No command in message');
      command = normalizeKey(cmd);
      // Options sent as one `rtpp-flags` string become ordinary keys first.
      reply = await this.run(command, expandRtppFlags(body));
    } catch (e) {
      reply = this.failure(e, body);
    }
    if (reply.result === 'error') this.errors++;
    if (command) {
      this.counts[command] = (this.counts[command] ?? 0) + 1;
      this.seconds[command] = (this.seconds[command] ?? 0) + (performance.now() - started) / 1000;
      for (const o of this.observers)
        o(command, (performance.now() - started) / 1000, reply.result !== 'error');
    }
    return reply;
  }

  private failure(e: unknown, body: BDict): BDict {
    if (e instanceof NgRequestError) return errorReply(e.message);
    if (e instanceof EngineError) {
      if (e.loadLimit) {
        let supports: string[] = [];
        try {
          supports = list(normalizeDict(body), 'supports');
        } catch {}
        if (supports.some((s) => normalizeKey(s) === 'load limit'))
          return { result: 'load limit', message: e.reason };
      }
      return errorReply(e.reason);
    }
    this.log.err(`ng: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return errorReply(`Internal error: ${e instanceof Error ? e.message : String(e)}`);
  }

  private async run(command: string, body: BDict): Promise<BDict> {
    switch (command) {
      case 'ping':
        return { result: 'pong' };
      case 'offer':
      case 'answer': {
        const p = parseSignal(body, command);
        const r = command === 'offer' ? await this.engine.offer(p.opts) : await this.engine.answer(p.opts);
        const warnings = [...p.warnings, ...r.warnings];
        if (this.media) warnings.push(...(await mediaAfterSignal(this.engine, this.media, p.dict, command)));
        const reply: BDict = { result: 'ok', sdp: r.sdp };
        if (warnings.length) reply.warning = warnings.join('; ');
        return reply;
      }
      case 'delete':
        return this.delete(body);
      case 'query': {
        const m = normalizeDict(body);
        await this.engine.refreshCounters?.();
        const call = this.engine.calls.get(requireStr(m, 'call id', 'call-id'));
        if (!call) return errorReply('Unknown call-id');
        const reply: BDict = { result: 'ok', ...formatCall(call) };
        if (this.media) formatMediaState(reply, this.media.snapshot(call));
        return reply;
      }
      case 'list': {
        const m = normalizeDict(body);
        const raw = str(m, 'limit');
        const limit = raw === undefined ? 32 : Number(raw);
        if (!Number.isInteger(limit) || limit < 0) return errorReply(`Invalid limit '${raw}'`);
        return { result: 'ok', calls: [...this.engine.calls.keys()].slice(0, limit) };
      }
      case 'statistics': {
        await this.engine.refreshCounters?.();
        const control: Record<string, number> = {};
        for (const [k, v] of Object.entries(this.counts)) control[k.replace(/ /g, '')] = v;
        return { result: 'ok', statistics: formatStatistics(this.engine, control) };
      }
      default:
        if (SUBSCRIBE_COMMANDS.has(command)) return handleSubscribe(this.engine, command, body);
        if (this.media && MEDIA_COMMANDS.has(command))
          return handleMediaCommand(this.engine, this.media, command, body);
        if (NOT_YET.has(command) || MEDIA_COMMANDS.has(command))
          return errorReply(`Command '${String(body.command)}' is not supported yet`);
        return errorReply('Unrecognized command');
    }
  }

  private async delete(body: BDict): Promise<BDict> {
    const m = normalizeDict(body);
    const callId = requireStr(m, 'call id', 'call-id');
    const flags = new Set(list(m, 'flags').map(normalizeKey));
    const delayRaw = str(m, 'delete delay');
    let delay: number | undefined;
    if (delayRaw !== undefined) {
      delay = Number(delayRaw);
      if (!Number.isFinite(delay) || delay < 0) return errorReply(`Invalid delete delay '${delayRaw}'`);
    }
    const req: Parameters<Engine['delete']>[0] = { callId };
    const fromTag = str(m, 'from tag');
    const toTag = str(m, 'to tag');
    const viaBranch = str(m, 'via branch');
    if (fromTag) req.fromTag = fromTag;
    if (toTag) req.toTag = toTag;
    if (viaBranch) req.viaBranch = viaBranch;
    if (delay !== undefined) req.delay = delay;
    // The reply carries the call's counters (not with `fast`).
    if (!flags.has('fast')) await this.engine.refreshCounters?.(DELETE_COUNTERS_MS);
    try {
      const call = this.engine.delete(req);
      return flags.has('fast') ? { result: 'ok' } : { result: 'ok', ...formatCall(call) };
    } catch (e) {
      if (e instanceof EngineError && !flags.has('fatal')) return { result: 'ok', warning: e.reason };
      throw e;
    }
  }
}
