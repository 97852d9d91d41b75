/**
 * Music on hold (ng `moh` on offer or answer): the party that gave it is the holder. When that party's SDP
 * puts the call on hold (its audio `sendonly` or `inactive`; with `connection: zero` also a `c=0.0.0.0`),
 * the proxy plays the music to the other party in the holder's place, looping, until the holder's SDP takes
 * the hold back. A `play media` the control side started itself is never stopped by this.
 */
import { Sdp } from '../wire/sdp.js';
import type { Monologue } from './call.js';
import type { PlayMediaRequest } from './media-control.js';

export interface MohConfig {
  /** What to play: a file under --media-dir or the bytes of one. */
  source: Pick<PlayMediaRequest, 'file' | 'bytes'>;
  /** A zero connection address counts as hold too (`connection: zero`). */
  connectionZero: boolean;
}

/** One holder's music: its configuration and the playback running for it, if any. */
export interface MohState extends MohConfig {
  playing: object | undefined;
}

/** How often the music loops at most (it stops when the hold ends or the call does). */
export const MOH_REPEAT = 10_000;

/** Whether `party`'s last SDP holds its first audio section (see the file comment). */
export function onHold(party: Monologue, connectionZero: boolean): boolean {
  if (party.sdp === undefined) return false;
  let sdp: Sdp;
  try {
    sdp = Sdp.parse(party.sdp);
  } catch {
    return false;
  }
  const m = sdp.media.find((x) => x.kind === 'audio');
  if (!m) return false;
  const dir = sdp.directionOf(m);
  if (dir === 'sendonly' || dir === 'inactive') return true;
  const c = sdp.connectionOf(m)?.address;
  return connectionZero && (c === '0.0.0.0' || c === '::');
}
