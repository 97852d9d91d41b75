/** The real Kamailio <-> rtpengine datagrams in ../shared/reference/kamailio-captures. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CAPTURES = fileURLToPath(
  new URL('../../../shared/reference/kamailio-captures', import.meta.url),
);

export function haveCaptures(): boolean {
  return existsSync(CAPTURES);
}

export interface Capture {
  pass: string;
  name: string;
  bytes: Buffer;
}

export function captures(pass: string): Capture[] {
  const dir = join(CAPTURES, pass);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.req') || f.endsWith('.rep'))
    .sort()
    .map((name) => ({ pass, name, bytes: readFileSync(join(dir, name)) }));
}
