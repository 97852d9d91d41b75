/** Pure SIP wire format: parser, serializer, URIs, addresses, Via, header helpers, stream framing. */
export * from './errors.js';
export * from './framer.js';
export * from './header-names.js';
export * from './headers.js';
export * from './message.js';
export * from './name-addr.js';
export * from './params.js';
export * from './uri.js';
export * from './via.js';
export * from './response.js';
