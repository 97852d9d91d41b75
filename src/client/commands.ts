/**
 * The typed ng commands, written once for both NgClient (one proxy) and NgClientSet (several). A subclass
 * only says how a request dictionary is carried (`request`).
 */
import type { BDict } from '../wire/bencode.js';
import type {
  AnswerOptions,
  BlockDtmfOptions,
  ConnectOptions,
  DeleteOptions,
  ListOptions,
  MediaSelectOptions,
  OfferOptions,
  PlayDtmfOptions,
  PlayMediaOptions,
  PublishOptions,
  QueryOptions,
  RecordingOptions,
  StatisticsOptions,
  SubscribeAnswerOptions,
  SubscribeRequestOptions,
  UnsubscribeOptions,
} from './options.js';
import type {
  DeleteReply,
  ListReply,
  NgReply,
  PlayMediaReply,
  QueryReply,
  SdpReply,
  StatisticsReply,
  StopMediaReply,
  SubscribeRequestReply,
} from './replies.js';
import { toWireDict } from './wire-keys.js';

/** Per-request settings of the generic `request`. */
export interface NgRequestOptions {
  /** Overrides the client's timeout for this request (ms). */
  timeoutMs?: number;
}

/** The ng command strings of rtpengine 10.5+, by method name. */
export const NG_COMMANDS = {
  ping: 'ping',
  offer: 'offer',
  answer: 'answer',
  delete: 'delete',
  query: 'query',
  list: 'list',
  statistics: 'statistics',
  startRecording: 'start recording',
  stopRecording: 'stop recording',
  pauseRecording: 'pause recording',
  startForwarding: 'start forwarding',
  stopForwarding: 'stop forwarding',
  blockDTMF: 'block DTMF',
  unblockDTMF: 'unblock DTMF',
  blockMedia: 'block media',
  unblockMedia: 'unblock media',
  silenceMedia: 'silence media',
  unsilenceMedia: 'unsilence media',
  playMedia: 'play media',
  stopMedia: 'stop media',
  playDTMF: 'play DTMF',
  publish: 'publish',
  subscribeRequest: 'subscribe request',
  subscribeAnswer: 'subscribe answer',
  unsubscribe: 'unsubscribe',
  connect: 'connect',
} as const;

/** A method name of the typed API. */
export type NgMethod = keyof typeof NG_COMMANDS;

/** The typed ng API. Every method resolves with the reply or rejects with an NgError / NgTimeoutError. */
export abstract class NgCommands {
  /**
   * Sends any command with a raw dictionary (wire key names) — the escape hatch for commands and keys the
   * typed methods do not cover. Resolves with the reply for `ok`/`pong` (warning included), rejects with
   * NgError for `error`, NgLoadLimitError for `load limit`, NgTimeoutError when nothing answers.
   */
  abstract request(command: string, dict?: BDict, opts?: NgRequestOptions): Promise<NgReply>;

  private run<R extends NgReply>(method: NgMethod, opts: object = {}): Promise<R> {
    const command = NG_COMMANDS[method];
    const { command: _c, ...dict } = toWireDict(command, opts);
    return this.request(command, dict, {
      timeoutMs: (opts as { timeoutMs?: number }).timeoutMs,
    }) as Promise<R>;
  }

  /** `ping`: resolves when the proxy answers `pong`. */
  ping(opts?: StatisticsOptions): Promise<NgReply> {
    return this.run('ping', opts);
  }
  /** `offer`: hands the caller's SDP to the proxy; resolves with the SDP to forward to the callee. */
  offer(opts: OfferOptions): Promise<SdpReply> {
    return this.run('offer', opts);
  }
  /** `answer`: hands the callee's SDP to the proxy; resolves with the SDP to forward to the caller. */
  answer(opts: AnswerOptions): Promise<SdpReply> {
    return this.run('answer', opts);
  }
  /** `delete`: ends a call (or branch); resolves with its final state unless `fast`. */
  delete(opts: DeleteOptions): Promise<DeleteReply> {
    return this.run('delete', opts);
  }
  /** `query`: state and counters of a call. */
  query(opts: QueryOptions): Promise<QueryReply> {
    return this.run('query', opts);
  }
  /** `list`: call-ids of active calls. */
  list(opts?: ListOptions): Promise<ListReply> {
    return this.run('list', opts);
  }
  /** `statistics`: the proxy's counters (sessions, rates, per-command timings). */
  statistics(opts?: StatisticsOptions): Promise<StatisticsReply> {
    return this.run('statistics', opts);
  }
  /** `start recording`. */
  startRecording(opts: RecordingOptions): Promise<NgReply> {
    return this.run('startRecording', opts);
  }
  /** `stop recording` (flag `pause` pauses instead). */
  stopRecording(opts: RecordingOptions): Promise<NgReply> {
    return this.run('stopRecording', opts);
  }
  /** `pause recording` (rtpengine 11+; older versions: `stopRecording` with flag `pause`). */
  pauseRecording(opts: RecordingOptions): Promise<NgReply> {
    return this.run('pauseRecording', opts);
  }
  /** `start forwarding`: PCM forwarding through the recording daemon. */
  startForwarding(opts: MediaSelectOptions): Promise<NgReply> {
    return this.run('startForwarding', opts);
  }
  /** `stop forwarding`. */
  stopForwarding(opts: MediaSelectOptions): Promise<NgReply> {
    return this.run('stopForwarding', opts);
  }
  /** `block DTMF`: for the call, or the participant chosen by fromTag / address / label. */
  blockDTMF(opts: BlockDtmfOptions): Promise<NgReply> {
    return this.run('blockDTMF', opts);
  }
  /** `unblock DTMF`. */
  unblockDTMF(opts: MediaSelectOptions): Promise<NgReply> {
    return this.run('unblockDTMF', opts);
  }
  /** `block media`: stop forwarding media of the call or a participant. */
  blockMedia(opts: MediaSelectOptions): Promise<NgReply> {
    return this.run('blockMedia', opts);
  }
  /** `unblock media`. */
  unblockMedia(opts: MediaSelectOptions): Promise<NgReply> {
    return this.run('unblockMedia', opts);
  }
  /** `silence media`: forward silence instead of the media. */
  silenceMedia(opts: MediaSelectOptions): Promise<NgReply> {
    return this.run('silenceMedia', opts);
  }
  /** `unsilence media`. */
  unsilenceMedia(opts: MediaSelectOptions): Promise<NgReply> {
    return this.run('unsilenceMedia', opts);
  }
  /** `play media`: play a file, blob or database prompt to a participant. */
  playMedia(opts: PlayMediaOptions): Promise<PlayMediaReply> {
    return this.run('playMedia', opts);
  }
  /** `stop media`. */
  stopMedia(opts: MediaSelectOptions): Promise<StopMediaReply> {
    return this.run('stopMedia', opts);
  }
  /** `play DTMF`: inject a DTMF event. */
  playDTMF(opts: PlayDtmfOptions): Promise<NgReply> {
    return this.run('playDTMF', opts);
  }
  /** `publish`: a sendonly SDP in, the proxy's recvonly answer out. */
  publish(opts: PublishOptions): Promise<SdpReply> {
    return this.run('publish', opts);
  }
  /** `subscribe request`: get a sendonly offer carrying the selected participants' media. */
  subscribeRequest(opts: SubscribeRequestOptions): Promise<SubscribeRequestReply> {
    return this.run('subscribeRequest', opts);
  }
  /** `subscribe answer`: the subscriber's answer to that offer. */
  subscribeAnswer(opts: SubscribeAnswerOptions): Promise<NgReply> {
    return this.run('subscribeAnswer', opts);
  }
  /** `unsubscribe`. */
  unsubscribe(opts: UnsubscribeOptions): Promise<NgReply> {
    return this.run('unsubscribe', opts);
  }
  /** `connect`: connect two participants directly (rtpengine 11+). */
  connect(opts: ConnectOptions): Promise<NgReply> {
    return this.run('connect', opts);
  }
}
