/** An in-process `sipmedia proxy` (startDaemon) on a reserved port block, for front-end tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningDaemon, startDaemon } from '../../src/cli/proxy.js';
import { loadProxyConfig } from '../../src/cli/proxy-options.js';
import { silentLogger } from '../../src/util/log.js';
import { reservePortBlock } from '../helpers/ports.js';

export interface TestDaemon {
  daemon: RunningDaemon;
  ngPort: number;
  udpPort: number;
  tcpPort: number;
  httpPort: number;
  cliPort: number;
  unixPath: string;
  cunixPath: string;
  portMin: number;
  portMax: number;
  /** Ports of the block no one uses (for the test's own sockets). */
  spare: number[];
  dir: string;
  stop: () => Promise<void>;
}

export async function startTestDaemon(extra: string[] = []): Promise<TestDaemon> {
  const base = reservePortBlock();
  const dir = mkdtempSync(join(tmpdir(), 'sipmedia-ctl-'));
  const t = {
    ngPort: base,
    udpPort: base + 1,
    tcpPort: base + 2,
    httpPort: base + 3,
    cliPort: base + 4,
    unixPath: join(dir, 'rtpp.sock'),
    cunixPath: join(dir, 'rtpp-c.sock'),
    portMin: base + 10,
    portMax: base + 109,
    spare: Array.from({ length: 60 }, (_, i) => base + 130 + i),
    dir,
  };
  const cfg = loadProxyConfig([
    '--config-file=none',
    '--interface=127.0.0.1',
    '--interface=::1',
    `--listen-ng=127.0.0.1:${t.ngPort}`,
    `--listen-udp=127.0.0.1:${t.udpPort}`,
    `--listen-rtpproxy=tcp:127.0.0.1:${t.tcpPort}`,
    `--listen-rtpproxy=unix:${t.unixPath}`,
    `--listen-rtpproxy=cunix:${t.cunixPath}`,
    `--listen-http=127.0.0.1:${t.httpPort}`,
    `--listen-cli=127.0.0.1:${t.cliPort}`,
    `--port-min=${t.portMin}`,
    `--port-max=${t.portMax}`,
    ...extra,
  ]);
  const daemon = await startDaemon(cfg, silentLogger);
  return {
    ...t,
    daemon,
    stop: async () => {
      daemon.stop();
      await daemon.stopped;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
