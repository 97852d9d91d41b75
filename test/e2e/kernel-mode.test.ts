/**
 * `--kernel=auto|require` where nf_tables refuses us: the daemon runs in a network namespace with forwarding
 * on, but inside a user namespace of its own, so it lacks CAP_NET_ADMIN over that network namespace and the
 * kernel answers its netlink probe with EPERM. require must refuse to start with that reason; auto must say
 * it once and serve in userspace.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const BIN = fileURLToPath(new URL('../../bin/sipmedia.js', import.meta.url));
const ns = `smkm${process.pid}`;

function unavailable(): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  if (spawnSync('unshare', ['--version']).status !== 0) return 'unshare (util-linux) missing';
  if (spawnSync('ip', ['netns', 'add', ns]).status !== 0) return 'ip netns add failed';
  spawnSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  spawnSync('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
  return null;
}
const why = unavailable();
if (why) console.log(`MISSING PEER: ${why}; kernel mode tests skipped`);

/** Runs the proxy without CAP_NET_ADMIN in the namespace; resolves with its output once `until` matches or it exits. */
function run(mode: string, until: RegExp): Promise<{ out: string; code: number | null }> {
  const p = spawn(
    'ip',
    [
      'netns',
      'exec',
      ns,
      'unshare',
      '--user',
      '--map-root-user',
      process.execPath,
      BIN,
      'proxy',
      `--kernel=${mode}`,
      '--interface=127.0.0.1',
      '--listen-ng=127.0.0.1:2223',
      '--foreground',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  return new Promise((resolve) => {
    const limit = setTimeout(() => p.kill('SIGKILL'), 20_000);
    const seen = (d: Buffer) => {
      out += d.toString();
      if (until.test(out)) p.kill('SIGTERM');
    };
    p.stdout.on('data', seen);
    p.stderr.on('data', seen);
    p.on('exit', (code) => {
      clearTimeout(limit);
      resolve({ out, code });
    });
  });
}

test('without CAP_NET_ADMIN: require refuses with the reason, auto warns once and serves in userspace', {
  skip: why !== null,
}, async (t) => {
  t.after(() => spawnSync('ip', ['netns', 'del', ns]));
  const req = await run('require', /cannot start/);
  assert.match(
    req.out,
    /cannot start: --kernel=require: nftables does not answer: EPERM \(needs root or CAP_NET_ADMIN\)/,
  );
  assert.doesNotMatch(req.out, /proxy running/);
  const auto = await run('auto', /proxy running/);
  assert.match(
    auto.out,
    /kernel offload unavailable, media stays in userspace: nftables does not answer: EPERM/,
  );
  assert.match(auto.out, /ng listening on udp 127\.0\.0\.1:2223/);
  assert.equal(auto.out.match(/kernel offload/g)?.length, 1, 'one line');
});
