/** Host names of `--interface` values, resolved once while the options are read. */
import { spawnSync } from 'node:child_process';
import { isIP } from 'node:net';

/**
 * The system resolver's answer (NSS: /etc/hosts, then DNS), in its order, through `getent ahosts`: options are
 * read synchronously and Node has no synchronous getaddrinfo. Empty when the name does not resolve.
 */
export function resolveHost(host: string): string[] {
  const r = spawnSync('getent', ['ahosts', host], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0 || typeof r.stdout !== 'string') return [];
  const out: string[] = [];
  for (const line of r.stdout.split('\n')) {
    const a = line.split(/\s+/)[0];
    if (a && isIP(a) !== 0 && !out.includes(a)) out.push(a);
  }
  return out;
}
