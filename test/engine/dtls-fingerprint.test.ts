/**
 * Certificate fingerprints in SDP (RFC 8122): which `a=fingerprint` lines are taken (SHA-1 and SHA-2 with the
 * right digest length; media before session; md5 and malformed ones skipped) and the check of a certificate
 * against one, for every hash.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { certificateMatches, sdpFingerprint } from '../../src/engine/dtls-bridge.js';
import { Sdp } from '../../src/wire/sdp.js';

const colon = (b: Buffer) =>
  b
    .toString('hex')
    .toUpperCase()
    .replace(/(..)(?!$)/g, '$1:');

function sdp(session: string[], media: string[]): Sdp {
  const a = (xs: string[]) => xs.map((x) => `a=${x}\r\n`).join('');
  return Sdp.parse(
    `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n${a(session)}` +
      `m=audio 4000 UDP/TLS/RTP/SAVPF 0\r\n${a(media)}`,
  );
}

const fp = (s: Sdp) => sdpFingerprint(s, s.media[0]!);

test('every SHA-1/SHA-2 fingerprint is read and checks the certificate it was made from', () => {
  const der = randomBytes(300);
  for (const [name, hash] of [
    ['sha-1', 'sha1'],
    ['sha-224', 'sha224'],
    ['sha-256', 'sha256'],
    ['sha-384', 'sha384'],
    ['sha-512', 'sha512'],
  ] as const) {
    const digest = createHash(hash).update(der).digest();
    const got = fp(sdp([], [`fingerprint:${name.toUpperCase()} ${colon(digest)}`]));
    assert.deepEqual(got, { hash, digest }, name);
    assert.ok(certificateMatches(der, got!), `${name}: matches its certificate`);
    const other = Buffer.from(der);
    other[0]! ^= 1;
    assert.equal(certificateMatches(other, got!), false, `${name}: not another one`);
  }
});

test('which line is taken: media before session, the first usable one; md5 and bad lengths skipped', () => {
  const d1 = createHash('sha1').update('a').digest();
  const d256 = createHash('sha256').update('b').digest();
  const md5 = createHash('md5').update('c').digest();
  assert.deepEqual(fp(sdp([`fingerprint:sha-1 ${colon(d1)}`], [`fingerprint:sha-256 ${colon(d256)}`])), {
    hash: 'sha256',
    digest: d256,
  });
  assert.deepEqual(fp(sdp([`fingerprint:sha-1 ${colon(d1)}`], [])), { hash: 'sha1', digest: d1 });
  assert.deepEqual(
    fp(
      sdp(
        [],
        [
          `fingerprint:md5 ${colon(md5)}`,
          `fingerprint:sha-256 ${colon(d1)}`,
          `fingerprint:sha-1 ${colon(d1)}`,
        ],
      ),
    ),
    { hash: 'sha1', digest: d1 },
    'md5 and a SHA-256 line with a SHA-1 length are skipped',
  );
  assert.equal(fp(sdp([], [`fingerprint:md5 ${colon(md5)}`])), undefined);
  assert.equal(fp(sdp([], ['fingerprint:sha-256'])), undefined);
  assert.equal(fp(sdp([], [])), undefined);
});

test('any attribute value: undefined or a digest of the length its hash gives, never a throw', () => {
  const lengths: Record<string, number> = { sha1: 20, sha224: 28, sha256: 32, sha384: 48, sha512: 64 };
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (v) => {
      const got = fp(sdp([], [`fingerprint:${v.replace(/[\r\n]/g, '')}`]));
      if (got) assert.equal(got.digest.length, lengths[got.hash]);
    }),
  );
});
