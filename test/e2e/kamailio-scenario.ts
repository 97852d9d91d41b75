/**
 * The Kamailio + rtpengine-module scenario, parameterised by the media proxy under test: a sipp UAC calls a
 * sipp UAS through Kamailio, Kamailio drives the proxy over ng (offer on INVITE, answer on the 200, delete on
 * BYE), both sipps stream RTP to the address they were given. When the BYE passes, Kamailio asks the proxy
 * for the call's counters (ng query via rtpengine_query_v) and logs them; the test reads each leg's RTP
 * packet counters from that log. The proxy runs with --delete-delay=0 so ports return at once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BDict, BValue } from '../../src/wire/bencode.js';
import { startKamailio } from '../helpers/kamailio.js';
import { reservePortBlock } from '../helpers/ports.js';
import { type MediaProxy, type ProxyKind, startMediaProxy } from '../helpers/rtpengine.js';
import { receivedSdps, type SippResult, startSipp, writeToneWav } from '../helpers/sipp.js';

/** Media addresses of the sipps: distinct from the proxy's 127.0.0.1, so the SDP check discriminates. */
export const UAC_MEDIA_IP = '127.0.0.4';
export const UAS_MEDIA_IP = '127.0.0.5';

export interface LegCounters {
  tag: string;
  /** Packets received on the proxy's RTP socket(s) of this leg. */
  rtpPackets: number;
}

export interface ScenarioResult {
  proxy: { kind: ProxyKind; portMin: number; portMax: number };
  sequential: SippResult;
  concurrent: SippResult;
  uas: SippResult;
  /** Call-IDs the UAC used (from its message log). */
  uacCallIds: string[];
  /** Call-IDs the proxy still lists at the end (all were deleted: expected empty). */
  proxyCallIds: string[];
  /** Per call-id, per tag counters from the ng query Kamailio made when the BYE passed. */
  counters: Map<string, LegCounters[]>;
  /** SDP bodies received by the UAC (200 OKs) and by the UAS (INVITEs). */
  uacSdps: string[];
  uasSdps: string[];
  logs: () => string;
}

function asDict(v: BValue | undefined): BDict | undefined {
  return v !== undefined && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v) ? v : undefined;
}

function asList(v: BValue | undefined): BValue[] {
  return Array.isArray(v) ? v : [];
}

/** Sums the RTP stream packet counters of each tag in an ng query reply. */
export function legCounters(reply: BDict): LegCounters[] {
  const out: LegCounters[] = [];
  for (const [tag, t] of Object.entries(asDict(reply.tags) ?? {})) {
    let rtpPackets = 0;
    for (const m of asList(asDict(t)?.medias)) {
      for (const s of asList(asDict(m)?.streams)) {
        const sd = asDict(s);
        const flags = asList(sd?.flags).map(String);
        if (flags.includes('RTCP')) continue;
        const p = asDict(sd?.stats)?.packets;
        rtpPackets += typeof p === 'number' ? p : 0;
      }
    }
    out.push({ tag, rtpPackets });
  }
  return out;
}

/** Kamailio logs `RTPQUERY <call-id> <json>` (rtpengine_query_v) for each BYE; parse those replies. */
export function queriesFromLog(log: string): Map<string, LegCounters[]> {
  const out = new Map<string, LegCounters[]>();
  for (const m of log.matchAll(/RTPQUERY (\S+) (\{.*\})\s*$/gm)) {
    if (!m[1] || !m[2]) continue;
    try {
      out.set(m[1], legCounters(JSON.parse(m[2]) as BDict));
    } catch {
      out.set(m[1], []);
    }
  }
  return out;
}

function callIds(messages: string): string[] {
  const ids = new Set<string>();
  for (const m of messages.matchAll(/^Call-ID:\s*(\S+)/gim)) if (m[1]) ids.add(m[1]);
  return [...ids];
}

export async function runKamailioScenario(
  kind: ProxyKind,
  opts: { sequentialCalls: number; concurrentCalls: number },
): Promise<ScenarioResult> {
  const dir = mkdtempSync(join(tmpdir(), `sipmedia-e2e-kam-${kind}-`));
  const cleanups: (() => Promise<unknown>)[] = [];
  const logs: (() => string)[] = [];
  try {
    // Ports come back at once after delete (the counters are read by Kamailio before it deletes).
    const proxy: MediaProxy = await startMediaProxy(kind, { extraArgs: ['--delete-delay=0'] });
    cleanups.push(() => proxy.stop());
    logs.push(() => `--- proxy (${kind})\n${proxy.output()}`);

    const base = reservePortBlock();
    const sipPort = base;
    const uasPort = base + 2;
    const uacPort = base + 4;
    const uasCtl = base + 6;
    const uacCtl = base + 8;
    const uasMedia = base + 20;
    const uacMedia = base + 100;
    writeToneWav(join(dir, 'tone.wav'), 600);

    const kam = await startKamailio({ dir, sipPort, uasPort, ngPort: proxy.ngPort });
    cleanups.push(() => kam.stop());
    logs.push(() => `--- kamailio\n${kam.output()}`);

    const total = opts.sequentialCalls + opts.concurrentCalls;
    const uas = startSipp({
      scenario: 'uas-rtp.xml',
      dir,
      name: 'uas',
      localPort: uasPort,
      controlPort: uasCtl,
      mediaPort: uasMedia,
      mediaIp: UAS_MEDIA_IP,
      args: ['-m', String(total)],
      timeoutMs: 60_000,
    });
    cleanups.push(() => uas.stop());

    const uac = (name: string, args: string[]): Promise<SippResult> =>
      startSipp({
        scenario: 'uac-rtp.xml',
        dir,
        name,
        remote: `127.0.0.1:${sipPort}`,
        localPort: uacPort,
        controlPort: uacCtl,
        mediaPort: uacMedia,
        mediaIp: UAC_MEDIA_IP,
        args: ['-s', 'service', ...args],
        timeoutMs: 40_000,
      }).done;
    const sequential = await uac('uac-seq', ['-m', String(opts.sequentialCalls), '-l', '1', '-r', '50']);
    const concurrent = await uac('uac-conc', [
      '-m',
      String(opts.concurrentCalls),
      '-l',
      String(opts.concurrentCalls),
      '-r',
      '100',
    ]);
    // The UAS exits by itself after its last call (-m); give it a bounded moment, then stop it.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([uas.done, new Promise((r) => (timer = setTimeout(r, 5000)))]);
    clearTimeout(timer);
    const uasResult = await uas.stop();

    const uacCallIds = [...callIds(sequential.messages), ...callIds(concurrent.messages)];
    const counters = queriesFromLog(kam.output());
    const left = await proxy.ng.request({ command: 'list', limit: 1000 });
    if (!Array.isArray(left.calls)) throw new Error(`list reply without calls: ${JSON.stringify(left)}`);
    const proxyCallIds = left.calls.map(String);
    return {
      proxy: { kind, portMin: proxy.portMin, portMax: proxy.portMax },
      sequential,
      concurrent,
      uas: uasResult,
      uacCallIds,
      proxyCallIds,
      counters,
      uacSdps: [...receivedSdps(sequential.messages), ...receivedSdps(concurrent.messages)],
      uasSdps: receivedSdps(uasResult.messages),
      logs: () => logs.map((l) => l()).join('\n'),
    };
  } catch (e) {
    const detail = logs.map((l) => l()).join('\n');
    throw new Error(`${String(e)}\n${detail.slice(-20_000)}`);
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    if (process.env.KEEP_E2E_DIR !== '1') rmSync(dir, { recursive: true, force: true });
  }
}
