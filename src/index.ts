/** The `sipmedia` package entry point. */
export {
  type BridgeOptions,
  type BridgeResult,
  type CallEndReason,
  createMediaServer,
  MediaCall,
  type MediaCallEvents,
  MediaServer,
  type MediaServerOptions,
  type MediaServerStats,
  type PlaybackResult,
  type PromptSource,
  startMediaServer,
} from './apps/media-server/index.js';
