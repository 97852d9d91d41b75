/**
 * Side by side with Debian's rtpengine (userspace, --table=-1): every case of fixtures/compare-cases.ts is
 * sent to both proxies, the rewritten SDPs are normalised (ports, own addresses, invented ids) and compared
 * line by line. A difference must be fixed or listed in fixtures/compat-known.json (explained in
 * docs/compatibility.md).
 *
 * rtpengine's normalised output is also kept as golden files (fixtures/rtpengine-golden/) so our proxy can
 * be checked without rtpengine installed. Regenerate them with:
 *   UPDATE_GOLDEN=1 node --import tsx --test test/e2e/compare-rtpengine.test.ts
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  type MediaProxy,
  rtpengineInstalled,
  rtpengineVersion,
  startRtpengine,
  startSipmedia,
} from '../helpers/rtpengine.js';
import {
  lineDiff,
  normaliseCase,
  PRIMARY_INTERFACES,
  runCase,
  SECONDARY_INTERFACES,
} from './compare-harness.js';
import { compareCases } from './fixtures/compare-cases.js';

const GOLDEN_DIR = fileURLToPath(new URL('./fixtures/rtpengine-golden/', import.meta.url));
const KNOWN_FILE = fileURLToPath(new URL('./fixtures/compat-known.json', import.meta.url));
/** ng delete keeps ports for delete-delay (30 s by default); the cases need them back at once. */
const PROXY_ARGS = ['--delete-delay=0'];

interface KnownDifference {
  reason: string;
  /** When given, our diff against rtpengine must be exactly this (lineDiff output). */
  expectedOursDiff?: string;
}
const known = JSON.parse(readFileSync(KNOWN_FILE, 'utf8')) as Record<string, KnownDifference>;

type Outputs = Map<string, string>;

async function collect(proxy: MediaProxy): Promise<Outputs> {
  const out: Outputs = new Map();
  for (const c of compareCases) out.set(c.name, normaliseCase(proxy, c, await runCase(proxy, c)));
  return out;
}

function goldenPath(name: string): string {
  return `${GOLDEN_DIR}${name}.txt`;
}

function readGolden(): Outputs | undefined {
  const out: Outputs = new Map();
  for (const c of compareCases) {
    if (!existsSync(goldenPath(c.name))) return undefined;
    out.set(c.name, readFileSync(goldenPath(c.name), 'utf8'));
  }
  return out;
}

/** Case-by-case diff; `allowKnown` honours compat-known.json. Returns readable failure texts. */
function compare(
  expected: Outputs,
  actual: Outputs,
  allowKnown: boolean,
  note: (s: string) => void,
): string[] {
  const failures: string[] = [];
  for (const c of compareCases) {
    const diff = lineDiff(expected.get(c.name) ?? '', actual.get(c.name) ?? '');
    const k = allowKnown ? known[c.name] : undefined;
    if (diff === '') {
      if (k) note(`${c.name}: listed in compat-known.json but now identical; remove the entry`);
      continue;
    }
    if (k && (k.expectedOursDiff === undefined || k.expectedOursDiff === diff)) {
      note(`${c.name}: known difference (${k.reason})`);
      continue;
    }
    const why = k ? 'known difference changed' : 'differs';
    failures.push(`--- ${c.name} ${why} (- expected, + actual)\n${diff}`);
  }
  return failures;
}

describe('SDP rewriting compared with rtpengine', { concurrency: false }, () => {
  const haveRtpengine = rtpengineInstalled();
  let reference: Outputs | undefined;
  const running: MediaProxy[] = [];
  after(async () => {
    await Promise.all(running.map((p) => p.stop()));
  });

  test('rtpengine output matches the golden files (UPDATE_GOLDEN=1 rewrites them)', async (t) => {
    if (!haveRtpengine) {
      t.skip('MISSING PEER: rtpengine not installed (/usr/bin/rtpengine); golden files used instead');
      return;
    }
    const p = await startRtpengine({ interfaces: PRIMARY_INTERFACES, extraArgs: PROXY_ARGS });
    running.push(p);
    reference = await collect(p);
    const version = rtpengineVersion();
    if (process.env.UPDATE_GOLDEN === '1') {
      mkdirSync(GOLDEN_DIR, { recursive: true });
      for (const [name, text] of reference) writeFileSync(goldenPath(name), text);
      writeFileSync(`${GOLDEN_DIR}VERSION`, `${version}\n`);
      t.diagnostic(`wrote ${reference.size} golden files for rtpengine ${version}`);
      return;
    }
    const goldenVersion = existsSync(`${GOLDEN_DIR}VERSION`)
      ? readFileSync(`${GOLDEN_DIR}VERSION`, 'utf8').trim()
      : '';
    if (goldenVersion !== version) {
      t.skip(
        `golden files are from rtpengine ${goldenVersion || '?'}, installed is ${version}; not compared`,
      );
      return;
    }
    const golden = readGolden();
    assert.ok(golden, 'golden files missing: run with UPDATE_GOLDEN=1');
    const failures = compare(golden, reference, false, (s) => t.diagnostic(s));
    assert.equal(failures.length, 0, `rtpengine no longer matches its golden files:\n${failures.join('\n')}`);
  });

  test('harness self-check: a second rtpengine on other addresses and ports normalises identically', async (t) => {
    if (!haveRtpengine || !reference) {
      t.skip('MISSING PEER: rtpengine not installed');
      return;
    }
    const p = await startRtpengine({ interfaces: SECONDARY_INTERFACES, extraArgs: PROXY_ARGS });
    running.push(p);
    const second = await collect(p);
    const failures = compare(reference, second, false, (s) => t.diagnostic(s));
    assert.equal(failures.length, 0, failures.join('\n'));
    // The normalisation must not hide everything: the cases differ from each other.
    assert.ok(new Set(second.values()).size === compareCases.length, 'every case yields a distinct output');
  });

  test('sipmedia proxy rewrites SDP like rtpengine', async (t) => {
    const ours = await startSipmedia({ interfaces: PRIMARY_INTERFACES, extraArgs: PROXY_ARGS });
    running.push(ours);
    const expected = reference ?? readGolden();
    assert.ok(expected, 'no rtpengine and no golden files to compare with');
    t.diagnostic(reference ? 'compared with live rtpengine' : 'compared with golden files');
    const actual = await collect(ours);
    const failures = compare(expected, actual, true, (s) => t.diagnostic(s));
    assert.equal(
      failures.length,
      0,
      `${failures.length} case(s) differ from rtpengine:\n${failures.join('\n')}`,
    );
  });
});
