/**
 * Reply shapes of the ng commands, with rtpengine's own key names (e.g. `'last signal'`, `'local port'`).
 * Every reply keeps any further keys the proxy sends; `warning` is set when the proxy reported a non-fatal
 * problem with an `ok` result.
 */

/** Fields common to every successful reply. */
export interface NgReply {
  /** `ok`, or `pong` for ping. */
  result: string;
  /** A non-fatal problem the proxy reported (e.g. "Call-ID not found or tags didn't match" on delete). */
  warning?: string;
  [key: string]: unknown;
}

/** Replies that carry a rewritten SDP: offer, answer, publish, subscribe request. */
export interface SdpReply extends NgReply {
  sdp: string;
}

/** The reply to `subscribe request`: an offer for the subscriber plus the tags involved. */
export interface SubscribeRequestReply extends SdpReply {
  'from-tag'?: string;
  'from-tags'?: string[];
  'to-tag': string;
}

/** Packet counters. */
export interface NgCounters {
  packets: number;
  bytes: number;
  errors: number;
}

/** An address as the proxy reports it. */
export interface NgAddress {
  family: string;
  address: string;
  port: number;
}

/** One stream (RTP or RTCP component) of a media section. */
export interface NgStreamState {
  'local port': number;
  'local address'?: string;
  family?: string;
  /** Where media is sent (learned or from SDP). */
  endpoint?: NgAddress;
  /** What the SDP said. */
  'advertised endpoint'?: NgAddress;
  'crypto suite'?: string;
  /** Unix time of the last packet. */
  'last packet'?: number;
  /** e.g. `RTP`, `RTCP`, `filled`, `confirmed`, `kernelized`. */
  flags?: string[];
  SSRC?: number;
  stats?: NgCounters;
  [key: string]: unknown;
}

/** One media section (`m=` line) of a participant. */
export interface NgMediaState {
  index: number;
  type: string;
  protocol?: string;
  codec?: string;
  flags?: string[];
  streams: NgStreamState[];
  [key: string]: unknown;
}

/** A subscription edge between two participants. */
export interface NgSubscription {
  tag: string;
  type: string;
}

/** One participant (monologue) of a call, keyed by its tag. */
export interface NgTagState {
  tag: string;
  label?: string;
  created: number;
  'in dialogue with'?: string;
  subscriptions?: NgSubscription[];
  subscribers?: NgSubscription[];
  medias: NgMediaState[];
  [key: string]: unknown;
}

/** The state of one call, as `query` (and `delete` without the `fast` flag) report it. */
export interface NgCallState {
  /** Unix time the call was created (`created_us` adds microseconds). */
  created: number;
  created_us?: number;
  'last signal': number;
  SSRC?: Record<string, unknown>;
  tags: Record<string, NgTagState>;
  totals: { RTP: NgCounters; RTCP: NgCounters };
}

/** Reply to `query`. */
export interface QueryReply extends NgReply, NgCallState {}

/** Reply to `delete`: the final call state unless `fast` was given or the call was unknown. */
export interface DeleteReply extends NgReply, Partial<NgCallState> {}

/** Reply to `list`. */
export interface ListReply extends NgReply {
  calls: string[];
}

/** The `statistics` dictionary (rtpengine's names; numbers may arrive as decimal strings). */
export interface NgStatistics {
  currentstatistics?: {
    sessionsown?: number;
    sessionsforeign?: number;
    sessionstotal?: number;
    transcodedmedia?: number;
    packetrate?: number;
    byterate?: number;
    errorrate?: number;
    [key: string]: unknown;
  };
  totalstatistics?: { uptime?: string | number; managedsessions?: number; [key: string]: unknown };
  intervalstatistics?: Record<string, unknown>;
  controlstatistics?: Record<string, unknown>;
  [key: string]: unknown;
}

/** Reply to `statistics`. */
export interface StatisticsReply extends NgReply {
  statistics: NgStatistics;
}

/** Reply to `play media`. */
export interface PlayMediaReply extends NgReply {
  /** Length of the played media in ms, when known. */
  duration?: number;
}

/** Reply to `stop media`. */
export interface StopMediaReply extends NgReply {
  /** Position (ms) of the last frame played. */
  'last-frame-pos'?: number;
}
