/** Counters over the engine's lifetime, for `statistics`, `/metrics` and the CLI. */
import type { LegPair } from '../dataplane/userspace.js';
import type { Call, CloseReason } from './call.js';

export class EngineStats {
  readonly started = Date.now();
  /** Calls created. */
  managed = 0;
  /** Offers refused by a load limit. */
  rejected = 0;
  readonly closedBy: Record<CloseReason, number> = {
    regular: 0,
    forced: 0,
    timeout: 0,
    'silent timeout': 0,
    'final timeout': 0,
    'offer timeout': 0,
  };
  totalDurationMs = 0;
  closedCalls = 0;
  /** Packets, bytes and errors of legs already closed (live legs are added on read). */
  readonly relayed = { rtpPackets: 0, rtpBytes: 0, rtcpPackets: 0, rtcpBytes: 0, errors: 0, dropped: 0 };

  closed(call: Call, reason: CloseReason): void {
    this.closedBy[reason]++;
    this.closedCalls++;
    this.totalDurationMs += Date.now() - call.created;
  }

  absorb(pair: LegPair): void {
    for (const leg of [pair.rtp, pair.rtcp]) {
      this.relayed.rtpPackets += leg.rtp.packets;
      this.relayed.rtpBytes += leg.rtp.bytes;
      this.relayed.rtcpPackets += leg.rtcp.packets;
      this.relayed.rtcpBytes += leg.rtcp.bytes;
      this.relayed.errors += leg.rtp.errors + leg.rtcp.errors;
      this.relayed.dropped += leg.dropped;
    }
  }
}
