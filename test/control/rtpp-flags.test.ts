import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { NgRequestError, parseSignal } from '../../src/control/ng-options.js';
import { expandRtppFlags, parseRtppFlags } from '../../src/control/rtpp-flags.js';

test('the string form becomes keys: flags, key=value, lists, nested dictionaries', () => {
  assert.deepEqual(
    parseRtppFlags(
      'replace-origin via-branch=auto-next codec=[transcode=[PCMA PCMU] strip=[EVS]] OSRTP=[accept] ' +
        'SDP-attr=[audio=[remove=[test] add=[foo bar]]] label=caller',
    ),
    {
      flags: ['replace-origin'],
      'via branch': 'auto-next',
      codec: { transcode: ['PCMA', 'PCMU'], strip: ['EVS'] },
      osrtp: ['accept'],
      'sdp attr': { audio: { remove: ['test'], add: ['foo', 'bar'] } },
      label: 'caller',
    },
  );
});

test('repeated list keys collect; bare transport and direction words; codec-<action>=X', () => {
  assert.deepEqual(parseRtppFlags('direction=internal  direction=external'), {
    direction: ['internal', 'external'],
  });
  assert.deepEqual(parseRtppFlags('internal external'), { direction: ['internal', 'external'] });
  assert.deepEqual(parseRtppFlags('RTP/AVP ICE=remove'), { 'transport protocol': 'RTP/AVP', ice: 'remove' });
  assert.deepEqual(parseRtppFlags('codec-accept=PCMU codec-strip=PCMA codec=[strip=[G722]]'), {
    codec: { accept: ['PCMU'], strip: ['PCMA', 'G722'] },
  });
  assert.deepEqual(parseRtppFlags('replace=[ origin ] rtcp-mux-demux'), {
    replace: ['origin'],
    flags: ['rtcp-mux-demux'],
  });
});

test('unbalanced or too deep brackets are refused with a clear reason', () => {
  assert.throws(() => parseRtppFlags('codec=[strip=[PCMA]'), /Unbalanced '\['/);
  assert.throws(() => parseRtppFlags('label=x]'), /Unbalanced '\]'/);
  assert.throws(() => parseRtppFlags(`a=${'['.repeat(7)}${']'.repeat(7)}`), /too deeply/);
  assert.throws(() => expandRtppFlags({ command: 'offer', 'rtpp-flags': ['x'] }), /must be a string/);
  // A codec= that is not a dictionary does not break the codec-<action>= that follows.
  assert.deepEqual(parseRtppFlags('codec=x codec-strip=PCMA'), { codec: { strip: ['PCMA'] } });
});

test('expanded into the request: dictionary keys win, lists join, the rest reaches parseSignal', () => {
  const body = expandRtppFlags({
    command: 'offer',
    'call-id': 'c',
    'from-tag': 'f',
    sdp: 'v=0\r\nm=audio 4000 RTP/AVP 0 8\r\n',
    label: 'own',
    flags: ['trust-address'],
    rtpp_flags:
      'label=theirs replace-origin strict-source codec-strip-PCMA ICE=remove direction=a direction=b',
  });
  assert.equal(body.label, 'own');
  assert.equal(body.rtpp_flags, undefined);
  const p = parseSignal(body, 'offer');
  assert.deepEqual(p.warnings, []);
  assert.equal(p.opts.label, 'own');
  assert.equal(p.opts.replaceOrigin, true);
  assert.equal(p.opts.strictSource, true);
  assert.equal(p.opts.sipSourceAddress, false);
  assert.equal(p.opts.iceRemove, true);
  assert.deepEqual(p.opts.codec?.strip, ['PCMA']);
  assert.deepEqual(p.opts.direction, ['a', 'b']);
  const same = { command: 'ping' };
  assert.equal(expandRtppFlags(same), same, 'a request without the key is passed through');
});

test('fuzz: any string is expanded and parsed as options, or refused with NgRequestError', () => {
  const alphabet = fc.constantFrom(
    ...['[', ']', '=', ' ', '\t', 'a', '-', 'x=', 'codec', 'codec-strip=', 'strip', 'direction', 'replace'],
    ...['ICE=', 'label=', 'rtcp-mux=', 'address-family=', 'TOS=', 'flags=', 'received-from=', 'RTP/AVP'],
  );
  fc.assert(
    fc.property(
      fc.array(alphabet, { maxLength: 40 }).map((a) => a.join('')),
      (s) => {
        try {
          // All the way through option parsing: only NgRequestError may come out.
          const body = { command: 'offer', 'call-id': 'c', 'from-tag': 'f', sdp: 'v=0', 'rtpp-flags': s };
          parseSignal(expandRtppFlags(body), 'offer');
        } catch (e) {
          assert.ok(e instanceof NgRequestError, String(e));
        }
      },
    ),
    { numRuns: 3000 },
  );
});
