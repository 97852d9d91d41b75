import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { captures, haveCaptures } from '../helpers/captures.js';
import {
  NgFramingError,
  formatNgMessage,
  parseNgMessage,
  takeNgStreamMessage,
} from '../../src/wire/ng-message.js';

const passes = ['ng-default', 'ng-flags'];

test('golden: every captured Kamailio/rtpengine datagram parses and re-encodes byte for byte', (t) => {
  if (!haveCaptures()) {
    t.skip('MISSING PEER DATA: ../shared/reference/kamailio-captures not found');
    return;
  }
  let n = 0;
  for (const pass of passes) {
    for (const c of captures(pass)) {
      const m = parseNgMessage(c.bytes);
      assert.equal(m.json, false);
      const body = m.body;
      if (c.name.endsWith('.req')) assert.equal(typeof body.command, 'string', c.name);
      else assert.equal(typeof body.result, 'string', c.name);
      // Kamailio sends unsorted keys and rtpengine replies unsorted too, so compare after sorting.
      const again = parseNgMessage(formatNgMessage(m.cookie, body));
      assert.deepEqual(again, m, c.name);
      n++;
    }
  }
  assert.ok(n >= 24, `expected the captures, saw ${n}`);
});

test('golden: the captured offer carries what Kamailio sends', (t) => {
  if (!haveCaptures()) return t.skip('MISSING PEER DATA: captures');
  const offer = captures('ng-flags').find((c) => c.name === '005-ng-offer.req')!;
  const m = parseNgMessage(offer.bytes);
  assert.equal(m.cookie, '0_1712_0');
  assert.equal(m.body.command, 'offer');
  assert.deepEqual(m.body.replace, ['origin', 'session-connection']);
  assert.deepEqual(m.body['received-from'], ['IP4', '127.0.0.1']);
  assert.match(String(m.body.sdp), /^v=0\r\n/);
});

test('JSON bodies are accepted and booleans mapped', () => {
  const m = parseNgMessage(Buffer.from('c1 {"command":"ping","x":true,"y":null}'));
  assert.deepEqual({ ...m.body }, { command: 'ping', x: 'yes' });
  assert.equal(m.json, true);
  assert.match(formatNgMessage('c1', { result: 'pong' }, true).toString(), /^c1 \{"result":"pong"\}$/);
});

test('errors carry the cookie when it could be read', () => {
  for (const [s, cookie] of [
    ['abc d3:xyz', 'abc'],
    ['abc l1:ae', 'abc'],
    ['abc ', 'abc'],
    ['abc {"a":', 'abc'],
    ['abc d1:ai1ee trailing', 'abc'],
    ['nospace', undefined],
  ] as const) {
    assert.throws(
      () => parseNgMessage(Buffer.from(s)),
      (e: unknown) => e instanceof NgFramingError && e.cookie === cookie,
      s,
    );
  }
});

test('stream framing splits back-to-back messages and waits for partial ones', () => {
  const a = formatNgMessage('1', { command: 'ping' });
  const b = formatNgMessage('2', { command: 'query', 'call-id': 'x' });
  const both = Buffer.concat([a, b]);
  const r1 = takeNgStreamMessage(both)!;
  assert.equal(r1.message.cookie, '1');
  const rest = both.subarray(r1.consumed);
  assert.equal(takeNgStreamMessage(rest.subarray(0, rest.length - 1)), null);
  const r2 = takeNgStreamMessage(rest)!;
  assert.equal(r2.message.cookie, '2');
  assert.equal(r2.consumed, rest.length);
  assert.equal(takeNgStreamMessage(Buffer.from('3 {"command":"pi')), null);
  assert.equal(takeNgStreamMessage(Buffer.from('3 {"command":"ping"}'))!.message.body.command, 'ping');
});

test('property: random and truncated input never throws past NgFramingError', () => {
  const real = formatNgMessage('k', { command: 'offer', sdp: 'v=0\r\n', flags: ['a', 'b'] });
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(real.length), (bytes, cut) => {
      for (const input of [Buffer.from(bytes), real.subarray(0, cut)]) {
        for (const f of [parseNgMessage, takeNgStreamMessage]) {
          try {
            f(input);
          } catch (e) {
            assert.ok(e instanceof NgFramingError, String(e));
          }
        }
      }
    }),
    { numRuns: 2000 },
  );
});
