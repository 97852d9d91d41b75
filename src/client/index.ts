/**
 * `sipmedia/client`: a typed client of the rtpengine ng protocol, for rtpengine and `sipmedia proxy`.
 *
 * ```ts
 * import { NgClient } from 'sipmedia/client';
 * const ng = new NgClient('udp://127.0.0.1:2223');
 * const { sdp } = await ng.offer({ callId, fromTag, sdp: callerSdp, flags: ['trust address'] });
 * ```
 */
export { NgClient, DEFAULT_NG_URI, interpretReply, createTransport } from './client.js';
export type { NgClientOptions } from './client.js';
export { NgClientSet } from './client-set.js';
export type { NgClientSetEvents, NgClientSetOptions, NgProxySpec, NgProxyStatus } from './client-set.js';
export { NgCommands, NG_COMMANDS } from './commands.js';
export type { NgMethod, NgRequestOptions } from './commands.js';
export { NgError, NgLoadLimitError, NgTimeoutError, NgTransportError } from './errors.js';
export { DEFAULT_NG_PORT, NgUriError, formatNgUri, parseNgUri } from './uri.js';
export type { NgEndpoint, NgTransportKind } from './uri.js';
export type { NgSendOptions, NgTransport } from './transport.js';
export type { UdpRetransmitOptions } from './udp-transport.js';
export { NG_HTTP_CONTENT_TYPE } from './http-transport.js';
export { NG_WS_SUBPROTOCOL } from './ws-transport.js';
export { toWireDict, wireKeyOf } from './wire-keys.js';
export type * from './options.js';
export type * from './replies.js';
