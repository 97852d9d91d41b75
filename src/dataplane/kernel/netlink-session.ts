/**
 * The kernel offload's netfilter netlink socket (through the native addon). Requests go one at a time, in
 * order; each transaction's answers are checked for errors. The tables this socket creates with the owner
 * flag belong to it: the kernel drops them when the socket closes, also when the process dies (kill -9),
 * and every packet goes back to the daemon's bound sockets.
 */
import { type NativeRelayAddon, loadError, loadNativeRelay } from '../native/addon.js';
import { type NlError, errors } from './netlink.js';
import { NftBatch, dumpRequest, tablesDumpRequest } from './nft-netlink.js';
import type { NftFamily } from './ruleset.js';

/** One line for a failed transaction. */
export function describe(errs: readonly NlError[]): string {
  const e = errs[0];
  if (!e) return '';
  const code = e.errno === 1 ? 'EPERM (needs root or CAP_NET_ADMIN)' : `errno ${e.errno}`;
  return `${code}${e.message ? `: ${e.message}` : ''}${errs.length > 1 ? ` (+${errs.length - 1} more)` : ''}`;
}

export class NetlinkSession {
  private seq = 1;
  private tail: Promise<unknown> = Promise.resolve();
  private open = true;

  private constructor(
    private readonly addon: NativeRelayAddon,
    private readonly fd: number,
  ) {}

  /** Opens the socket; throws with a one-line reason. */
  static connect(): NetlinkSession {
    const addon = loadNativeRelay();
    if (!addon) throw new Error(`kernel offload needs the native addon: ${loadError}`);
    const fd = addon.netlinkOpen();
    if (fd < 0) throw new Error(`cannot open a netfilter netlink socket (errno ${-fd})`);
    return new NetlinkSession(addon, fd);
  }

  get alive(): boolean {
    return this.open;
  }

  /** A new transaction on table `table` of `family` (send it with {@link apply}). */
  batch(family: NftFamily, table: string): NftBatch {
    return new NftBatch(family, table, this.seq);
  }

  /** Sends a transaction; resolves with the kernel's errors (none: it was committed). */
  apply(b: NftBatch): Promise<NlError[]> {
    const { buffer, nextSeq } = b.finish();
    this.seq = nextSeq;
    return this.request(buffer, false).then(errors);
  }

  /** The per-element counters of a table's map, as counter records (read them with eachCounter). */
  async counters(family: NftFamily, table: string): Promise<Buffer> {
    try {
      return await this.request(dumpRequest(family, table, this.seq++), true, true);
    } catch (e) {
      throw new Error(`reading kernel counters failed: ${(e as Error).message}`);
    }
  }

  /** Whether nf_tables answers us at all (permission, kernel support): null or why not. */
  async probe(): Promise<string | null> {
    const errs = errors(await this.request(tablesDumpRequest(this.seq++), true));
    return errs.length ? `nftables does not answer: ${describe(errs)}` : null;
  }

  private request(buf: Buffer, dump: boolean, records = false): Promise<Buffer> {
    if (!this.open) return Promise.reject(new Error('netlink socket closed'));
    const r = this.tail.then(() => this.addon.netlinkRequest(this.fd, buf, dump, records));
    this.tail = r.catch(() => {});
    return r;
  }

  /** Closes the socket once pending requests are done: the owned tables vanish with it. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    void this.tail.then(() => this.addon.netlinkClose(this.fd));
  }
}
