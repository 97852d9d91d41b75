/**
 * Three network namespaces for kernel offload tests and the benchmark: endpoint A (10.77.1.2, fd77:1::2), the
 * proxy P (10.77.1.1 and fd77:1::1 towards A, 10.77.2.1 and fd77:2::1 towards B, forwarding on for both
 * families) and endpoint B (10.77.2.2, fd77:2::2), joined by veth pairs
 * created directly inside the namespaces (nothing is added to the host's own namespace). Names carry the
 * process id, so parallel runs never touch each other's; `destroy` deletes exactly the ones made here.
 *
 * Agents: one long-lived node process per namespace that binds UDP sockets, sends and counts RTP, and (in P)
 * speaks ng to the daemon, driven by JSON lines on stdin/stdout.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const A_ADDR = '10.77.1.2';
export const P_ADDR_A = '10.77.1.1';
export const P_ADDR_B = '10.77.2.1';
export const B_ADDR = '10.77.2.2';
export const A_ADDR6 = 'fd77:1::2';
export const P_ADDR6_A = 'fd77:1::1';
export const P_ADDR6_B = 'fd77:2::1';
export const B_ADDR6 = 'fd77:2::2';

const BENCODE = fileURLToPath(new URL('../../dist/wire/bencode.js', import.meta.url));

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}

/** Why namespaces + nft cannot be used here, or null. */
export function netnsUnavailable(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root (ip netns and nft need CAP_NET_ADMIN)';
  for (const [bin, args] of [
    ['ip', ['-V']],
    ['nft', ['--version']],
  ] as const) {
    const r = spawnSync(bin, args, { stdio: 'ignore', timeout: 5000 });
    if (r.error || r.status !== 0) return `${bin} is not installed`;
  }
  const probe = `smkprobe${process.pid}`;
  try {
    ip(['netns', 'add', probe]);
  } catch (e) {
    return `ip netns add failed: ${(e as Error).message.split('\n')[0]}`;
  }
  try {
    const r = spawnSync('ip', ['netns', 'exec', probe, 'nft', 'add', 'table', 'ip', 'probe'], {
      stdio: 'ignore',
      timeout: 5000,
    });
    if (r.status !== 0) return 'nft cannot create a table inside a namespace';
  } finally {
    spawnSync('ip', ['netns', 'del', probe], { stdio: 'ignore' });
  }
  return null;
}

export class Netns {
  readonly a: string;
  readonly p: string;
  readonly b: string;
  private made: string[] = [];

  constructor(tag: string) {
    const base = `smk${process.pid}${tag}`;
    this.a = `${base}a`;
    this.p = `${base}p`;
    this.b = `${base}b`;
  }

  create(): void {
    for (const n of [this.a, this.p, this.b]) {
      ip(['netns', 'add', n]);
      this.made.push(n);
      ip(['-n', n, 'link', 'set', 'lo', 'up']);
    }
    ip(['-n', this.a, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'pa', 'netns', this.p]);
    ip(['-n', this.b, 'link', 'add', 'vb', 'type', 'veth', 'peer', 'name', 'pb', 'netns', this.p]);
    ip(['-n', this.a, 'addr', 'add', `${A_ADDR}/24`, 'dev', 'va']);
    ip(['-n', this.p, 'addr', 'add', `${P_ADDR_A}/24`, 'dev', 'pa']);
    ip(['-n', this.p, 'addr', 'add', `${P_ADDR_B}/24`, 'dev', 'pb']);
    ip(['-n', this.b, 'addr', 'add', `${B_ADDR}/24`, 'dev', 'vb']);
    // nodad: usable at once (duplicate address detection would hold them tentative for a second or more).
    for (const [n, a, d] of [
      [this.a, A_ADDR6, 'va'],
      [this.p, P_ADDR6_A, 'pa'],
      [this.p, P_ADDR6_B, 'pb'],
      [this.b, B_ADDR6, 'vb'],
    ] as const)
      ip(['-n', n, 'addr', 'add', `${a}/64`, 'dev', d, 'nodad']);
    for (const [n, d] of [
      [this.a, 'va'],
      [this.p, 'pa'],
      [this.p, 'pb'],
      [this.b, 'vb'],
    ] as const)
      ip(['-n', n, 'link', 'set', d, 'up']);
    ip(['-n', this.a, 'route', 'add', 'default', 'via', P_ADDR_A]);
    ip(['-n', this.b, 'route', 'add', 'default', 'via', P_ADDR_B]);
    ip(['-n', this.a, '-6', 'route', 'add', 'default', 'via', P_ADDR6_A]);
    ip(['-n', this.b, '-6', 'route', 'add', 'default', 'via', P_ADDR6_B]);
    execFileSync(
      'ip',
      ['netns', 'exec', this.p, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1'],
      { timeout: 5000 },
    );
  }

  /** Deletes the namespaces made by `create` (by name; never any other). */
  destroy(): void {
    for (const n of this.made.splice(0))
      spawnSync('ip', ['netns', 'del', n], { stdio: 'ignore', timeout: 10_000 });
  }

  /** Runs a command in a namespace and returns its stdout. */
  exec(ns: string, cmd: string[]): string {
    return execFileSync('ip', ['netns', 'exec', ns, ...cmd], { encoding: 'utf8', timeout: 10_000 });
  }

  /** Spawns a process inside a namespace. */
  spawn(ns: string, cmd: string[]): ChildProcess {
    return spawn('ip', ['netns', 'exec', ns, ...cmd], { stdio: ['pipe', 'pipe', 'pipe'] });
  }
}

/** Agent source: plain JS run with `node --input-type=module -e`. */
const AGENT = `
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';
const { bencodeEncode, bencodeDecode } = await import(process.env.SM_BENCODE);
const socks = new Map();
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const plain = (v) => Buffer.isBuffer(v) ? v.toString('utf8') : Array.isArray(v) ? v.map(plain)
  : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)])) : v;
let ngSock;
const ngWait = new Map();
createInterface({ input: process.stdin }).on('line', async (line) => {
  const m = JSON.parse(line);
  try {
    if (m.op === 'bind') {
      const s = createSocket(m.address.includes(':') ? 'udp6' : 'udp4');
      const st = { s, count: 0, seqs: new Set(), from: {}, ssrcs: {}, pts: {} };
      s.on('message', (b, r) => {
        st.count++;
        const k = r.address + ':' + r.port;
        st.from[k] = (st.from[k] || 0) + 1;
        if (b.length >= 12) {
          st.seqs.add(b.readUInt16BE(2)); const ss = b.readUInt32BE(8); st.ssrcs[ss] = (st.ssrcs[ss] || 0) + 1;
          const pt = b[1] & 0x7f; st.pts[pt] = (st.pts[pt] || 0) + 1;
        }
      });
      s.bind(0, m.address, () => { socks.set(m.name, st); out({ id: m.id, port: s.address().port }); });
    } else if (m.op === 'send') {
      const st = socks.get(m.name);
      const buf = Buffer.alloc(172);
      buf[0] = m.b0 ?? 0x80; buf[1] = m.pt ?? 0; buf.writeUInt32BE(m.ssrc >>> 0, 8);
      for (let i = 0; i < m.count; i++) {
        buf.writeUInt16BE((m.seq0 + i) & 0xffff, 2);
        buf.writeUInt32BE(((m.seq0 + i) * 160) >>> 0, 4);
        st.s.send(Buffer.from(buf), m.port, m.to);
        if (m.gapMs) await new Promise((r) => setTimeout(r, m.gapMs));
      }
      out({ id: m.id, sent: m.count });
    } else if (m.op === 'stats') {
      const st = socks.get(m.name);
      out({ id: m.id, count: st.count, unique: st.seqs.size, from: st.from, ssrcs: st.ssrcs, pts: st.pts });
    } else if (m.op === 'reset') {
      const st = socks.get(m.name);
      st.count = 0; st.seqs.clear(); st.from = {}; st.ssrcs = {}; st.pts = {};
      out({ id: m.id });
    } else if (m.op === 'ng') {
      if (!ngSock) {
        ngSock = createSocket('udp4');
        ngSock.on('message', (b) => {
          const sp = b.indexOf(32);
          const cookie = b.subarray(0, sp).toString();
          const w = ngWait.get(cookie);
          if (w) { ngWait.delete(cookie); w(plain(bencodeDecode(b.subarray(sp + 1)))); }
        });
        await new Promise((r) => ngSock.bind(0, '127.0.0.1', r));
      }
      const cookie = 'c' + m.id;
      const reply = await new Promise((resolve) => {
        const t = setTimeout(() => { ngWait.delete(cookie); resolve({ result: 'timeout' }); }, 3000);
        ngWait.set(cookie, (v) => { clearTimeout(t); resolve(v); });
        ngSock.send(Buffer.concat([Buffer.from(cookie + ' '), bencodeEncode(m.dict)]), m.port, '127.0.0.1');
      });
      out({ id: m.id, reply });
    }
  } catch (e) { out({ id: m.id, error: String(e && e.message || e) }); }
});
`;

/** A JSON-lines agent inside a namespace. */
export class Agent {
  private seq = 0;
  private readonly waiting = new Map<number, (v: Record<string, unknown>) => void>();
  private readonly proc: ChildProcess;

  constructor(net: Netns, ns: string) {
    this.proc = spawn('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', AGENT], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, SM_BENCODE: BENCODE },
    });
    void net;
    createInterface({ input: this.proc.stdout! }).on('line', (l) => {
      let v: Record<string, unknown>;
      try {
        v = JSON.parse(l);
      } catch {
        return;
      }
      const w = this.waiting.get(v.id as number);
      if (w) {
        this.waiting.delete(v.id as number);
        w(v);
      }
    });
  }

  call(op: Record<string, unknown>, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`agent ${String(op.op)} timed out`));
      }, timeoutMs);
      this.waiting.set(id, (v) => {
        clearTimeout(t);
        if (v.error) reject(new Error(String(v.error)));
        else resolve(v);
      });
      this.proc.stdin!.write(`${JSON.stringify({ ...op, id })}\n`);
    });
  }

  async bind(name: string, address: string): Promise<number> {
    return (await this.call({ op: 'bind', name, address })).port as number;
  }

  send(
    name: string,
    to: string,
    port: number,
    count: number,
    /** `pt` is the whole second byte (200: an RTCP sender report's type); `b0` the first (0x80: RTP v2). */
    opts: { seq0?: number; ssrc?: number; gapMs?: number; pt?: number; b0?: number } = {},
  ) {
    return this.call({
      op: 'send',
      name,
      to,
      port,
      count,
      seq0: opts.seq0 ?? 0,
      ssrc: opts.ssrc ?? 1,
      gapMs: opts.gapMs ?? 0,
      pt: opts.pt ?? 0,
      b0: opts.b0 ?? 0x80,
    });
  }

  stats(name: string): Promise<{
    count: number;
    unique: number;
    from: Record<string, number>;
    ssrcs: Record<string, number>;
    /** Packets per RTP payload type. */
    pts: Record<string, number>;
  }> {
    return this.call({ op: 'stats', name }) as never;
  }

  // biome-ignore lint/suspicious/noExplicitAny: ng replies are read loosely in tests
  async ng(port: number, dict: Record<string, unknown>): Promise<Record<string, any>> {
    return (await this.call({ op: 'ng', port, dict })).reply as never;
  }

  kill(): void {
    this.proc.kill('SIGKILL');
  }
}
