/*
 * SRTP/SRTCP (RFC 3711, AES_CM_128_HMAC_SHA1_80/_32) in the relay workers, with the OpenSSL that Node carries.
 * Session keys are derived in JavaScript (src/media/srtp.ts) and handed over; one context per leg and
 * direction, locked because a worker (forwarding) and the main thread (generated packets) may both use it.
 */
#ifndef SIPMEDIA_SRTP_H
#define SIPMEDIA_SRTP_H
#include <pthread.h>
#include <stdint.h>

/* Session key material as JavaScript hands it over: RTP key, auth key, salt, then the same for RTCP. */
#define SRTP_MATERIAL 100
#define SRTP_SSRCS 8

typedef struct {
  uint32_t ssrc, roc;
  uint16_t seq;
  uint8_t used;
  uint64_t seen;
} srtp_ssrc_t;

typedef struct srtp_ctx {
  pthread_mutex_t lock;
  void *rtp_ecb, *rtcp_ecb; /* EVP_CIPHER_CTX */
  void *rtp_mac, *rtcp_mac; /* EVP_MAC_CTX: HMAC-SHA1 keyed once, re-initialised per packet */
  uint8_t rtp_salt[14], rtcp_salt[14];
  int tag_len;
  uint32_t rtcp_index;
  srtp_ssrc_t ssrcs[SRTP_SSRCS];
  int evict;
  /* Receiving SRTCP: highest index and the 64 before it per SSRC (replay list). */
  struct {
    uint32_t ssrc, top;
    uint64_t seen;
    uint8_t used;
  } rtcp_seen[SRTP_SSRCS];
  int rtcp_evict;
} srtp_ctx_t;

srtp_ctx_t *srtp_new(const uint8_t material[SRTP_MATERIAL], int tag_len);
void srtp_free(srtp_ctx_t *c);
/* In place; `cap` is the buffer's size. New length, or -1 (malformed, not authentic, replayed, no room). */
int srtp_protect_rtp(srtp_ctx_t *c, uint8_t *p, uint32_t len, uint32_t cap);
int srtp_unprotect_rtp(srtp_ctx_t *c, uint8_t *p, uint32_t len);
int srtp_protect_rtcp(srtp_ctx_t *c, uint8_t *p, uint32_t len, uint32_t cap);
int srtp_unprotect_rtcp(srtp_ctx_t *c, uint8_t *p, uint32_t len);

#endif
