#!/usr/bin/env node
// Runs every test/**/*.test.ts with node:test through tsx. Node 20's --test does not expand globs,
// so the file list is built here. Usage: node scripts/test.mjs [path-filter ...]
import { spawn } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { onTimeout, reportOptions } from './test-watchdog.mjs';

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'fixtures') out.push(...walk(p));
    } else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = walk('test')
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// Each test has a time limit (a hung one fails under its own name and the run goes on), and so has the whole
// run (a file whose process never ends is reported with its stack and open handles, see test-watchdog.mjs).
const limitS = Number(process.env.SIPMEDIA_TEST_LIMIT_S ?? 1500);
const reports = reportOptions();
const runner = spawn(
  process.execPath,
  [
    ...reports.execArgv,
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    '--test-concurrency=2',
    '--test-timeout=300000',
    ...files,
  ],
  { stdio: 'inherit', detached: true },
);
const limit = setTimeout(() => {
  void onTimeout(runner, reports.dir, limitS).then(() => process.exit(1));
}, limitS * 1000);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    try {
      process.kill(-runner.pid, sig);
    } catch {}
  });
}
runner.on('exit', (code) => {
  clearTimeout(limit);
  rmSync(reports.dir, { recursive: true, force: true });
  process.exit(code ?? 1);
});
