/**
 * `sipmedia proxy` options: rtpengine's names for the common subset, from the command line and from an INI
 * config file (`[rtpengine]` or `[sipmedia]` section). The command line wins over the file.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { type HostDevices, type MediaInterface, parseInterface } from '../engine/interfaces.js';
import { resolveHost } from './host-resolver.js';
import { IGNORED } from './rtpengine-options.js';
import type { LogLevel } from '../util/log.js';
import { parseIni } from './ini.js';

export class UsageError extends Error {}

type Kind = 'string' | 'int' | 'bool' | 'list';
interface Spec {
  kind: Kind;
  short?: string;
  help: string;
}

const SPECS: Record<string, Spec> = {
  'config-file': { kind: 'string', help: 'INI file to read (or "none")' },
  'config-section': {
    kind: 'string',
    help: 'section of the config file (default: sipmedia, then rtpengine)',
  },
  interface: { kind: 'list', short: 'i', help: '[NAME/]IP[!ADVERTISED] media interface, repeatable' },
  'listen-ng': { kind: 'string', short: 'n', help: '[IP:]PORT for ng over UDP (default 127.0.0.1:2223)' },
  'listen-tcp-ng': { kind: 'string', help: '[IP:]PORT for ng over TCP' },
  'port-min': { kind: 'int', short: 'm', help: 'lowest media port (default 30000)' },
  'port-max': { kind: 'int', short: 'M', help: 'highest media port (default 40000)' },
  timeout: { kind: 'int', short: 'o', help: 'seconds without media before a call is closed (default 60)' },
  'silent-timeout': { kind: 'int', short: 's', help: 'the same for calls on hold (default 3600)' },
  'final-timeout': { kind: 'int', help: "hard limit on a call's life in seconds (default 0: none)" },
  'offer-timeout': { kind: 'int', help: 'seconds an unanswered offer is kept (default 3600)' },
  'delete-delay': { kind: 'int', help: 'seconds a deleted call is kept (default 30)' },
  'max-sessions': { kind: 'int', help: 'concurrent calls allowed (default -1: no limit)' },
  tos: {
    kind: 'int',
    short: 'T',
    help: 'TOS byte of the media packets sent (e.g. 184: DSCP EF); native dataplane',
  },
  'log-level': { kind: 'int', short: 'L', help: '0-7, syslog levels (default 6)' },
  foreground: { kind: 'bool', short: 'f', help: 'stay in the foreground (always the case)' },
  pidfile: { kind: 'string', short: 'p', help: 'write the process id to this file' },
  help: { kind: 'bool', short: 'h', help: 'show this help' },
  version: { kind: 'bool', short: 'v', help: 'print the version and exit' },
  kernel: {
    kind: 'string',
    help: 'off|auto|require: forward plain RTP in the kernel with nftables (default off)',
  },
  'listen-udp': {
    kind: 'string',
    short: 'u',
    help: '[IP:]PORT for the RTPproxy protocol over UDP (with cookies)',
  },
  'listen-rtpproxy': {
    kind: 'list',
    help: 'unix:/PATH, cunix:/PATH or tcp:IP:PORT for the RTPproxy protocol',
  },
  'notify-allow': { kind: 'list', help: 'RTPproxy timeout notify targets allowed (unix:/PATH, tcp:IP:PORT)' },
  'listen-http': {
    kind: 'string',
    help: '[IP:]PORT for HTTP: /ng, /ng-plain, WebSocket, /metrics, status page',
  },
  'listen-https': {
    kind: 'string',
    help: '[IP:]PORT for the same over HTTPS (needs --https-cert/--https-key)',
  },
  'https-cert': { kind: 'string', help: 'PEM certificate (chain) for --listen-https' },
  'https-key': { kind: 'string', help: 'PEM private key for --listen-https' },
  'listen-cli': { kind: 'string', short: 'c', help: "[IP:]PORT for rtpengine-ctl's CLI protocol (TCP)" },
  'media-dir': { kind: 'string', help: 'directory `play media` file names are confined to' },
  'recording-dir': { kind: 'string', help: 'directory for call recordings (pcap, WAV, metadata)' },
  'recording-wav': { kind: 'string', help: 'recorded WAV: separate (a channel per direction), mixed, none' },
  'dtmf-log-dest': { kind: 'string', help: 'IP:PORT to send detected DTMF to as JSON' },
  dataplane: {
    kind: 'string',
    help: 'auto|native|js: packets in C worker threads or in JavaScript (default auto: native if built)',
  },
  'num-threads': { kind: 'int', help: 'native dataplane worker threads (default 1)' },
};

export interface ProxyConfig {
  interfaces: MediaInterface[];
  listenNg: { host: string; port: number };
  listenTcpNg: { host: string; port: number } | undefined;
  portMin: number;
  portMax: number;
  timeout: number;
  silentTimeout: number;
  finalTimeout: number;
  offerTimeout: number;
  deleteDelay: number;
  maxSessions: number;
  tos: number | undefined;
  logLevel: LogLevel;
  pidfile: string | undefined;
  help: boolean;
  version: boolean;
  /** Kernel offload through nftables (see docs/kernel-offload.md). */
  kernel: KernelMode;
  /** Which userspace dataplane moves packets (see docs/architecture.md). */
  dataplane: DataplaneMode;
  /** Worker threads of the native dataplane. */
  numThreads: number;
  media: MediaOptions;
  control: ControlOptions;
  warnings: string[];
}

type Raw = Map<string, string[]>;

function put(raw: Raw, name: string, value: string, warnings: string[], from: string): void {
  if (IGNORED.has(name)) {
    warnings.push(`${from}: option '${name}' is not supported yet and was ignored`);
    return;
  }
  const spec = SPECS[name];
  if (!spec) throw new UsageError(`${from}: unknown option '${name}'`);
  if (spec.kind === 'list') {
    const values = value
      .split(';')
      .map((v) => v.trim())
      .filter((v) => v !== '');
    raw.set(name, [...(raw.get(name) ?? []), ...values]);
  } else raw.set(name, [value]);
}

function parseArgv(argv: string[], warnings: string[]): Raw {
  const raw: Raw = new Map();
  const byShort = new Map(Object.entries(SPECS).flatMap(([k, s]) => (s.short ? [[s.short, k]] : [])));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    let name: string;
    let value: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      if (eq >= 0) value = a.slice(eq + 1);
    } else if (a.startsWith('-') && a.length >= 2) {
      const long = byShort.get(a[1]!);
      if (!long) throw new UsageError(`unknown option '${a}'`);
      name = long;
      if (a.length > 2) value = a.slice(2).replace(/^=/, '');
    } else throw new UsageError(`unexpected argument '${a}'`);
    const spec = SPECS[name];
    if (!spec && !IGNORED.has(name)) throw new UsageError(`unknown option '${name}'`);
    if (
      spec?.kind === 'bool' ||
      (!spec && IGNORED.has(name) && value === undefined && !argv[i + 1]?.match(/^[^-]/))
    ) {
      value ??= 'true';
    } else if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new UsageError(`option '--${name}' needs a value`);
    }
    put(raw, name, value, warnings, 'command line');
  }
  return raw;
}

function int(raw: Raw, name: string, def: number, min: number, max: number): number {
  const v = raw.get(name)?.at(-1);
  if (v === undefined) return def;
  if (!/^-?\d+$/.test(v)) throw new UsageError(`--${name}: '${v}' is not a whole number`);
  const n = Number(v);
  if (n < min || n > max) throw new UsageError(`--${name}: ${n} is out of range ${min}..${max}`);
  return n;
}

function bool(raw: Raw, name: string): boolean {
  const v = raw.get(name)?.at(-1);
  if (v === undefined) return false;
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  throw new UsageError(`--${name}: '${v}' is not true or false`);
}

/**
 * A control listener given as a port alone binds every address, IPv4 and IPv6, as rtpengine does (and the
 * proxy warns about it): `::` is one dual-stack socket; a host without IPv6 gets `0.0.0.0`.
 */
function allAddresses(devices: HostDevices): string {
  const v6 = Object.values(devices).some((l) => l?.some((a) => a.family === 'IPv6'));
  return v6 ? '::' : '0.0.0.0';
}

/** `[IP:]PORT`, `[IPv6]:PORT` or `PORT` (then `defaultHost`). */
export function parseListen(spec: string, defaultHost: string): { host: string; port: number } {
  let host = defaultHost;
  let portStr = spec;
  const v6 = /^\[(.+)\]:(\d+)$/.exec(spec);
  if (v6) {
    host = v6[1]!;
    portStr = v6[2]!;
  } else if (spec.includes(':')) {
    const i = spec.lastIndexOf(':');
    host = spec.slice(0, i);
    portStr = spec.slice(i + 1);
  }
  if (!/^\d+$/.test(portStr) || Number(portStr) < 1 || Number(portStr) > 65535) {
    throw new UsageError(`'${spec}': invalid port`);
  }
  if (host !== 'localhost' && isIP(host) === 0)
    throw new UsageError(`'${spec}': '${host}' is not an IP address`);
  return { host: host === 'localhost' ? '127.0.0.1' : host, port: Number(portStr) };
}

/** The first non-loopback IPv4 address of the machine, else 127.0.0.1. */
export function defaultInterfaceAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/** `auto`: the native dataplane when its addon loads, else JavaScript; `native`: the addon or fail. */
export type DataplaneMode = 'auto' | 'native' | 'js';

function dataplaneMode(raw: Raw): DataplaneMode {
  const v = raw.get('dataplane')?.at(-1) ?? 'auto';
  if (v !== 'auto' && v !== 'native' && v !== 'js')
    throw new UsageError(`--dataplane: '${v}' is not auto, native or js`);
  return v;
}

export function loadProxyConfig(argv: string[]): ProxyConfig {
  const warnings: string[] = [];
  const cli = parseArgv(argv, warnings);
  const raw: Raw = new Map();
  const file = cli.get('config-file')?.at(-1);
  if (file && file !== 'none') {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new UsageError(`--config-file: cannot read '${file}': ${(e as Error).message}`);
    }
    let ini: ReturnType<typeof parseIni>;
    try {
      ini = parseIni(text);
    } catch (e) {
      throw new UsageError(`${file}: ${(e as Error).message}`);
    }
    const wanted = cli.get('config-section')?.at(-1);
    const section = wanted ? ini.get(wanted) : (ini.get('sipmedia') ?? ini.get('rtpengine'));
    if (!section) throw new UsageError(`${file}: no [${wanted ?? 'sipmedia'}] or [rtpengine] section`);
    for (const [k, v] of section) put(raw, k, v, warnings, file);
  }
  for (const [k, v] of cli) raw.set(k, v);

  // The host's devices, read once: interfaces given as device names or `any`, and where a bare port binds.
  const devices = networkInterfaces();
  const anyHost = allAddresses(devices);
  const interfaces = (raw.get('interface') ?? [defaultInterfaceAddress()]).flatMap((s) => {
    try {
      return parseInterface(s, devices, resolveHost);
    } catch (e) {
      throw new UsageError(`--interface: ${(e as Error).message}`);
    }
  });
  const portMin = int(raw, 'port-min', 30000, 1, 65535);
  const portMax = int(raw, 'port-max', 40000, 1, 65535);
  if (portMax - portMin < 1)
    throw new UsageError(`--port-min ${portMin} / --port-max ${portMax}: empty range`);
  const ngSpec = raw.get('listen-ng')?.at(-1) ?? '127.0.0.1:2223';
  const tcpSpec = raw.get('listen-tcp-ng')?.at(-1);
  const maxSessions = int(raw, 'max-sessions', -1, -1, 10_000_000);
  const tos = raw.has('tos') ? int(raw, 'tos', 0, 0, 255) : undefined;
  const c: ProxyConfig = {
    interfaces,
    listenNg: parseListen(ngSpec, anyHost),
    listenTcpNg: tcpSpec ? parseListen(tcpSpec, anyHost) : undefined,
    portMin,
    portMax,
    timeout: int(raw, 'timeout', 60, 0, 86400 * 365),
    silentTimeout: int(raw, 'silent-timeout', 3600, 0, 86400 * 365),
    finalTimeout: int(raw, 'final-timeout', 0, 0, 86400 * 365),
    offerTimeout: int(raw, 'offer-timeout', 3600, 0, 86400 * 365),
    deleteDelay: int(raw, 'delete-delay', 30, 0, 86400),
    maxSessions,
    tos,
    logLevel: int(raw, 'log-level', 6, 0, 7) as LogLevel,
    pidfile: raw.get('pidfile')?.at(-1),
    help: bool(raw, 'help'),
    version: bool(raw, 'version'),
    kernel: kernelMode(raw),
    dataplane: dataplaneMode(raw),
    numThreads: int(raw, 'num-threads', 1, 1, 64),
    media: mediaOptions(raw),
    control: controlOptions(raw, anyHost),
    warnings,
  };
  for (const [name, l] of [
    ['listen-ng', c.listenNg],
    ['listen-tcp-ng', c.listenTcpNg],
    ['listen-udp', c.control.listenUdp],
    ['listen-http', c.control.listenHttp],
    ['listen-https', c.control.listenHttps],
    ['listen-cli', c.control.listenCli],
  ] as const) {
    if (l && (l.host === '::' || l.host === '0.0.0.0'))
      warnings.push(
        `--${name} listens on every address (port ${l.port}): whoever reaches it controls the proxy; ` +
          'give 127.0.0.1:PORT (or a firewall) to restrict it',
      );
  }
  return c;
}

export function proxyUsage(): string {
  const lines = ['Usage: sipmedia proxy [options]', '', 'Options (rtpengine names; also in a config file):'];
  for (const [name, s] of Object.entries(SPECS)) {
    const flag = `${s.short ? `-${s.short}, ` : '    '}--${name}${s.kind === 'bool' ? '' : '=VALUE'}`;
    lines.push(`  ${flag.padEnd(34)} ${s.help}`);
  }
  return lines.join('\n');
}

/** Playback, recording and DTMF logging options. */
export interface MediaOptions {
  mediaDir: string | undefined;
  recordingDir: string | undefined;
  recordingWav: 'separate' | 'mixed' | 'none';
  dtmfLogDest: { host: string; port: number } | undefined;
}

function mediaOptions(raw: Raw): MediaOptions {
  const wav = raw.get('recording-wav')?.at(-1) ?? 'separate';
  if (wav !== 'separate' && wav !== 'mixed' && wav !== 'none')
    throw new UsageError(`--recording-wav: '${wav}' is not separate, mixed or none`);
  const dest = raw.get('dtmf-log-dest')?.at(-1);
  return {
    mediaDir: raw.get('media-dir')?.at(-1),
    recordingDir: raw.get('recording-dir')?.at(-1),
    recordingWav: wav,
    dtmfLogDest: dest === undefined ? undefined : parseListen(dest, '127.0.0.1'),
  };
}

/** The extra control front ends: RTPproxy protocol, HTTP(S)/WebSocket, rtpengine's CLI port. */
export interface ControlOptions {
  listenUdp: { host: string; port: number } | undefined;
  listenRtpproxy: string[];
  notifyAllow: string[];
  listenHttp: { host: string; port: number } | undefined;
  listenHttps: { host: string; port: number } | undefined;
  httpsCert: string | undefined;
  httpsKey: string | undefined;
  listenCli: { host: string; port: number } | undefined;
}

function controlOptions(raw: Raw, anyHost: string): ControlOptions {
  const listen = (name: string) => {
    const v = raw.get(name)?.at(-1);
    return v === undefined ? undefined : parseListen(v, anyHost);
  };
  const rtpp = raw.get('listen-rtpproxy') ?? [];
  for (const r of rtpp)
    if (!/^(unix|cunix):.+$|^tcp6?:.+:\d+$/.test(r))
      throw new UsageError(`--listen-rtpproxy: '${r}' is not unix:/PATH, cunix:/PATH or tcp:IP:PORT`);
  const o: ControlOptions = {
    listenUdp: listen('listen-udp'),
    listenRtpproxy: rtpp,
    notifyAllow: raw.get('notify-allow') ?? [],
    listenHttp: listen('listen-http'),
    listenHttps: listen('listen-https'),
    httpsCert: raw.get('https-cert')?.at(-1),
    httpsKey: raw.get('https-key')?.at(-1),
    listenCli: listen('listen-cli'),
  };
  if (o.listenHttps && (!o.httpsCert || !o.httpsKey))
    throw new UsageError('--listen-https needs --https-cert and --https-key');
  return o;
}

/** off: userspace only; auto: the kernel when nft works here, else one log line; require: refuse to start without. */
export type KernelMode = 'off' | 'auto' | 'require';

function kernelMode(raw: Raw): KernelMode {
  const v = raw.get('kernel')?.at(-1) ?? 'off';
  if (v !== 'off' && v !== 'auto' && v !== 'require')
    throw new UsageError(`--kernel: '${v}' is not off, auto or require`);
  return v;
}
