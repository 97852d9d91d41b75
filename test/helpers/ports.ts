/**
 * Port blocks for tests. Test files run in parallel processes; each reserves a block of UDP/TCP ports with an
 * atomic mkdir under the OS temp dir, so no two live processes share ports. A block whose owner died is reused.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(tmpdir(), 'sipmedia-test-ports');
const FIRST = 20000;
const BLOCK = 200;
const BLOCKS = 150; // 20000..49999
const held: string[] = [];

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Reserves `BLOCK` consecutive ports; returns the first. Released when this process exits. */
export function reservePortBlock(): number {
  mkdirSync(ROOT, { recursive: true });
  const start = Math.floor(Math.random() * BLOCKS);
  for (let i = 0; i < BLOCKS; i++) {
    const n = (start + i) % BLOCKS;
    const dir = join(ROOT, String(n));
    try {
      mkdirSync(dir);
    } catch {
      let owner = 0;
      try {
        owner = Number(readFileSync(join(dir, 'pid'), 'utf8'));
      } catch {}
      if (owner && alive(owner)) continue;
      rmSync(dir, { recursive: true, force: true });
      try {
        mkdirSync(dir);
      } catch {
        continue;
      }
    }
    writeFileSync(join(dir, 'pid'), String(process.pid));
    held.push(dir);
    return FIRST + n * BLOCK;
  }
  throw new Error('no free test port block');
}

export const PORT_BLOCK_SIZE = BLOCK;

process.on('exit', () => {
  for (const d of held) rmSync(d, { recursive: true, force: true });
});
