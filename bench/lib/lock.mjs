/**
 * One benchmark at a time on this machine: the relay bench (bench/run.mjs) and the kernel bench
 * (bench/kernel.mjs) share ports and would measure each other. An atomic mkdir takes the lock; a lock whose
 * owner died is taken over.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

const LOCK = '/tmp/sipmedia-bench.lock';
let locked = false;

export function lock() {
  try {
    mkdirSync(LOCK);
  } catch {
    let owner = 0;
    try {
      owner = Number(readFileSync(`${LOCK}/pid`, 'utf8'));
      process.kill(owner, 0);
    } catch {
      owner = 0;
    }
    if (owner) throw new Error(`another bench (pid ${owner}) holds ${LOCK}; try again when it is done`);
    rmSync(LOCK, { recursive: true, force: true });
    mkdirSync(LOCK);
  }
  writeFileSync(`${LOCK}/pid`, String(process.pid));
  locked = true;
}

export function unlock() {
  if (locked) rmSync(LOCK, { recursive: true, force: true });
  locked = false;
}
