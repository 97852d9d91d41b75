/**
 * Our conference logic against the texts Kamailio 5.6's imc module really sent for the same script
 * (test/e2e/fixtures/imc/kamailio-5.6-golden.json, recorded with record-kamailio-golden.ts).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { GOLDEN_SCRIPT } from '../../e2e/fixtures/imc/golden-script.js';
import { harness } from './helpers.js';

interface GoldenStep {
  from: string;
  to: string;
  body: string;
  status: number;
  sent: { to: string; from: string; body: string; contentType: string; inReplyTo: string }[];
}

const golden: GoldenStep[] = JSON.parse(
  readFileSync(new URL('../../e2e/fixtures/imc/kamailio-5.6-golden.json', import.meta.url), 'utf8'),
);
const user = (uri: string): string => /sip:([^@]+)@/.exec(uri)?.[1] ?? uri;
const key = (t: [string, string, string]): string => JSON.stringify(t);

test('the recording covers the whole script', () => {
  assert.equal(golden.length, GOLDEN_SCRIPT.length);
  for (const [i, g] of golden.entries()) assert.equal(g.body, GOLDEN_SCRIPT[i]?.body);
});

test('every text matches Kamailio 5.6 imc (owner-leave=refuse, as 5.6 does)', async () => {
  const h = await harness({ ownerLeave: 'refuse' });
  try {
    for (const step of golden) {
      const ours = await h.say(step.from, step.to, step.body);
      const label = `${step.from} -> ${step.to}: ${step.body}`;
      if (step.status !== 200) {
        // imc answered a bare 500; we explain to the sender instead, and nothing else is sent.
        assert.equal(step.sent.length, 0, label);
        assert.equal(ours.length, 1, label);
        assert.equal(ours[0]?.[0], step.from, label);
        assert.match(ours[0]?.[2] ?? '', /^\*\*\* /, label);
        continue;
      }
      const theirs = step.sent.map((m): [string, string, string] => [user(m.to), user(m.from), m.body]);
      if (/^#help$/i.test(step.body)) {
        // Our help adds the #modify line (Kamailio master has it; 5.6 has no #modify).
        ours[0] = [
          ours[0]?.[0] ?? '',
          ours[0]?.[1] ?? '',
          (ours[0]?.[2] ?? '').replace(/#modify[^\r]*\r\n/, ''),
        ];
      }
      assert.deepEqual(ours.map(key).sort(), theirs.map(key).sort(), label);
    }
  } finally {
    await h.sql.close();
  }
});
