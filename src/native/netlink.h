/* Netfilter netlink transport for the kernel offload (netlink.c). */
#ifndef SIPMEDIA_NETLINK_H
#define SIPMEDIA_NETLINK_H
#include <node_api.h>

/* Adds netlinkOpen, netlinkClose and netlinkRequest to the addon's exports. */
void netlink_register(napi_env env, napi_value exports);

#endif
