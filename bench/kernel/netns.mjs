/**
 * The bench's three network namespaces, the IPv4 layout of test/e2e/kernel-offload-netns.ts (its commands,
 * mirrored here so the bench runs from plain JavaScript): generator end A (10.77.1.2), relay R (10.77.1.1
 * towards A, 10.77.2.1 towards B, ip_forward=1) and generator end B (10.77.2.2), joined by veth pairs made
 * inside the namespaces (nothing is added to the host's namespace). Names carry the bench's PID; `destroy`
 * deletes exactly the namespaces `create` made.
 */
import { execFileSync, spawnSync } from 'node:child_process';

export const A_ADDR = '10.77.1.2';
export const R_ADDR_A = '10.77.1.1';
export const R_ADDR_B = '10.77.2.1';
export const B_ADDR = '10.77.2.2';

function ip(args) {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}

/** Why the bench cannot run here, or null. */
export function netnsUnavailable() {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root (ip netns, setns and nft need CAP_SYS_ADMIN/CAP_NET_ADMIN)';
  for (const [bin, args] of [
    ['ip', ['-V']],
    ['nft', ['--version']],
    ['cc', ['--version']],
  ]) {
    const r = spawnSync(bin, args, { stdio: 'ignore', timeout: 5000 });
    if (r.error || r.status !== 0) return `${bin} is not installed`;
  }
  return null;
}

export class BenchNetns {
  constructor() {
    const base = `smkb${process.pid}`;
    this.a = `${base}a`;
    this.r = `${base}r`;
    this.b = `${base}b`;
    this.made = [];
  }

  create() {
    for (const n of [this.a, this.r, this.b]) {
      ip(['netns', 'add', n]);
      this.made.push(n);
      ip(['-n', n, 'link', 'set', 'lo', 'up']);
    }
    ip(['-n', this.a, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'ra', 'netns', this.r]);
    ip(['-n', this.b, 'link', 'add', 'vb', 'type', 'veth', 'peer', 'name', 'rb', 'netns', this.r]);
    ip(['-n', this.a, 'addr', 'add', `${A_ADDR}/24`, 'dev', 'va']);
    ip(['-n', this.r, 'addr', 'add', `${R_ADDR_A}/24`, 'dev', 'ra']);
    ip(['-n', this.r, 'addr', 'add', `${R_ADDR_B}/24`, 'dev', 'rb']);
    ip(['-n', this.b, 'addr', 'add', `${B_ADDR}/24`, 'dev', 'vb']);
    for (const [n, d] of [
      [this.a, 'va'],
      [this.r, 'ra'],
      [this.r, 'rb'],
      [this.b, 'vb'],
    ])
      ip(['-n', n, 'link', 'set', d, 'up']);
    ip(['-n', this.a, 'route', 'add', 'default', 'via', R_ADDR_A]);
    ip(['-n', this.b, 'route', 'add', 'default', 'via', R_ADDR_B]);
    execFileSync('ip', ['netns', 'exec', this.r, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'], {
      timeout: 5000,
    });
  }

  /** Deletes the namespaces made by `create` (by name; never any other). */
  destroy() {
    for (const n of this.made.splice(0))
      spawnSync('ip', ['netns', 'del', n], { stdio: 'ignore', timeout: 10_000 });
  }

  /** The relay namespace's nftables ruleset (to check that no table is left behind). */
  ruleset() {
    return execFileSync('ip', ['netns', 'exec', this.r, 'nft', 'list', 'ruleset'], {
      encoding: 'utf8',
      timeout: 10_000,
    });
  }
}
