/** `sipmedia proxy`: builds the engine, dataplane and control front ends and runs until SIGTERM/SIGINT. */
import { rmSync, writeFileSync } from 'node:fs';
import { NgDispatcher } from '../control/ng-commands.js';
import { NgServer } from '../control/ng-server.js';
import { CliPort } from '../control/cli-port.js';
import { HttpFrontEnd } from '../control/http.js';
import { Metrics } from '../control/metrics.js';
import { RtppDispatcher } from '../control/rtpproxy-commands.js';
import { Notifier } from '../control/rtpproxy-notify.js';
import { RtppServer, parseRtppListen } from '../control/rtpproxy-server.js';
import { type KernelOffload, syncPeriodMs } from '../dataplane/kernel/offload.js';
import { startKernelOffload } from '../dataplane/kernel/mode.js';
import { DatagramSender } from '../dataplane/datagram-sender.js';
import { loadError, loadNativeRelay } from '../dataplane/native/addon.js';
import { batchHelperThreads } from '../dataplane/native/helper-threads.js';
import { NativeDataplane } from '../dataplane/native/native-dataplane.js';
import { type Dataplane, UserspaceDataplane } from '../dataplane/userspace.js';
import { Engine } from '../engine/engine.js';
import { DEFAULT_MAX_PLAYBACKS, MediaService } from '../engine/media-control.js';
import { InterfaceSet } from '../engine/interfaces.js';
import { GcPacer } from '../util/gc-pacer.js';
import { Logger } from '../util/log.js';
import { everySecond } from '../util/tick.js';
import { type ProxyConfig, UsageError, loadProxyConfig, proxyUsage } from './proxy-options.js';
import { packageVersion } from './version.js';

/**
 * Calls looked at per sweep (timeouts and delete delays, on the shared once-a-second tick): every call at
 * least every 4 s up to 32 000 calls, each sweep about a millisecond at most.
 */
const SWEEP_BATCH = 8000;

export interface RunningDaemon {
  engine: Engine;
  stop: () => void;
  stopped: Promise<void>;
}

export async function startDaemon(cfg: ProxyConfig, log: Logger): Promise<RunningDaemon> {
  // Before any relay worker exists: only Node's and V8's own threads are changed.
  batchRuntimeThreads(log);
  const dataplane = createDataplane(cfg, log);
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
  const kernel = await startKernel(engine, cfg, log);
  const media = createMediaService(engine, cfg, log);
  const ngDispatcher = new NgDispatcher(engine, log, media);
  // Short young-generation collections between requests instead of long ones during them.
  const pacer = new GcPacer();
  ngDispatcher.observers.push(() => pacer.poke());
  const ng = new NgServer(ngDispatcher, log);
  let frontEnds: { close: () => void };
  try {
    await ng.listenUdp(cfg.listenNg.host, cfg.listenNg.port);
    if (cfg.listenTcpNg) await ng.listenTcp(cfg.listenTcpNg.host, cfg.listenTcpNg.port);
    frontEnds = await startControlFrontEnds(engine, ngDispatcher, media, cfg, log, pacer);
  } catch (e) {
    ng.close();
    kernel?.close();
    if (dataplane instanceof NativeDataplane) dataplane.close();
    throw e;
  }
  const untick = everySecond(() => engine.sweep(Date.now(), SWEEP_BATCH));
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
      untick();
      engine.shutdown();
      if (dataplane instanceof NativeDataplane) dataplane.close();
      kernel?.close();
      ng.close();
      frontEnds.close();
      // Recordings of the calls just closed finish writing before the process may exit.
      void media.close().finally(done);
    },
  };
}

/** Node's helper threads must not preempt the thread answering requests (see helper-threads.ts). */
function batchRuntimeThreads(log: Logger): void {
  const addon = loadNativeRelay();
  if (!addon || process.platform !== 'linux') return;
  const r = batchHelperThreads(addon);
  if (r.error) log.warn(`runtime helper threads: ${r.batched} set to SCHED_BATCH; ${r.error}`);
  else log.debug(`runtime helper threads: ${r.batched} set to SCHED_BATCH`);
}

/**
 * The userspace dataplane (`--dataplane`): the native addon's worker threads when it loads (`auto`, `native`),
 * else node:dgram in this thread. `native` without the addon is a startup error.
 */
function createDataplane(cfg: ProxyConfig, log: Logger): Dataplane {
  if (cfg.dataplane !== 'js') {
    const addon = loadNativeRelay();
    if (addon) {
      log.info(`dataplane: native, ${cfg.numThreads} worker thread${cfg.numThreads === 1 ? '' : 's'}`);
      const opts = cfg.tos === undefined ? {} : { tos: cfg.tos };
      return new NativeDataplane(addon, cfg.portMin, cfg.portMax, { threads: cfg.numThreads, ...opts });
    }
    if (cfg.dataplane === 'native') throw new Error(`--dataplane=native: ${loadError}`);
    log.warn(`dataplane: native relay not available (${loadError}); using the JavaScript dataplane`);
  } else if (cfg.numThreads !== 1) {
    log.warn('--num-threads applies to the native dataplane only; the JavaScript dataplane uses one thread');
  }
  if (cfg.tos !== undefined)
    log.warn('--tos needs the native dataplane (node:dgram cannot set IP_TOS): not applied');
  return new UserspaceDataplane(cfg.portMin, cfg.portMax);
}

/**
 * Kernel offload (`--kernel`), told when calls are signalled and closed. Its counters are read when a front
 * end is about to report them (`engine.refreshCounters`) and otherwise well within the media timeouts (which
 * `set timeout` on the CLI port may change at run time).
 */
async function startKernel(engine: Engine, cfg: ProxyConfig, log: Logger): Promise<KernelOffload | null> {
  const relayed = engine.stats.relayed;
  const kernel = await startKernelOffload(
    cfg.kernel,
    {
      info: (m) => log.info(m),
      warn: (m) => log.warn(m),
    },
    {
      syncMs: () => syncPeriodMs([engine.config.timeout, engine.config.silentTimeout]),
      lateCounts: (packets, bytes) => {
        relayed.rtpPackets += packets;
        relayed.rtpBytes += bytes;
      },
      ...(cfg.tos === undefined ? {} : { tos: cfg.tos }),
    },
  );
  if (kernel) {
    engine.signalListeners.push((call) => kernel.callChanged(call));
    engine.closeListeners.push((call) => kernel.callClosed(call));
    engine.refreshCounters = (maxAgeMs) => kernel.fresh(maxAgeMs);
  }
  return kernel;
}

/** Playback, DTMF and recording, told when calls close. */
function createMediaService(engine: Engine, cfg: ProxyConfig, log: Logger): MediaService {
  const datagrams = new DatagramSender((e) => log.warn(`dtmf-log-dest: ${e.message}`));
  const media = new MediaService(engine, {
    datagrams,
    mediaDir: cfg.media.mediaDir,
    recordingDir: cfg.media.recordingDir,
    wavMode: cfg.media.recordingWav,
    dtmfLogDest: cfg.media.dtmfLogDest,
    maxPlaybacks: DEFAULT_MAX_PLAYBACKS,
    log,
  });
  engine.closeListeners.push((call) => media.destroy(call));
  return media;
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
  if (cfg.version) {
    console.log(`sipmedia ${packageVersion()}`);
    return 0;
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

/** RTPproxy protocol, HTTP(S)/WebSocket with /metrics and the status page, rtpengine's CLI port. */
async function startControlFrontEnds(
  engine: Engine,
  ng: NgDispatcher,
  media: MediaService,
  cfg: ProxyConfig,
  log: Logger,
  pacer: GcPacer,
): Promise<{ close: () => void }> {
  const c = cfg.control;
  const closers: (() => void)[] = [];
  const close = (): void => {
    for (const f of closers) f();
  };
  try {
    let rtpp: RtppDispatcher | undefined;
    if (c.listenUdp || c.listenRtpproxy.length) {
      rtpp = new RtppDispatcher(engine, new Notifier(c.notifyAllow, log), log, media);
      rtpp.observers.push(() => pacer.poke());
      const srv = new RtppServer(rtpp, log);
      closers.push(() => srv.close());
      if (c.listenUdp) await srv.listenUdp(c.listenUdp.host, c.listenUdp.port);
      for (const l of c.listenRtpproxy) await srv.listenStream(parseRtppListen(l));
    }
    if (c.listenHttp || c.listenHttps) {
      const http = new HttpFrontEnd(engine, ng, new Metrics(engine, ng, rtpp), log);
      closers.push(() => http.close());
      if (c.listenHttp) await http.listen(c.listenHttp.host, c.listenHttp.port);
      if (c.listenHttps && c.httpsCert && c.httpsKey)
        await http.listen(c.listenHttps.host, c.listenHttps.port, { cert: c.httpsCert, key: c.httpsKey });
    }
    if (c.listenCli) {
      const cli = new CliPort(engine, log);
      closers.push(() => cli.close());
      await cli.listen(c.listenCli.host, c.listenCli.port);
    }
  } catch (e) {
    close();
    throw e;
  }
  return { close };
}
