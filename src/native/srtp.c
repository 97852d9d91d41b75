/* SRTP in the relay workers: see srtp.h; the same algorithm as src/media/srtp.ts, which the tests compare. */
#include "srtp.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <stdlib.h>
#include <string.h>

#define RTCP_TAG 10
#define REPLAY_WINDOW 64

static EVP_CIPHER_CTX *ecb(const uint8_t key[16]) {
  EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
  if (!x) return NULL;
  if (EVP_EncryptInit_ex(x, EVP_aes_128_ecb(), NULL, key, NULL) != 1) {
    EVP_CIPHER_CTX_free(x);
    return NULL;
  }
  EVP_CIPHER_CTX_set_padding(x, 0);
  return x;
}

/* An HMAC-SHA1 context keyed once (per packet it is re-initialised with the same key: no key schedule). */
static EVP_MAC_CTX *hmac(const uint8_t key[20]) {
  EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  if (!mac) return NULL;
  EVP_MAC_CTX *x = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);
  if (!x) return NULL;
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA1", 0),
                         OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(x, key, 20, params) != 1) {
    EVP_MAC_CTX_free(x);
    return NULL;
  }
  return x;
}

srtp_ctx_t *srtp_new(const uint8_t m[SRTP_MATERIAL], int tag_len) {
  srtp_ctx_t *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  pthread_mutex_init(&c->lock, NULL);
  c->rtp_ecb = ecb(m);
  memcpy(c->rtp_salt, m + 36, 14);
  c->rtcp_ecb = ecb(m + 50);
  memcpy(c->rtcp_salt, m + 86, 14);
  c->rtp_mac = hmac(m + 16);
  c->rtcp_mac = hmac(m + 66);
  c->tag_len = tag_len == 4 ? 4 : 10;
  if (!c->rtp_ecb || !c->rtcp_ecb || !c->rtp_mac || !c->rtcp_mac) {
    srtp_free(c);
    return NULL;
  }
  return c;
}

void srtp_free(srtp_ctx_t *c) {
  if (!c) return;
  if (c->rtp_ecb) EVP_CIPHER_CTX_free(c->rtp_ecb);
  if (c->rtcp_ecb) EVP_CIPHER_CTX_free(c->rtcp_ecb);
  if (c->rtp_mac) EVP_MAC_CTX_free(c->rtp_mac);
  if (c->rtcp_mac) EVP_MAC_CTX_free(c->rtcp_mac);
  pthread_mutex_destroy(&c->lock);
  OPENSSL_cleanse(c, sizeof *c);
  free(c);
}

/* XORs the AES-CM keystream for (salt, ssrc, index) into p[0..n): IV = salt<<16 ^ ssrc<<64 ^ index<<16. */
static int keystream_xor(void *cipher, const uint8_t salt[14], uint32_t ssrc, uint64_t index, uint8_t *p,
                         uint32_t n) {
  uint8_t iv[16] = {0};
  memcpy(iv, salt, 14);
  iv[4] ^= (uint8_t)(ssrc >> 24);
  iv[5] ^= (uint8_t)(ssrc >> 16);
  iv[6] ^= (uint8_t)(ssrc >> 8);
  iv[7] ^= (uint8_t)ssrc;
  for (int i = 0; i < 6; i++) iv[8 + i] ^= (uint8_t)(index >> (40 - 8 * i));
  uint8_t ctr[64 * 16], ks[64 * 16];
  uint32_t block = 0;
  for (uint32_t done = 0; done < n;) {
    uint32_t blocks = (n - done + 15) / 16;
    if (blocks > 64) blocks = 64;
    for (uint32_t b = 0; b < blocks; b++, block++) {
      memcpy(ctr + 16 * b, iv, 14);
      ctr[16 * b + 14] = (uint8_t)(block >> 8);
      ctr[16 * b + 15] = (uint8_t)block;
    }
    int outl = 0;
    if (EVP_EncryptUpdate(cipher, ks, &outl, ctr, (int)(blocks * 16)) != 1) return -1;
    uint32_t k = blocks * 16 < n - done ? blocks * 16 : n - done;
    for (uint32_t i = 0; i < k; i++) p[done + i] ^= ks[i];
    done += k;
  }
  return 0;
}

/* HMAC-SHA1 of data[0..n) with the context's key (callers hold the context's lock); 0 on failure. */
static int tag(void *mac, const uint8_t *data, uint32_t n, uint8_t out[20]) {
  size_t len = 0;
  if (EVP_MAC_init(mac, NULL, 0, NULL) != 1 || EVP_MAC_update(mac, data, n) != 1 ||
      EVP_MAC_final(mac, out, &len, 20) != 1 || len != 20)
    return 0;
  return 1;
}

/* Where the payload starts (after CSRCs and a header extension), or -1. */
static int payload_offset(const uint8_t *p, uint32_t end) {
  if (end < 12) return -1;
  uint32_t off = 12 + 4u * (p[0] & 0x0f);
  if (p[0] & 0x10) {
    if (off + 4 > end) return -1;
    off += 4 + 4u * (((uint32_t)p[off + 2] << 8) | p[off + 3]);
  }
  return off <= end ? (int)off : -1;
}

static uint32_t be32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static srtp_ssrc_t *find(srtp_ctx_t *c, uint32_t ssrc) {
  for (int i = 0; i < SRTP_SSRCS; i++)
    if (c->ssrcs[i].used && c->ssrcs[i].ssrc == ssrc) return &c->ssrcs[i];
  return NULL;
}

static srtp_ssrc_t *add(srtp_ctx_t *c, uint32_t ssrc) {
  srtp_ssrc_t *s = NULL;
  for (int i = 0; i < SRTP_SSRCS && !s; i++)
    if (!c->ssrcs[i].used) s = &c->ssrcs[i];
  if (!s) {
    s = &c->ssrcs[c->evict];
    c->evict = (c->evict + 1) % SRTP_SSRCS;
  }
  memset(s, 0, sizeof *s);
  s->used = 1;
  s->ssrc = ssrc;
  return s;
}

int srtp_protect_rtp(srtp_ctx_t *c, uint8_t *p, uint32_t len, uint32_t cap) {
  int off = payload_offset(p, len);
  if (off < 0 || len + 4 > cap || len + (uint32_t)c->tag_len > cap) return -1;
  uint32_t ssrc = be32(p + 8);
  uint16_t seq = (uint16_t)((p[2] << 8) | p[3]);
  pthread_mutex_lock(&c->lock);
  srtp_ssrc_t *s = find(c, ssrc);
  if (!s) {
    s = add(c, ssrc);
    s->seq = seq;
  } else {
    if (seq < s->seq && s->seq - seq > 0x8000) s->roc++;
    if ((uint16_t)(seq - s->seq) < 0x8000) s->seq = seq;
  }
  uint32_t roc = s->roc;
  int r = keystream_xor(c->rtp_ecb, c->rtp_salt, ssrc, ((uint64_t)roc << 16) | seq, p + off, len - (uint32_t)off);
  uint8_t md[20];
  put32(p + len, roc); /* authenticated as packet || ROC, then overwritten by the tag */
  if (r == 0 && !tag(c->rtp_mac, p, len + 4, md)) r = -1;
  pthread_mutex_unlock(&c->lock);
  if (r < 0) return -1;
  memcpy(p + len, md, (size_t)c->tag_len);
  return (int)(len + (uint32_t)c->tag_len);
}

int srtp_unprotect_rtp(srtp_ctx_t *c, uint8_t *p, uint32_t len) {
  if (len < (uint32_t)c->tag_len + 12) return -1;
  uint32_t end = len - (uint32_t)c->tag_len;
  int off = payload_offset(p, end);
  if (off < 0) return -1;
  uint32_t ssrc = be32(p + 8);
  uint16_t seq = (uint16_t)((p[2] << 8) | p[3]);
  pthread_mutex_lock(&c->lock);
  srtp_ssrc_t *s = find(c, ssrc);
  int64_t v = s ? s->roc : 0;
  if (s) {
    if (s->seq < 0x8000) {
      if (seq > s->seq && seq - s->seq > 0x8000) v = (int64_t)s->roc - 1;
    } else if (s->seq - 0x8000 > seq)
      v = (int64_t)s->roc + 1;
  }
  int64_t index = v * 65536 + seq;
  int64_t behind = s ? ((int64_t)s->roc * 65536 + s->seq) - index : -1;
  if (v < 0 || behind >= REPLAY_WINDOW || (behind >= 0 && ((s->seen >> behind) & 1))) {
    pthread_mutex_unlock(&c->lock);
    return -1;
  }
  /* Authenticate packet || ROC: the ROC goes where the tag was, the tag is kept aside. */
  uint8_t got[10], md[20];
  memcpy(got, p + end, (size_t)c->tag_len);
  put32(p + end, (uint32_t)v);
  if (!tag(c->rtp_mac, p, end + 4, md) || CRYPTO_memcmp(md, got, (size_t)c->tag_len) != 0) {
    memcpy(p + end, got, (size_t)c->tag_len);
    pthread_mutex_unlock(&c->lock);
    return -1;
  }
  if (!s) {
    s = add(c, ssrc);
    s->roc = (uint32_t)v;
    s->seq = seq;
    s->seen = 1;
  } else if (behind < 0) {
    uint64_t ahead = (uint64_t)(-behind);
    s->seen = ahead >= REPLAY_WINDOW ? 1 : (s->seen << ahead) | 1;
    s->roc = (uint32_t)v;
    s->seq = seq;
  } else
    s->seen |= 1ull << behind;
  int r = keystream_xor(c->rtp_ecb, c->rtp_salt, ssrc, (uint64_t)index, p + off, end - (uint32_t)off);
  pthread_mutex_unlock(&c->lock);
  return r < 0 ? -1 : (int)end;
}

int srtp_protect_rtcp(srtp_ctx_t *c, uint8_t *p, uint32_t len, uint32_t cap) {
  if (len < 8 || len + 4 + RTCP_TAG > cap) return -1;
  pthread_mutex_lock(&c->lock);
  uint32_t index = c->rtcp_index;
  c->rtcp_index = (c->rtcp_index + 1) & 0x7fffffffu;
  int r = keystream_xor(c->rtcp_ecb, c->rtcp_salt, be32(p + 4), index, p + 8, len - 8);
  put32(p + len, 0x80000000u | index);
  uint8_t md[20];
  if (r == 0 && !tag(c->rtcp_mac, p, len + 4, md)) r = -1;
  pthread_mutex_unlock(&c->lock);
  if (r < 0) return -1;
  memcpy(p + len + 4, md, RTCP_TAG);
  return (int)(len + 4 + RTCP_TAG);
}

/* RFC 3711 3.3.2 for SRTCP: 0 and the index recorded if fresh, -1 if seen or more than 64 behind (lock held). */
static int rtcp_fresh(srtp_ctx_t *c, uint32_t ssrc, uint32_t index) {
  int slot = -1;
  for (int i = 0; i < SRTP_SSRCS; i++)
    if (c->rtcp_seen[i].used && c->rtcp_seen[i].ssrc == ssrc) slot = i;
  if (slot < 0) {
    for (int i = 0; i < SRTP_SSRCS && slot < 0; i++)
      if (!c->rtcp_seen[i].used) slot = i;
    if (slot < 0) slot = c->rtcp_evict++ % SRTP_SSRCS;
    c->rtcp_seen[slot].used = 1;
    c->rtcp_seen[slot].ssrc = ssrc;
    c->rtcp_seen[slot].top = index;
    c->rtcp_seen[slot].seen = 1;
    return 0;
  }
  uint32_t top = c->rtcp_seen[slot].top;
  if (index <= top) {
    uint32_t behind = top - index;
    if (behind >= REPLAY_WINDOW || ((c->rtcp_seen[slot].seen >> behind) & 1)) return -1;
    c->rtcp_seen[slot].seen |= (uint64_t)1 << behind;
    return 0;
  }
  uint32_t ahead = index - top;
  c->rtcp_seen[slot].seen = ahead >= REPLAY_WINDOW ? 1 : (c->rtcp_seen[slot].seen << ahead) | 1;
  c->rtcp_seen[slot].top = index;
  return 0;
}

int srtp_unprotect_rtcp(srtp_ctx_t *c, uint8_t *p, uint32_t len) {
  if (len < 8 + 4 + RTCP_TAG) return -1;
  uint32_t end = len - 4 - RTCP_TAG;
  uint8_t md[20];
  pthread_mutex_lock(&c->lock);
  int r = tag(c->rtcp_mac, p, end + 4, md) && CRYPTO_memcmp(md, p + end + 4, RTCP_TAG) == 0 ? 0 : -1;
  uint32_t word = be32(p + end);
  if (r == 0) r = rtcp_fresh(c, be32(p + 4), word & 0x7fffffffu);
  if (r == 0 && (word & 0x80000000u))
    r = keystream_xor(c->rtcp_ecb, c->rtcp_salt, be32(p + 4), word & 0x7fffffffu, p + 8, end - 8);
  pthread_mutex_unlock(&c->lock);
  return r < 0 ? -1 : (int)end;
}
