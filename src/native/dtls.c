/*
 * DTLS-SRTP handshakes (RFC 5764) for WebRTC legs, with the OpenSSL that Node carries. JavaScript owns the
 * socket: it hands each received DTLS datagram to dtlsFeed and sends the datagrams that come back. Reads go
 * through a memory BIO; writes through a small BIO of our own that keeps each datagram OpenSSL writes apart
 * (a memory BIO would run a flight's datagrams together). One self-signed P-256 certificate per process; its
 * SHA-256 fingerprint goes into the SDP, and the peer's is handed back to be checked against its SDP.
 */
#include "dtls.h"

#include <node_api.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#define MTU 1200
#define MAX_OUT 16
#define MAX_DGRAM 1500
#define KEY_MATERIAL 60

typedef struct {
  SSL *ssl;
  BIO *rbio;
  /* Datagrams written by OpenSSL since the last call. */
  uint8_t out[MAX_OUT][MAX_DGRAM];
  size_t out_len[MAX_OUT];
  int n_out;
  int overflow;
} dtls_t;

static SSL_CTX *ctx;
static uint8_t fingerprint[32];
static BIO_METHOD *dgram_method;

static int out_write(BIO *b, const char *data, int len) {
  dtls_t *d = BIO_get_data(b);
  if (!d || len < 0) return -1;
  if (d->n_out >= MAX_OUT || (size_t)len > MAX_DGRAM) {
    d->overflow = 1;
    return len; /* dropped: the peer retransmits */
  }
  memcpy(d->out[d->n_out], data, (size_t)len);
  d->out_len[d->n_out++] = (size_t)len;
  return len;
}

static long out_ctrl(BIO *b, int cmd, long num, void *ptr) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
      return MTU;
    case BIO_CTRL_WPENDING:
    case BIO_CTRL_PENDING:
      return 0;
    default:
      return 0;
  }
}

static int out_create(BIO *b) {
  BIO_set_init(b, 1);
  return 1;
}

static int accept_any(int ok, X509_STORE_CTX *store) {
  /* Self-signed by design: the fingerprint in the SDP is what authenticates the peer (checked by the caller). */
  return 1;
}

/* The process's certificate as DER (a P-256 self-signed one is ~300 bytes). */
static unsigned char cert_der[2048];
static size_t cert_der_len;

/* The process's certificate, key and context, made once; 0 on failure. */
static int identity(void) {
  if (ctx) return 1;
  EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  X509 *cert = X509_new();
  if (!key || !cert) goto fail;
  X509_set_version(cert, 2);
  uint32_t serial;
  RAND_bytes((unsigned char *)&serial, sizeof serial);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), (long)(serial & 0x7fffffff));
  X509_gmtime_adj(X509_getm_notBefore(cert), -86400L);
  X509_gmtime_adj(X509_getm_notAfter(cert), 365L * 86400L);
  X509_set_pubkey(cert, key);
  X509_NAME *name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"sipmedia", -1, -1, 0);
  X509_set_issuer_name(cert, name);
  if (!X509_sign(cert, key, EVP_sha256())) goto fail;
  unsigned int fl = 0;
  if (!X509_digest(cert, EVP_sha256(), fingerprint, &fl) || fl != 32) goto fail;
  /* DER kept for fingerprints with other hashes (DTLS-fingerprint), computed by the caller. */
  unsigned char *der = NULL;
  int dl = i2d_X509(cert, &der);
  if (dl <= 0 || (size_t)dl > sizeof cert_der) {
    if (der) OPENSSL_free(der);
    goto fail;
  }
  memcpy(cert_der, der, (size_t)dl);
  cert_der_len = (size_t)dl;
  OPENSSL_free(der);
  SSL_CTX *c = SSL_CTX_new(DTLS_method());
  if (!c) goto fail;
  SSL_CTX_set_min_proto_version(c, DTLS1_2_VERSION);
  if (SSL_CTX_use_certificate(c, cert) != 1 || SSL_CTX_use_PrivateKey(c, key) != 1 ||
      SSL_CTX_set_tlsext_use_srtp(c, "SRTP_AES128_CM_SHA1_80:SRTP_AES128_CM_SHA1_32") != 0) {
    SSL_CTX_free(c);
    goto fail;
  }
  SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
  SSL_CTX_set_read_ahead(c, 1);
  dgram_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sipmedia-dgram");
  BIO_meth_set_write(dgram_method, out_write);
  BIO_meth_set_ctrl(dgram_method, out_ctrl);
  BIO_meth_set_create(dgram_method, out_create);
  ctx = c;
  X509_free(cert); /* the context holds its own references */
  EVP_PKEY_free(key);
  return 1;
fail:
  if (cert) X509_free(cert);
  if (key) EVP_PKEY_free(key);
  return 0;
}

static napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

static napi_value buffer(napi_env env, const void *p, size_t n) {
  napi_value b;
  void *data;
  napi_create_buffer_copy(env, n, p, &data, &b);
  return b;
}

/* dtlsFingerprint() -> Buffer(32): SHA-256 of our certificate (creating it on first use), or undefined. */
static napi_value js_fingerprint(napi_env env, napi_callback_info info) {
  if (!identity()) return undefined(env);
  return buffer(env, fingerprint, sizeof fingerprint);
}

/* dtlsCertificate() -> Buffer: the process's certificate (DER), for fingerprints with other hashes. */
static napi_value js_certificate(napi_env env, napi_callback_info info) {
  if (!identity()) return undefined(env);
  return buffer(env, cert_der, cert_der_len);
}

static void finalize(napi_env env, void *data, void *hint) {
  dtls_t *d = data;
  if (d->ssl) SSL_free(d->ssl); /* frees both BIOs */
  free(d);
}

/* dtlsNew(server: boolean) -> handle (external), or undefined. */
static napi_value js_new(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  bool server = true;
  if (argc >= 1) napi_get_value_bool(env, argv[0], &server);
  if (!identity()) return undefined(env);
  dtls_t *d = calloc(1, sizeof *d);
  if (!d) return undefined(env);
  d->ssl = SSL_new(ctx);
  d->rbio = BIO_new(BIO_s_mem());
  BIO *w = BIO_new(dgram_method);
  if (!d->ssl || !d->rbio || !w) {
    if (d->ssl) SSL_free(d->ssl);
    if (d->rbio) BIO_free(d->rbio);
    if (w) BIO_free(w);
    free(d);
    return undefined(env);
  }
  BIO_set_mem_eof_return(d->rbio, -1);
  BIO_set_data(w, d);
  SSL_set_bio(d->ssl, d->rbio, w);
  SSL_set_options(d->ssl, SSL_OP_NO_QUERY_MTU);
  SSL_set_mtu(d->ssl, MTU);
  if (server)
    SSL_set_accept_state(d->ssl);
  else
    SSL_set_connect_state(d->ssl);
  napi_value h;
  if (napi_create_external(env, d, finalize, NULL, &h) != napi_ok) {
    SSL_free(d->ssl);
    free(d);
    return undefined(env);
  }
  return h;
}

/* The handle in a call's first argument (NULL if missing), and its second argument if asked for. */
static dtls_t *handle_arg(napi_env env, napi_callback_info info, napi_value *second) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (second) *second = argc >= 2 ? argv[1] : NULL;
  void *p = NULL;
  if (argc < 1 || napi_get_value_external(env, argv[0], &p) != napi_ok) return NULL;
  return p;
}

/* { out: Buffer[], state: 0 handshaking / 1 connected / 2 failed / 3 closed, error?: string }. */
static napi_value result(napi_env env, dtls_t *d, int state, const char *error) {
  napi_value r, arr, v;
  napi_create_object(env, &r);
  napi_create_array_with_length(env, (size_t)d->n_out, &arr);
  for (int i = 0; i < d->n_out; i++) napi_set_element(env, arr, (uint32_t)i, buffer(env, d->out[i], d->out_len[i]));
  d->n_out = 0;
  napi_set_named_property(env, r, "out", arr);
  napi_create_int32(env, state, &v);
  napi_set_named_property(env, r, "state", v);
  if (error) {
    napi_create_string_utf8(env, error, NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, r, "error", v);
  }
  return r;
}

/* Drives the handshake (or reads application data after it, which WebRTC does not send) until it waits. */
static napi_value drive(napi_env env, dtls_t *d) {
  ERR_clear_error();
  if (!SSL_is_init_finished(d->ssl)) {
    int rc = SSL_do_handshake(d->ssl);
    if (rc == 1) return result(env, d, 1, NULL);
    int e = SSL_get_error(d->ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return result(env, d, 0, NULL);
    char msg[256];
    ERR_error_string_n(ERR_get_error(), msg, sizeof msg);
    return result(env, d, 2, msg);
  }
  uint8_t sink[MAX_DGRAM];
  for (;;) {
    int n = SSL_read(d->ssl, sink, sizeof sink);
    if (n > 0) continue; /* application data: not used by DTLS-SRTP, discarded */
    int e = SSL_get_error(d->ssl, n);
    if (e == SSL_ERROR_ZERO_RETURN) return result(env, d, 3, NULL);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return result(env, d, 1, NULL);
    char msg[256];
    ERR_error_string_n(ERR_get_error(), msg, sizeof msg);
    return result(env, d, 2, msg);
  }
}

/* dtlsFeed(h, datagram | null): a received datagram (null: just drive, e.g. to start a client). */
static napi_value js_feed(napi_env env, napi_callback_info info) {
  napi_value datagram;
  dtls_t *d = handle_arg(env, info, &datagram);
  if (!d) return undefined(env);
  if (datagram) {
    bool is_buf = false;
    napi_is_buffer(env, datagram, &is_buf);
    if (is_buf) {
      void *p;
      size_t n;
      napi_get_buffer_info(env, datagram, &p, &n);
      if (n > 0 && n <= 65535) BIO_write(d->rbio, p, (int)n);
    }
  }
  return drive(env, d);
}

/* dtlsTimeoutMs(h) -> ms until the handshake's retransmission timer fires, or -1. */
static napi_value js_timeout_ms(napi_env env, napi_callback_info info) {
  napi_value r;
  dtls_t *d = handle_arg(env, info, NULL);
  struct timeval tv;
  double ms = -1;
  if (d && !SSL_is_init_finished(d->ssl) && DTLSv1_get_timeout(d->ssl, &tv) == 1)
    ms = (double)tv.tv_sec * 1000.0 + (double)tv.tv_usec / 1000.0;
  napi_create_double(env, ms, &r);
  return r;
}

/* dtlsOnTimeout(h): the retransmission timer fired; resends the last flight if due. */
static napi_value js_on_timeout(napi_env env, napi_callback_info info) {
  dtls_t *d = handle_arg(env, info, NULL);
  if (!d) return undefined(env);
  if (!SSL_is_init_finished(d->ssl) && DTLSv1_handle_timeout(d->ssl) < 0)
    return result(env, d, 2, "DTLS handshake timed out");
  return result(env, d, SSL_is_init_finished(d->ssl) ? 1 : 0, NULL);
}

/*
 * dtlsSrtp(h) -> { profile: 1 (AES_CM_128_HMAC_SHA1_80) | 2 (_32), material: Buffer(60) (client key, server
 * key, client salt, server salt), peerFingerprint: Buffer(32) (SHA-256), peerCertificate: Buffer (DER: the
 * caller hashes it with whatever algorithm the peer's SDP fingerprint names) } once connected, else undefined.
 */
static napi_value js_srtp(napi_env env, napi_callback_info info) {
  napi_value r, v;
  dtls_t *d = handle_arg(env, info, NULL);
  if (!d || !SSL_is_init_finished(d->ssl)) return undefined(env);
  SRTP_PROTECTION_PROFILE *p = SSL_get_selected_srtp_profile(d->ssl);
  X509 *peer = SSL_get1_peer_certificate(d->ssl);
  uint8_t km[KEY_MATERIAL], fp[32];
  unsigned int fl = 0;
  int ok = p && peer && X509_digest(peer, EVP_sha256(), fp, &fl) && fl == 32 &&
           SSL_export_keying_material(d->ssl, km, sizeof km, "EXTRACTOR-dtls_srtp", 19, NULL, 0, 0) == 1;
  unsigned char *der = NULL;
  int dl = ok ? i2d_X509(peer, &der) : -1;
  if (peer) X509_free(peer);
  if (!ok || dl <= 0) {
    if (der) OPENSSL_free(der);
    OPENSSL_cleanse(km, sizeof km);
    return undefined(env);
  }
  napi_create_object(env, &r);
  napi_set_named_property(env, r, "peerCertificate", buffer(env, der, (size_t)dl));
  OPENSSL_free(der);
  napi_create_int32(env, (int32_t)p->id, &v);
  napi_set_named_property(env, r, "profile", v);
  napi_set_named_property(env, r, "material", buffer(env, km, sizeof km));
  napi_set_named_property(env, r, "peerFingerprint", buffer(env, fp, sizeof fp));
  OPENSSL_cleanse(km, sizeof km);
  return r;
}

void dtls_register(napi_env env, napi_value exports) {
  struct {
    const char *name;
    napi_callback fn;
  } fns[] = {{"dtlsFingerprint", js_fingerprint}, {"dtlsCertificate", js_certificate}, {"dtlsNew", js_new},
             {"dtlsFeed", js_feed},               {"dtlsTimeoutMs", js_timeout_ms},
             {"dtlsOnTimeout", js_on_timeout},    {"dtlsSrtp", js_srtp}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f) == napi_ok)
      napi_set_named_property(env, exports, fns[i].name, f);
  }
}
