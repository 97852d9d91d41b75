/* DTLS-SRTP handshakes for WebRTC legs (dtls.c). */
#ifndef SIPMEDIA_DTLS_H
#define SIPMEDIA_DTLS_H
#include <node_api.h>

/* Adds dtlsFingerprint, dtlsNew, dtlsFeed, dtlsTimeoutMs, dtlsOnTimeout and dtlsSrtp to the addon's exports. */
void dtls_register(napi_env env, napi_value exports);

#endif
