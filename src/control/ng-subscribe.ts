/** ng `subscribe request`, `subscribe answer` and `unsubscribe` (engine/subscriptions does the work). */
import type { Engine } from '../engine/engine.js';
import type { BDict, BValue } from '../wire/bencode.js';
import { list, normalizeDict, normalizeKey, requireStr, str } from './ng-options.js';

export const SUBSCRIBE_COMMANDS = new Set([
  'publish',
  'subscribe request',
  'subscribe answer',
  'unsubscribe',
]);

/** `codec: { accept: [...] }` (or flags `codec-accept-NAME`): the publisher's codec preferences. */
function acceptList(m: Map<string, BValue>, flags: Set<string>): string[] {
  const out: string[] = [];
  const codec = m.get('codec');
  if (codec && typeof codec === 'object' && !Array.isArray(codec) && !Buffer.isBuffer(codec))
    out.push(...list(normalizeDict(codec as BDict), 'accept'));
  for (const f of flags) if (f.startsWith('codec accept ')) out.push(f.slice('codec accept '.length));
  return out.filter((c) => c.toLowerCase() !== 'any');
}

export async function handleSubscribe(engine: Engine, command: string, body: BDict): Promise<BDict> {
  const m = normalizeDict(body);
  const callId = requireStr(m, 'call id', 'call-id');
  if (command === 'publish') {
    const flags = new Set(list(m, 'flags').map(normalizeKey));
    const sdp = await engine.subscriptions.publish({
      callId,
      fromTag: requireStr(m, 'from tag', 'from-tag'),
      sdp: requireStr(m, 'sdp', 'SDP body'),
      accept: acceptList(m, flags),
    });
    return { result: 'ok', sdp };
  }
  if (command === 'subscribe request') {
    const raw = list(m, 'flags');
    const flags = new Set(raw.map(normalizeKey));
    const all = flags.has('all') || normalizeKey(str(m, 'all') ?? '') === 'all';
    // Participants by `from-tags` (a list, or flags `from-tags-X`: the tag keeps its case), else the one
    // `from-tag`, else `all`.
    const tags = [
      ...list(m, 'from tags'),
      ...raw.flatMap((f) => /^from[-_ ]tags[-_ ](.+)$/i.exec(f)?.[1] ?? []),
    ];
    const one = str(m, 'from tag');
    if (one && tags.length === 0) tags.push(one);
    if (!all && tags.length === 0) return { result: 'error', 'error-reason': 'No from-tag in message' };
    const toTag = str(m, 'to tag');
    const label = str(m, 'set label');
    const r = await engine.subscriptions.subscribeRequest({
      callId,
      fromTags: all ? 'all' : tags,
      ...(toTag ? { toTag } : {}),
      ...(label !== undefined ? { label } : {}),
    });
    const reply: BDict = { result: 'ok', sdp: r.sdp };
    if (r.fromTags.length === 1) reply['from-tag'] = r.fromTags[0]!;
    reply['from-tags'] = r.fromTags;
    reply['to-tag'] = r.toTag;
    return reply;
  }
  const toTag = requireStr(m, 'to tag', 'to-tag');
  if (command === 'subscribe answer') {
    const flags = new Set(list(m, 'flags').map(normalizeKey));
    const warnings = engine.subscriptions.subscribeAnswer({
      callId,
      toTag,
      sdp: requireStr(m, 'sdp', 'SDP body'),
      allowTranscoding: flags.has('allow transcoding'),
    });
    if (warnings.length) return { result: 'ok', warning: warnings.join('; ') };
  } else engine.subscriptions.unsubscribe({ callId, toTag });
  return { result: 'ok' };
}
