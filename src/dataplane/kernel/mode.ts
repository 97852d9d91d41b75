/**
 * `--kernel=off|auto|require` at start-up: off never touches nftables; auto offloads when nf_tables answers
 * (root or CAP_NET_ADMIN, forwarding on, the native addon built) and otherwise logs one line and stays in userspace; require refuses
 * to start without it.
 */
import { readFile } from 'node:fs/promises';
import {
  KernelOffload,
  type KernelOffloadOptions,
  type OffloadLogger,
  kernelUnavailable,
} from './offload.js';

export type KernelMode = 'off' | 'auto' | 'require';

export class KernelRequiredError extends Error {}

async function ipv6Forwarding(): Promise<boolean> {
  try {
    return (await readFile('/proc/sys/net/ipv6/conf/all/forwarding', 'utf8')).trim() === '1';
  } catch {
    return false;
  }
}

/** The offload manager, or null when the mode or the host says userspace. Throws only for `require`. */
export async function startKernelOffload(
  mode: KernelMode,
  log: OffloadLogger,
  opts: Pick<KernelOffloadOptions, 'syncMs' | 'lateCounts' | 'tos'> = {},
): Promise<KernelOffload | null> {
  if (mode === 'off') return null;
  let why = await kernelUnavailable();
  if (!why) {
    try {
      const k = await KernelOffload.start({ log, ...opts, ipv6: await ipv6Forwarding() });
      log.info(`kernel offload on: plain RTP is forwarded by nftables (table ${k.tableNames.join(', ')})`);
      return k;
    } catch (e) {
      why = (e as Error).message;
    }
  }
  if (mode === 'require') throw new KernelRequiredError(`--kernel=require: ${why}`);
  log.warn(`kernel offload unavailable, media stays in userspace: ${why}`);
  return null;
}
