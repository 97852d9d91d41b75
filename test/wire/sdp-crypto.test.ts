import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatCryptoAttribute, parseCryptoAttribute } from '../../src/wire/sdp-crypto.js';

test('a=crypto: tag, suite and the first inline key; lifetime, MKI and session parameters are skipped', () => {
  const key = 'PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR';
  assert.deepEqual(parseCryptoAttribute(`crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${key}|2^20|1:4 KDR=1`), {
    tag: 1,
    suite: 'AES_CM_128_HMAC_SHA1_80',
    inline: key,
  });
  assert.equal(
    formatCryptoAttribute({ tag: 7, suite: 'AES_CM_128_HMAC_SHA1_32', inline: key }),
    `crypto:7 AES_CM_128_HMAC_SHA1_32 inline:${key}`,
  );
  for (const bad of ['rtpmap:0 PCMU/8000', 'crypto:x AES inline:abc', 'crypto:1 AES', 'crypto:1 AES key:abc'])
    assert.equal(parseCryptoAttribute(bad), undefined, bad);
  fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => void parseCryptoAttribute(`crypto:${s}`)));
});
