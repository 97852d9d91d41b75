/**
 * Runs the offer/answer cases of fixtures/compare-cases.ts against one media proxy and normalises what it
 * returns so two implementations (or two instances) can be compared line by line: the proxy's own media
 * ports become P0, P1... in order of first appearance within a case, its own addresses become ADDR4 /
 * ADDR6 / ADDR-<name>, and values it invents (o= version, ICE credentials, candidate foundations) become
 * placeholders. Anything copied from the input stays as it is, so "kept vs replaced" remains visible.
 */
import { randomBytes } from 'node:crypto';
import type { BDict } from '../../src/wire/bencode.js';
import type { MediaProxy } from '../helpers/rtpengine.js';
import type { CompareCase, CompareStep } from './fixtures/compare-cases.js';

/** Interfaces each proxy gets: the default logical interface on IPv4 + IPv6 loopback, plus a named one. */
export const PRIMARY_INTERFACES = ['127.0.0.1', '::1', 'alt/127.0.0.3'];
/** A second instance with other IPv4 addresses, to prove the normalisation hides them. */
export const SECONDARY_INTERFACES = ['127.0.0.2', '::1', 'alt/127.0.0.4'];

/** One raw result per step: the returned SDP, or `ERROR: <reason>` for result=error. */
export type RawOutputs = string[];

function stepBody(step: CompareStep, callId: string): BDict {
  const body: BDict = {
    command: step.command,
    'call-id': callId,
    'from-tag': step.fromTag ?? 'caller',
    sdp: step.sdp,
    'received-from': ['IP4', '192.0.2.1'],
    ...(step.options ?? {}),
  };
  if (step.command === 'answer') body['to-tag'] = step.toTag ?? 'callee';
  return body;
}

/** Sends every step of a case in order (fresh call-id) and deletes the call afterwards. */
export async function runCase(proxy: MediaProxy, c: CompareCase): Promise<RawOutputs> {
  const callId = `${c.name}-${randomBytes(4).toString('hex')}`;
  const out: RawOutputs = [];
  try {
    for (const step of c.steps) {
      const r = await proxy.ng.request(stepBody(step, callId), { timeoutMs: 3000 });
      if (r.result === 'ok' && typeof r.sdp === 'string') out.push(r.sdp);
      else out.push(`ERROR: ${String(r.result)} ${String(r['error-reason'] ?? '')}`.trim());
    }
  } finally {
    await proxy.ng
      .request({ command: 'delete', 'call-id': callId, 'from-tag': 'caller' })
      .catch(() => undefined);
  }
  return out;
}

/** Maps the proxy's own addresses (from its --interface values) to labels. */
export function addressLabels(interfaces: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const i of interfaces) {
    const slash = i.indexOf('/');
    const name = slash >= 0 ? i.slice(0, slash) : '';
    const addr = (slash >= 0 ? i.slice(slash + 1) : i).split('!')[0] ?? '';
    const label = name ? `ADDR-${name}` : addr.includes(':') ? 'ADDR6' : 'ADDR4';
    m.set(addr, label);
  }
  return m;
}

/** The connection address in effect for each line: media-level c= if the section has one, else session c=. */
function lineAddresses(lines: string[]): string[] {
  const conn = (l: string): string | undefined => /^c=IN IP[46] (\S+)/.exec(l)?.[1];
  const out: string[] = [];
  let session = '';
  let i = 0;
  while (i < lines.length && !lines[i]?.startsWith('m=')) {
    session = conn(lines[i] ?? '') ?? session;
    out.push(session);
    i++;
  }
  while (i < lines.length) {
    let j = i + 1;
    while (j < lines.length && !lines[j]?.startsWith('m=')) j++;
    const media =
      lines
        .slice(i, j)
        .map(conn)
        .find((a) => a !== undefined) ?? session;
    for (let k = i; k < j; k++) out.push(media);
    i = j;
  }
  return out;
}

/**
 * Normalises one case's raw outputs into the golden text. A proxy port is labelled per (address, port):
 * different interfaces and families allocate independently and may or may not reuse a number.
 */
export function normaliseCase(
  proxy: Pick<MediaProxy, 'portMin' | 'portMax' | 'interfaces'>,
  c: CompareCase,
  raw: RawOutputs,
): string {
  const addrs = addressLabels(proxy.interfaces);
  const ports = new Map<string, string>();
  const versions = new Map<string, string>();
  const inRange = (n: number): boolean => n >= proxy.portMin && n <= proxy.portMax + 1;
  const portLabel = (addr: string, n: number): string => {
    const key = `${addr}|${n}`;
    let l = ports.get(key);
    if (!l) {
      l = `P${ports.size}`;
      ports.set(key, l);
    }
    return l;
  };
  const parts: string[] = [`# ${c.name}: ${c.about}`];
  raw.forEach((text, i) => {
    const step = c.steps[i];
    parts.push(`## step ${i + 1} ${step?.command ?? '?'}`);
    if (text.startsWith('ERROR:')) {
      parts.push(text);
      return;
    }
    const input = step?.sdp ?? '';
    const inO = /^o=(\S+) (\S+) (\S+)/m.exec(input);
    const inUfrag = /a=ice-ufrag:(\S+)/.exec(input)?.[1];
    const inPwd = /a=ice-pwd:(\S+)/.exec(input)?.[1];
    const lines = text.split(/\r?\n/).filter((l) => l !== '');
    const context = lineAddresses(lines);
    lines.forEach((line, li) => {
      let l = line;
      const o = /^o=(\S+) (\S+) (\S+) (.*)$/.exec(l);
      if (o) {
        const sid = o[2] === inO?.[2] ? o[2] : 'SID';
        let ver = o[3] ?? '';
        if (ver !== inO?.[3]) {
          let v = versions.get(ver);
          if (!v) {
            v = `V${versions.size}`;
            versions.set(ver, v);
          }
          ver = v;
        }
        l = `o=${o[1]} ${sid} ${ver} ${o[4]}`;
      }
      l = l.replace(/^a=ice-ufrag:(\S+)$/, (s, v: string) => (v === inUfrag ? s : 'a=ice-ufrag:UFRAG'));
      l = l.replace(/^a=ice-pwd:(\S+)$/, (s, v: string) => (v === inPwd ? s : 'a=ice-pwd:PWD'));
      const cand = /^a=candidate:(\S+) (\S+) (\S+) (\S+) (\S+) (\d+) (.*)$/.exec(l);
      const rtcp = /^a=rtcp:(\d+)(?: IN IP[46] (\S+))?(.*)$/.exec(l);
      const m = /^(m=\S+ )(\d+)(.*)$/.exec(l);
      if (cand && addrs.has(cand[5] ?? '')) {
        // The proxy's own candidate: the foundation is an opaque id it picks.
        const [, , comp, tr, prio, addr, port, rest] = cand;
        const n = Number(port);
        const p = inRange(n) ? portLabel(addr ?? '', n) : port;
        l = `a=candidate:FOUNDATION ${comp} ${tr} ${prio} ${addr} ${p} ${rest}`;
      } else if (rtcp && inRange(Number(rtcp[1]))) {
        l = `a=rtcp:${portLabel(rtcp[2] ?? context[li] ?? '', Number(rtcp[1]))}${rtcp[2] ? ` IN ${/IN (IP[46])/.exec(l)?.[1]} ${rtcp[2]}` : ''}${rtcp[3]}`;
      } else if (m && inRange(Number(m[2]))) {
        l = `${m[1]}${portLabel(context[li] ?? '', Number(m[2]))}${m[3]}`;
      }
      l = l
        .split(' ')
        .map((tok) => addrs.get(tok) ?? tok)
        .join(' ');
      parts.push(l);
    });
  });
  return `${parts.join('\n')}\n`;
}

/** A small LCS line diff: '-' only in `a` (expected), '+' only in `b` (actual), ' ' both. '' when equal. */
export function lineDiff(a: string, b: string): string {
  if (a === b) return '';
  const x = a.split('\n');
  const y = b.split('\n');
  const n = x.length;
  const m = y.length;
  const L: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--) {
      const row = L[i] as number[];
      row[j] = x[i] === y[j] ? (L[i + 1]?.[j + 1] ?? 0) + 1 : Math.max(L[i + 1]?.[j] ?? 0, row[j + 1] ?? 0);
    }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      out.push(`  ${x[i]}`);
      i++;
      j++;
    } else if (j < m && (i >= n || (L[i]?.[j + 1] ?? 0) >= (L[i + 1]?.[j] ?? 0))) {
      out.push(`+ ${y[j]}`);
      j++;
    } else {
      out.push(`- ${x[i]}`);
      i++;
    }
  }
  return out.join('\n');
}
