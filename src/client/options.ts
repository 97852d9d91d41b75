/**
 * Typed, camelCase options of the ng commands. Each field maps to one documented rtpengine dictionary key
 * (see wire-keys.ts); anything not typed here can go in `extra`, copied to the request as is.
 */
import type { BDict } from '../wire/bencode.js';

/** A string that still allows autocompletion of the listed literals. */
type Open<T extends string> = T | (string & {});

/** `IP4` or `IP6`, as rtpengine writes address families. */
export type NgAddressFamily = 'IP4' | 'IP6';

/** Entries of the `flags` list (rtpengine accepts `-` for spaces). Free-form strings are allowed too. */
export type NgFlag = Open<
  | 'trust address'
  | 'SIP source address'
  | 'symmetric'
  | 'asymmetric'
  | 'unidirectional'
  | 'strict source'
  | 'media handover'
  | 'port latching'
  | 'no port latching'
  | 'NAT wait'
  | 'pierce NAT'
  | 'loop protect'
  | 'reset'
  | 'original sendrecv'
  | 'inactive'
  | 'full rtcp attribute'
  | 'no rtcp attribute'
  | 'generate mid'
  | 'strip extmap'
  | 'directional'
  | 'bidirectional'
  | 'reject ICE'
  | 'trickle ICE'
  | 'recrypt'
  | 'pad crypto'
  | 'WebRTC'
  | 'allow asymmetric codecs'
  | 'allow no codec media'
  | 'allow transcoding'
  | 'force transcoding'
  | 'always transcode'
  | 'single codec'
  | 'static codecs'
  | 'reuse codecs'
  | 'no codec renegotiation'
  | 'fragment'
  | 'discard recording'
  | 'exclude recording'
  | 'recording announcement'
  | 'detect DTMF'
  | 'inject DTMF'
  | 'RTCP mirror'
  | 'debug'
  | 'fatal'
  | 'fast'
  | 'to-tag'
  | 'all'
  | 'pause'
  | 'new branch'
  | 'provisional'
  | 'early media'
  | 'block short'
  | 'block egress'
>;

/** Entries of the `replace` list: which parts of the SDP the proxy rewrites. */
export type NgReplace = Open<
  | 'origin'
  | 'origin-full'
  | 'session-connection'
  | 'session-name'
  | 'SDP-version'
  | 'force-increment-sdp-ver'
  | 'username'
  | 'zero-address'
>;

/**
 * Codec manipulation (`codec` dictionary). Codec specs are `name[/clock[/channels[/bitrate[/ptime[/fmtp]]]]]`,
 * e.g. `opus/48000/2`; `all` works for strip and mask.
 */
export interface NgCodecOptions {
  /** Remove these codecs from the SDP. */
  strip?: string[];
  /** Offer these codecs (reordering / re-adding stripped ones). */
  offer?: string[];
  /** Add these codecs, transcoding to/from them as needed. */
  transcode?: string[];
  /** Hide these codecs from the far side but accept them from the near side. */
  mask?: string[];
  /** Change codec parameters, e.g. `opus/48000/2/24000`. */
  set?: string[];
  /** Accept these codecs in an answer even if not offered. */
  accept?: string[];
  consume?: string[];
  except?: string[];
  ignore?: string[];
}

/** One section of `sdp-attr` manipulation. */
export interface NgSdpAttrSection {
  add?: string[];
  remove?: string[];
  /** Pairs of [from, to] attribute lines. */
  substitute?: [string, string][];
}

/** `sdp-attr`: add/remove/substitute SDP attributes at session level (`global`) or per media type. */
export interface NgSdpAttrOptions {
  none?: NgSdpAttrSection;
  global?: NgSdpAttrSection;
  audio?: NgSdpAttrSection;
  video?: NgSdpAttrSection;
}

/** `moh`: music on hold played by the proxy when the other side puts the call on hold. */
export interface NgMohOptions {
  file?: string;
  blob?: string | Buffer;
  dbId?: number;
  mode?: 'sendonly' | 'sendrecv' | 'reflect';
  connection?: 'zero';
}

/** Keys every command accepts. */
export interface NgBaseOptions {
  /** The `flags` list. */
  flags?: NgFlag[];
  /** `supports`: capabilities of this client. The client adds `load limit` unless told not to. */
  supports?: string[];
  /** Raw dictionary entries (wire key names) added to the request last, overriding typed fields. */
  extra?: BDict;
  /** Timeout for this request in ms (overrides the client's). Not sent. */
  timeoutMs?: number;
}

/** Keys that identify a call and, optionally, one of its participants. */
export interface NgCallOptions extends NgBaseOptions {
  /** SIP Call-ID (`call-id`). */
  callId: string;
  /** SIP From tag (`from-tag`). */
  fromTag?: string;
  /** SIP To tag (`to-tag`). */
  toTag?: string;
  /** Top Via branch (`via-branch`), to tell forked branches apart. */
  viaBranch?: string;
  /** `label` (aka `from-label`): names a participant, or selects one for media commands. */
  label?: string;
  /** `to-label`: selects the other participant by label. */
  toLabel?: string;
  /** `set-label`: relabels the participant. */
  setLabel?: string;
  /** `from-tags`: selects several participants. */
  fromTags?: string[];
  /** `address`: selects a participant by its media address. */
  address?: string;
  /** `all`: extend a media command to all participants or flows. */
  all?: 'none' | 'all' | 'offer-answer' | 'except-offer-answer' | 'flows';
  /** `received from`: source of the SIP message, `['IP4', '192.0.2.1']` or just the address. */
  receivedFrom?: string | [NgAddressFamily, string];
  /** `metadata`: free text stored with the call (written to recording metadata). */
  metadata?: string;
  /** `interface`: one logical interface (publish, subscribe). */
  interface?: string;
}

/** Keys of the SDP-carrying commands (offer, answer, publish, subscribe answer). */
export interface NgSdpOptions {
  /** The SDP body. */
  sdp: string;
  /** `replace`: SDP parts to rewrite. */
  replace?: NgReplace[];
  /** `direction`: [from interface, to interface] for the first offer. */
  direction?: [string, string];
  /** `from-interface` / `to-interface`. */
  fromInterface?: string;
  toInterface?: string;
  /** `media address`: overrides SDP and `received from` addresses. */
  mediaAddress?: string;
  /** `address family` of the rewritten SDP. */
  addressFamily?: NgAddressFamily;
  /** `ICE` handling. */
  ice?: Open<'remove' | 'force' | 'default' | 'force-relay' | 'optional'>;
  /** `ICE-lite` mode (offer only). */
  iceLite?: 'forward' | 'backward' | 'both' | 'off';
  /** `transport protocol` of the rewritten SDP (`accept` in answers). */
  transportProtocol?: Open<
    'RTP/AVP' | 'RTP/AVPF' | 'RTP/SAVP' | 'RTP/SAVPF' | 'UDP/TLS/RTP/SAVP' | 'UDP/TLS/RTP/SAVPF' | 'accept'
  >;
  /** `rtcp-mux` handling. */
  rtcpMux?: ('offer' | 'require' | 'demux' | 'accept' | 'reject')[];
  /** `bundle` handling (RFC 9143). */
  bundle?: ('accept' | 'offer' | 'require' | 'strict' | 'reject')[];
  /** `TOS` of outgoing media packets. */
  tos?: number;
  /** `DTLS` behaviour. */
  dtls?: 'off' | 'no' | 'disable' | 'passive' | 'active';
  /** `DTLS-reverse`: behaviour towards DTLS offered to the proxy. */
  dtlsReverse?: 'passive' | 'active';
  /** `DTLS-fingerprint` hash. */
  dtlsFingerprint?: 'SHA-1' | 'SHA-224' | 'SHA-256' | 'SHA-384' | 'SHA-512';
  /** `SDES` options (e.g. `off`, `no-AES_CM_128_HMAC_SHA1_32`, `unencrypted_srtp`). */
  sdes?: string[];
  /** `OSRTP` options (`offer`, `accept`, ...). */
  osrtp?: string[];
  /** `record call`: record the whole call from the start. */
  recordCall?: boolean;
  /** `codec` manipulation. */
  codec?: NgCodecOptions;
  /** `ptime` towards the receiver, `ptime-reverse` towards the sender (ms). */
  ptime?: number;
  ptimeReverse?: number;
  /** `sdp-attr` manipulation. */
  sdpAttr?: NgSdpAttrOptions;
  /** `sdp-media-remove`: media types to drop. */
  sdpMediaRemove?: string[];
  /** `endpoint-learning` algorithm. */
  endpointLearning?: 'off' | 'immediate' | 'delayed' | 'heuristic';
  /** `media echo` mode. */
  mediaEcho?: 'blackhole' | 'sinkhole' | 'forward' | 'backwards' | 'both';
  /** `T.38` options (`decode`, `force`, `stop`, ...). */
  t38?: string[];
  /** `delay-buffer` in ms (0 disables). */
  delayBuffer?: number;
  /** `audio player` usage. */
  audioPlayer?: 'default' | 'transcoding' | 'off' | 'always';
  /** `generate RTCP`: the proxy generates its own RTCP. */
  generateRtcp?: boolean;
  /** `drop-traffic`: start or stop dropping all media of the call. */
  dropTraffic?: 'start' | 'stop';
  /** `template`: a named set of options configured on the proxy. */
  template?: string;
  /** `xmlrpc-callback`: where to send the timeout callback. */
  xmlrpcCallback?: string;
  /** `SIP message type` (`SIP request` / `SIP reply`) and `SIP code`. */
  sipMessageType?: string;
  sipCode?: number;
  /** `moh`: music on hold. */
  moh?: NgMohOptions;
  /** `DTMF-security` and `DTMF-delay` can be set from the start. */
  dtmfSecurity?: NgDtmfSecurity;
  dtmfDelay?: number;
}

/** DTMF blocking modes. */
export type NgDtmfSecurity = 'drop' | 'silence' | 'tone' | 'random' | 'zero' | 'DTMF' | 'off';

/** `offer`: SDP from the caller. */
export interface OfferOptions extends NgCallOptions, NgSdpOptions {
  fromTag: string;
}

/** `answer`: SDP from the callee. */
export interface AnswerOptions extends NgCallOptions, NgSdpOptions {
  fromTag: string;
  toTag: string;
}

/** `delete`: tear down a call (or one branch / participant). */
export interface DeleteOptions extends NgCallOptions {
  /** `delete delay` in seconds; 0 deletes at once. */
  deleteDelay?: number;
}

/** `query`: state and counters of a call. */
export interface QueryOptions extends NgCallOptions {}

/** `list`: call-ids of active calls. */
export interface ListOptions extends NgBaseOptions {
  /** `limit`: at most this many (rtpengine's default is 32). */
  limit?: number;
}

/** `statistics`, `ping`. */
export interface StatisticsOptions extends NgBaseOptions {}

/** `start recording` / `stop recording` / `pause recording`. */
export interface RecordingOptions extends NgCallOptions {
  /** `recording-file`, `recording-dir`, `recording-pattern`: where the recording goes. */
  recordingFile?: string;
  recordingDir?: string;
  recordingPattern?: string;
  /** `output-destination`. */
  outputDestination?: string;
}

/** `start forwarding` / `stop forwarding`, and the media selection commands. */
export interface MediaSelectOptions extends NgCallOptions {}

/** `block DTMF` (and `unblock DTMF`). */
export interface BlockDtmfOptions extends NgCallOptions {
  /** `DTMF-security`: how blocked DTMF is replaced (default `drop`). */
  dtmfSecurity?: NgDtmfSecurity;
  /** `DTMF-security-trigger` / `DTMF-security-trigger-end`: modes switched to on the triggers. */
  dtmfSecurityTrigger?: NgDtmfSecurity;
  dtmfSecurityTriggerEnd?: NgDtmfSecurity;
  /** `trigger` / `trigger-end`: DTMF digit sequences. */
  trigger?: string;
  triggerEnd?: string;
  /** `trigger-end-time` (ms) / `trigger-end-digits`. */
  triggerEndTime?: number;
  triggerEndDigits?: number;
  /** `DTMF-delay` in ms. */
  dtmfDelay?: number;
  /** `digit`: replacement digit for mode `DTMF`. */
  digit?: string;
  /** `frequencies` (Hz) for mode `tone`. */
  frequencies?: number[];
  /** `volume` (dB below full scale, as a positive number) of replacement tones. */
  volume?: number;
  /** `delay-buffer` in ms. */
  delayBuffer?: number;
}

/** Source of `play media`: exactly one of file, blob or database id. */
export type PlayMediaSource = { file: string } | { blob: string | Buffer } | { dbId: number };

/** `play media`: play a prompt into a call. */
export type PlayMediaOptions = NgCallOptions &
  PlayMediaSource & {
    /** `repeat-times`: play this many times. */
    repeatTimes?: number;
    /** `repeat-duration`: keep repeating for this many ms. */
    repeatDuration?: number;
    /** `start-pos`: start at this position (ms). */
    startPos?: number;
    /** `codec`: e.g. `{ set: [...] }` for encoder parameters. */
    codec?: NgCodecOptions;
  };

/** `play DTMF`: inject a DTMF event (needs `inject DTMF` on offer and answer). */
export interface PlayDtmfOptions extends NgCallOptions {
  /** `code`: 0-15 or one of 0-9 * # A-D. */
  code: string | number;
  /** `duration` in ms (default 250). */
  duration?: number;
  /** `volume` in dB below full scale (default 8). */
  volume?: number;
  /** `pause` after the event, in ms (default 100). */
  pause?: number;
}

/** `publish`: a sendonly SDP whose media others can subscribe to. */
export interface PublishOptions extends NgCallOptions, NgSdpOptions {
  fromTag: string;
}

/** `subscribe request`: ask for an offer carrying the media of one or more participants. */
export interface SubscribeRequestOptions extends NgCallOptions, Partial<NgSdpOptions> {}

/** `subscribe answer`: the subscriber's answer SDP. */
export interface SubscribeAnswerOptions extends NgCallOptions, NgSdpOptions {
  toTag: string;
}

/** `unsubscribe`. */
export interface UnsubscribeOptions extends NgCallOptions {
  toTag: string;
}

/** `connect`: join two participants (possibly of two calls) directly. */
export interface ConnectOptions extends NgCallOptions {
  fromTag: string;
  toTag: string;
  /** `to-call-id`: the other participant's call. */
  toCallId?: string;
}

/** Every typed option of every command (the wire-key table is keyed by this). */
export type NgAnyOptions = NgCallOptions &
  NgSdpOptions &
  Omit<DeleteOptions, keyof NgCallOptions> &
  Omit<ListOptions, keyof NgBaseOptions> &
  Omit<RecordingOptions, keyof NgCallOptions> &
  Omit<BlockDtmfOptions, keyof NgCallOptions> &
  Omit<PlayDtmfOptions, keyof NgCallOptions> &
  Omit<ConnectOptions, keyof NgCallOptions> & {
    file: string;
    blob: string | Buffer;
    dbId: number;
    repeatTimes: number;
    repeatDuration: number;
    startPos: number;
  };
