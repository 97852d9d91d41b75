import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  RtppError,
  type RtppCommand,
  formatPortReply,
  formatRtppCommand,
  parseRtppCommand,
  splitCookie,
} from '../../src/wire/rtpproxy-command.js';
import { captures, haveCaptures } from '../helpers/captures.js';

function code(line: string, bridge = false): number | undefined {
  try {
    parseRtppCommand(line, { bridge });
    return undefined;
  } catch (e) {
    assert.ok(e instanceof RtppError, `non-RtppError thrown for ${JSON.stringify(line)}: ${String(e)}`);
    return e.code;
  }
}

describe('RTPproxy command parser: Kamailio captures', () => {
  test('every captured request parses into the command Kamailio meant', (t) => {
    if (!haveCaptures()) {
      t.skip('MISSING PEER: ../shared/reference/kamailio-captures not present');
      return;
    }
    const reqs = ['rtpp-default', 'rtpp-allcaps', 'rtpp-query'].flatMap((p) =>
      captures(p).filter((c) => c.name.endsWith('.req')),
    );
    assert.ok(reqs.length > 40);
    for (const r of reqs) {
      const split = splitCookie(r.bytes.toString('latin1'));
      assert.ok(split, r.name);
      // The capture of an "all capabilities" proxy exercises I/E, Z and c: parse as a bridging proxy.
      const cmd = parseRtppCommand(split.command, { bridge: true });
      const letter = /-rtpp-([A-Z]+)/.exec(r.name)?.[1] ?? '';
      assert.equal(cmd.kind, letter.startsWith('VF') ? 'VF' : letter[0], r.name);
    }
  });

  test('UIEZ20c8,101 from the capture: modifiers, medianum, address', () => {
    const c = parseRtppCommand('UIEZ20c8,101 1-3129@127.0.0.1 127.0.0.1 6000 3129SIPpTag001;1', {
      bridge: true,
    });
    assert.equal(c.kind, 'U');
    if (c.kind !== 'U') return;
    assert.deepEqual(c.modifiers.sides, ['i', 'e']);
    assert.equal(c.modifiers.ptime, 20);
    assert.deepEqual(c.modifiers.codecs, [8, 101]);
    assert.deepEqual(c.fromTag, { tag: '3129SIPpTag001', medianum: 1 });
    assert.equal(c.toTag, undefined);
    assert.deepEqual(c.media, { address: '127.0.0.1', port: 6000 });
  });

  test('Q from the rtpp-query capture keeps both tags, medianum stripped', () => {
    const c = parseRtppCommand('Q 1-14962@127.0.0.1 14962SIPpTag001;1 14906SIPpTag011');
    assert.equal(c.kind, 'Q');
    if (c.kind !== 'Q') return;
    assert.equal(c.fromTag.tag, '14962SIPpTag001');
    assert.equal(c.toTag?.tag, '14906SIPpTag011');
    assert.deepEqual(c.counters, []);
  });

  test('U/L replies: port addr, with 6 for IPv6', () => {
    assert.equal(formatPortReply(30190, '127.0.0.1'), '30190 127.0.0.1');
    assert.equal(formatPortReply(30190, '::1'), '30190 ::1 6');
    assert.equal(formatPortReply(0), '0');
  });
});

describe('RTPproxy command parser: error codes as RTPproxy gives them', () => {
  const cid = "*3:R9//u@-JojSdZ`-KJ!?we-mQ/'%u1AF\\{(*";
  const longAddr = 'W3.IT2Nl-t.gTL1SejkyqRuMoYf*E';
  const cases: [string, number | undefined][] = [
    ['A aVF 20080403', 0],
    ['', 0],
    ['U', 1],
    [`U ${cid} ${longAddr} 39d9ashjo`, 1],
    [`Ugarbage ${cid} ${longAddr} 39d9ashjo ndkshf23`, 35],
    [`Uie ${cid} ${longAddr} 39d9ashjo ndkshf23`, 12],
    [`Uei ${cid} ${longAddr} 39d9ashjo ndkshf23`, 11],
    // An address of impossible length is "no address": the command is fine.
    [`U ${cid} ${longAddr} 39d9ashjo ndkshf23`, undefined],
    [`U ${cid} 127.0.0.1 39d9ashjo ndkshf23`, 37],
    [`U ${cid} 127.0.0.1 6000 ndkshf23 sock %%RTPP_NS_MSG%%`, 10],
    [`U ${cid} 127.0.0.1 6000 ndkshf23 sock %25%25RTPP_NS_MSG%25%2`, 10],
    [`U ${cid} 127.0.0.1 6000 ndkshf23 sock %25%25RTPP_NS_MSG%25%25`, undefined],
    ['Uz0 c 127.0.0.1 6000 t', 13],
    ['Uz1000 c 127.0.0.1 6000 t', 13],
    ['Uc c 127.0.0.1 6000 t', 14],
    ['Uc8c0 c 127.0.0.1 6000 t', 14],
    ['Ul c 127.0.0.1 6000 t', 15],
    ['Ul[1:2:3:4:5] c 127.0.0.1 6000 t', 31],
    ['Ulnotanaddress c 127.0.0.1 6000 t', 15],
    ['Ur c 127.0.0.1 6000 t', 16],
    ['L c 127.0.0.1 6000 t u x', 1],
    ['D', 1],
    [`D ${cid}`, 1],
    [`Dgarbage ${cid} ${longAddr}`, 8],
    [`D ${cid} a b c`, 1],
    [`Pgarbage ${cid} a b c`, 17],
    [`P ${cid} a b`, 1],
    [`Cgarbage ${cid} a b c`, 7],
    ['V x', 1],
    ['Vfgarbage x', 2],
    ['Vf', 1],
    ['Igarbage', 18],
    ['I x', 1],
    ['X x', 1],
    ['Xa', 2],
    ['Ggarbage nonsense', 9],
    ['Sx c a', 2],
    ['Q c', 1],
    ['Qx c a', 6],
    ['Rx c a', 5],
    ['U c 127.0.0.1 6000 t && M1', 3],
    ['D c a && x', 3],
  ];
  for (const [line, expected] of cases) {
    test(`${JSON.stringify(line.slice(0, 60))} -> ${expected === undefined ? 'ok' : `E${expected}`}`, () => {
      assert.equal(code(line), expected);
    });
  }

  test('e/i are accepted in bridging mode, at most two', () => {
    assert.equal(code('UIE c 127.0.0.1 6000 t', true), undefined);
    assert.equal(code('UIEI c 127.0.0.1 6000 t', true), 12);
  });

  test('notify socket and tag: 6 args (no to-tag) and 7 args (with to-tag)', () => {
    const a = parseRtppCommand('U c 127.0.0.1 6000 ft unix:/tmp/n.sock my%20tag');
    const b = parseRtppCommand('U c 127.0.0.1 6000 ft tt tcp:127.0.0.1:9 tag2');
    assert.ok(a.kind === 'U' && b.kind === 'U');
    if (a.kind !== 'U' || b.kind !== 'U') return;
    assert.deepEqual(a.notify, { socket: 'unix:/tmp/n.sock', tag: 'my tag' });
    assert.equal(a.toTag, undefined);
    assert.deepEqual(b.notify, { socket: 'tcp:127.0.0.1:9', tag: 'tag2' });
    assert.equal(b.toTag?.tag, 'tt');
  });

  test('hold address and IPv6', () => {
    const h = parseRtppCommand('U c 0.0.0.0 6000 t');
    assert.ok(h.kind === 'U' && h.onHold && h.media === null);
    const v6 = parseRtppCommand('U6 c ::1 6000 t;2');
    assert.ok(v6.kind === 'U');
    if (v6.kind !== 'U') return;
    assert.deepEqual(v6.media, { address: '::1', port: 6000 });
    assert.equal(v6.fromTag.medianum, 2);
  });
});

describe('RTPproxy command parser: properties', () => {
  test('any input either parses or fails with an RtppError (never anything else)', () => {
    const alphabet = fc.constantFrom(
      ...'UuLlDdPpSsRrNnCcQqVvIiXxGg aeis6wzcln0123456789.,:;[]{}%&\t\r\n-'.split(''),
    );
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: alphabet, maxLength: 120 })),
        (s) => {
          try {
            parseRtppCommand(s, { bridge: s.length % 2 === 0 });
          } catch (e) {
            if (!(e instanceof RtppError)) throw e;
            assert.ok(Number.isInteger(e.code) && e.code >= 0 && e.code < 100);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  const token = fc.stringMatching(/^[A-Za-z0-9@._-]{1,20}$/);
  const tag = fc.record({ tag: token, medianum: fc.integer({ min: 1, max: 9 }) });
  const ul: fc.Arbitrary<RtppCommand> = fc
    .record({
      kind: fc.constantFrom('U' as const, 'L' as const),
      callId: token,
      fromTag: tag,
      toTag: fc.option(tag, { nil: undefined }),
      ipv6: fc.boolean(),
      port: fc.integer({ min: 1, max: 65535 }),
      asym: fc.constantFrom(undefined, true, false),
      weak: fc.boolean(),
      ptime: fc.option(fc.integer({ min: 1, max: 999 }), { nil: undefined }),
      codecs: fc.option(fc.array(fc.integer({ min: 0, max: 127 }), { minLength: 1, maxLength: 4 }), {
        nil: undefined,
      }),
      newPort: fc.boolean(),
    })
    .map((r) => ({
      kind: r.kind,
      callId: r.callId,
      fromTag: r.fromTag,
      toTag: r.toTag,
      modifiers: {
        asymmetric: r.asym,
        sides: [],
        ipv6: r.ipv6,
        weak: r.weak,
        ptime: r.ptime,
        codecs: r.codecs,
        local: undefined,
        remote: undefined,
        newPort: r.newPort,
      },
      media: { address: r.ipv6 ? '2001:db8::1' : '192.0.2.1', port: r.port },
      onHold: false,
      notify: undefined,
    }));
  const others: fc.Arbitrary<RtppCommand> = fc.oneof(
    fc.constant({ kind: 'V' as const }),
    fc.constant({ kind: 'X' as const }),
    fc.boolean().map((brief) => ({ kind: 'I' as const, brief })),
    fc
      .record({ callId: token, fromTag: tag, toTag: fc.option(tag, { nil: undefined }), weak: fc.boolean() })
      .map((r) => ({
        kind: 'D' as const,
        ...r,
        fromTag: { tag: r.fromTag.tag, medianum: 1 },
        toTag: r.toTag && { tag: r.toTag.tag, medianum: 1 },
      })),
    fc
      .record({
        callId: token,
        fromTag: tag,
        toTag: tag,
        verbose: fc.boolean(),
        counters: fc.array(fc.constantFrom('ttl', 'npkts_ina', 'ndropped'), { maxLength: 3 }),
      })
      .map((r) => ({ kind: 'Q' as const, ...r })),
  );

  test('format then parse gives the command back', () => {
    fc.assert(
      fc.property(fc.oneof(ul, others), (c) => {
        assert.deepEqual(parseRtppCommand(formatRtppCommand(c)), structuredClone(c));
      }),
      { numRuns: 1000 },
    );
  });
});
