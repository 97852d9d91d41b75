/** `sipmedia media-server` as a library: Kamailio's rtp_media_server, programmable in TypeScript. */
export type { BridgeOptions, BridgeResult, BridgeStats } from './bridge.js';
export {
  type CallEndReason,
  type CallState,
  MediaCall,
  type MediaCallEvents,
  type PlaybackResult,
  type PromptSource,
} from './call.js';
export type { PlaybackEnd } from './playback.js';
export {
  createMediaServer,
  MediaServer,
  type MediaServerEvents,
  type MediaServerOptions,
  type MediaServerStats,
  parseHostPort,
  startMediaServer,
} from './server.js';
export type { AudioFormat, NegotiatedAudio } from './sdp-negotiation.js';
