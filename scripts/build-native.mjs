#!/usr/bin/env node
// Builds the native relay addon (src/native/relay.c -> build/Release/sipmedia_relay.node) with the node-gyp
// that ships with npm. Run by `npm install` / `npm ci`; it never fails the install: without the addon the
// proxy uses the JavaScript dataplane. SIPMEDIA_SKIP_NATIVE=1 skips the build.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const say = (m) => console.log(`sipmedia: ${m}`);

function findNodeGyp() {
  const env = process.env;
  const candidates = [
    env.npm_config_node_gyp,
    env.npm_execpath &&
      join(dirname(env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(
      dirname(process.execPath),
      '..',
      'lib',
      'node_modules',
      'npm',
      'node_modules',
      'node-gyp',
      'bin',
      'node-gyp.js',
    ),
  ];
  return candidates.find((c) => c?.endsWith('.js') && existsSync(c));
}

function main() {
  if (process.env.SIPMEDIA_SKIP_NATIVE === '1')
    return say('native relay build skipped (SIPMEDIA_SKIP_NATIVE=1)');
  if (process.platform !== 'linux')
    return say('native relay needs Linux (epoll); using the JavaScript dataplane');
  if (!existsSync(join(root, 'binding.gyp'))) return;
  const gyp = findNodeGyp();
  if (!gyp) return say('native relay not built (node-gyp not found); using the JavaScript dataplane');
  const args = [gyp, 'rebuild', '--release'];
  // Without a configured nodedir node-gyp downloads headers; use the installed ones when they are there.
  const prefix = join(dirname(process.execPath), '..');
  if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h')))
    args.push(`--nodedir=${prefix}`);
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 300_000 });
  if (r.status === 0 && existsSync(join(root, 'build', 'Release', 'sipmedia_relay.node')))
    return say('native relay built (build/Release/sipmedia_relay.node)');
  const why =
    r.error?.message ??
    `${
      `${r.stderr ?? ''}${r.stdout ?? ''}`
        .split('\n')
        .find((l) => /error/i.test(l))
        ?.trim() ?? `node-gyp exited with ${r.status}`
    }`;
  say(`native relay not built (${why.slice(0, 200)}); using the JavaScript dataplane`);
}

try {
  main();
} catch (e) {
  say(`native relay not built (${e?.message ?? e}); using the JavaScript dataplane`);
}
process.exitCode = 0;
