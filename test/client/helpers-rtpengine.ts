/**
 * Debian's rtpengine for the client tests: the shared launcher (test/helpers/rtpengine.ts) with the options
 * these tests rely on (two threads, no delete delay).
 */
import {
  type MediaProxy,
  MISSING_RTPENGINE,
  rtpengineInstalled,
  startRtpengine as start,
} from '../helpers/rtpengine.js';

export { MISSING_RTPENGINE };
export type RunningRtpengine = MediaProxy;

export function haveRtpengine(): boolean {
  return rtpengineInstalled();
}

export function startRtpengine(extraArgs: string[] = []): Promise<RunningRtpengine> {
  return start({ extraArgs: ['--num-threads=2', '--delete-delay=0', ...extraArgs] });
}
