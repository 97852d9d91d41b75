/** `sipmedia proxy`: builds the engine, dataplane and control front ends and runs until SIGTERM/SIGINT. */
import { rmSync, writeFileSync } from 'node:fs';
import { NgDispatcher } from '../control/ng-commands.js';
import { NgServer } from '../control/ng-server.js';
import { UserspaceDataplane } from '../dataplane/userspace.js';
import { Engine } from '../engine/engine.js';
import { InterfaceSet } from '../engine/interfaces.js';
import { Logger } from '../util/log.js';
import { type ProxyConfig, UsageError, loadProxyConfig, proxyUsage } from './proxy-options.js';

/** How often timeouts and delete delays are checked. */
const SWEEP_MS = 250;

export interface RunningDaemon {
  engine: Engine;
  stop: () => void;
  stopped: Promise<void>;
}

export async function startDaemon(cfg: ProxyConfig, log: Logger): Promise<RunningDaemon> {
  const dataplane = new UserspaceDataplane(cfg.portMin, cfg.portMax);
  const engine = new Engine(
    {
      interfaces: new InterfaceSet(cfg.interfaces),
      timeout: cfg.timeout,
      silentTimeout: cfg.silentTimeout,
      finalTimeout: cfg.finalTimeout,
      offerTimeout: cfg.offerTimeout,
      deleteDelay: cfg.deleteDelay,
      maxSessions: cfg.maxSessions,
    },
    dataplane,
    log,
  );
  const ng = new NgServer(new NgDispatcher(engine, log), log);
  try {
    await ng.listenUdp(cfg.listenNg.host, cfg.listenNg.port);
    if (cfg.listenTcpNg) await ng.listenTcp(cfg.listenTcpNg.host, cfg.listenTcpNg.port);
  } catch (e) {
    ng.close();
    throw e;
  }
  const sweeper = setInterval(() => engine.sweep(), SWEEP_MS);
  let done!: () => void;
  const stopped = new Promise<void>((r) => {
    done = r;
  });
  let stopping = false;
  return {
    engine,
    stopped,
    stop: () => {
      if (stopping) return;
      stopping = true;
      clearInterval(sweeper);
      engine.shutdown();
      ng.close();
      done();
    },
  };
}

export async function runProxy(argv: string[]): Promise<number> {
  let cfg: ProxyConfig;
  try {
    cfg = loadProxyConfig(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`sipmedia proxy: ${e.message}\n(see 'sipmedia proxy --help')`);
      return 2;
    }
    throw e;
  }
  if (cfg.help) {
    console.log(proxyUsage());
    return 0;
  }
  const log = new Logger(cfg.logLevel);
  for (const w of cfg.warnings) log.warn(w);
  let daemon: RunningDaemon;
  try {
    daemon = await startDaemon(cfg, log);
  } catch (e) {
    log.err(`cannot start: ${(e as Error).message}`);
    return 1;
  }
  if (cfg.pidfile) writeFileSync(cfg.pidfile, `${process.pid}\n`);
  log.notice(
    `sipmedia proxy running: interfaces ${cfg.interfaces.map((i) => `${i.name}/${i.address}`).join(', ')}, ` +
      `media ports ${cfg.portMin}-${cfg.portMax}`,
  );
  const onSignal = (sig: string) => {
    log.notice(`${sig}: shutting down`);
    daemon.stop();
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  await daemon.stopped;
  if (cfg.pidfile) rmSync(cfg.pidfile, { force: true });
  return 0;
}
