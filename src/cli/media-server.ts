/**
 * `sipmedia media-server`: the SIP media server as a daemon. With --play every call is answered, the file
 * played and the call hung up (rtp_media_server's example configuration); without it calls are answered
 * with an echo of the caller's audio. Runs until SIGTERM/SIGINT.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { type MediaServerOptions, parseHostPort, startMediaServer } from '../apps/media-server/server.js';
import type { NarrowbandCodec } from '../media/narrowband-convert.js';
import { type LogLevel, Logger } from '../util/log.js';

export const MEDIA_SERVER_USAGE = `Usage: sipmedia media-server --listen=IP:PORT --rtp-ip=IP [options]

  --listen=IP:PORT        SIP address (UDP; --tcp adds TCP on the same address)
  --rtp-ip=IP             address of the RTP sockets
  --rtp-port-min=N        first RTP port (default 30000)
  --rtp-port-max=N        last RTP port (default 40000)
  --play=FILE             answer every call, play FILE (WAV or MP3, any rate), hang up
  --media-dir=DIR         prompts resolve in DIR and may not leave it
  --max-calls=N           concurrent calls; more get 503 (default 1000)
  --codecs=LIST           accepted codecs in preference order (default PCMU,PCMA,G722)
  --ptime=MS              packet time when the offer has none (default 20)
  --public-host=HOST      host for Via and Contact (default the listen address)
  --tcp                   also listen on TCP
  --log-level=0..7        syslog-style verbosity (default 6)
  -h, --help              this text`;

/** A command-line mistake: printed with the usage text, exit status 2. */
export class MediaServerUsageError extends Error {}

const VALUED = new Set([
  'listen',
  'rtp-ip',
  'rtp-port-min',
  'rtp-port-max',
  'play',
  'media-dir',
  'max-calls',
  'codecs',
  'ptime',
  'public-host',
  'log-level',
]);

function intIn(name: string, v: string, min: number, max: number): number {
  if (!/^[0-9]+$/.test(v)) throw new MediaServerUsageError(`--${name} must be a number, got '${v}'`);
  const n = Number(v);
  if (n < min || n > max) throw new MediaServerUsageError(`--${name} must be ${min}..${max}, got ${n}`);
  return n;
}

/** Parses the arguments into server options; throws {@link MediaServerUsageError}. `help` when asked. */
export function parseMediaServerArgs(
  argv: readonly string[],
): { help: true } | { help: false; options: MediaServerOptions; logLevel: LogLevel } {
  const v = new Map<string, string>();
  let tcp = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') return { help: true };
    if (a === '--tcp') {
      tcp = true;
      continue;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(a);
    if (!m || !VALUED.has(m[1]!)) throw new MediaServerUsageError(`unknown option '${a}'`);
    let value = m[2];
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new MediaServerUsageError(`--${m[1]} needs a value`);
    }
    v.set(m[1]!, value);
  }
  const listenText = v.get('listen');
  if (listenText === undefined) throw new MediaServerUsageError('--listen=IP:PORT is required');
  const listen = parseHostPort(listenText);
  if (!listen) throw new MediaServerUsageError(`--listen must be IP:PORT, got '${listenText}'`);
  const rtpIp = v.get('rtp-ip');
  if (rtpIp === undefined) throw new MediaServerUsageError('--rtp-ip=IP is required');
  if (isIP(rtpIp) === 0) throw new MediaServerUsageError(`--rtp-ip must be an IP address, got '${rtpIp}'`);
  const rtpPortMin = intIn('rtp-port-min', v.get('rtp-port-min') ?? '30000', 1024, 65534);
  const rtpPortMax = intIn('rtp-port-max', v.get('rtp-port-max') ?? '40000', 1025, 65535);
  if (rtpPortMax - rtpPortMin < 1)
    throw new MediaServerUsageError('--rtp-port-max must leave room for at least one even/odd port pair');
  const codecs = (v.get('codecs') ?? 'PCMU,PCMA,G722').split(',').map((c) => c.trim().toUpperCase());
  for (const c of codecs)
    if (c !== 'PCMU' && c !== 'PCMA' && c !== 'G722')
      throw new MediaServerUsageError(`--codecs: unsupported codec '${c}'`);
  const mediaDir = v.get('media-dir');
  if (mediaDir !== undefined) {
    let isDir = false;
    try {
      isDir = statSync(mediaDir).isDirectory();
    } catch {}
    if (!isDir) throw new MediaServerUsageError(`--media-dir: '${mediaDir}' is not a directory`);
  }
  const play = v.get('play');
  if (play !== undefined) {
    const path = mediaDir !== undefined ? resolve(mediaDir, play) : resolve(play);
    try {
      accessSync(path, constants.R_OK);
    } catch {
      throw new MediaServerUsageError(`--play: cannot read '${path}'`);
    }
  }
  const publicHost = v.get('public-host');
  return {
    help: false,
    logLevel: intIn('log-level', v.get('log-level') ?? '6', 0, 7) as LogLevel,
    options: {
      listen,
      tcp,
      rtpIp,
      rtpPortMin,
      rtpPortMax,
      codecs: codecs as NarrowbandCodec[],
      ptime: intIn('ptime', v.get('ptime') ?? '20', 10, 200),
      maxCalls: intIn('max-calls', v.get('max-calls') ?? '1000', 1, 100_000),
      ...(mediaDir !== undefined ? { mediaDir } : {}),
      ...(play !== undefined ? { play } : {}),
      ...(publicHost !== undefined ? { publicHost } : {}),
    },
  };
}

/** Runs `sipmedia media-server` until SIGTERM/SIGINT; returns the exit status (2 for usage errors). */
export async function runMediaServer(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseMediaServerArgs>;
  try {
    parsed = parseMediaServerArgs(argv);
  } catch (e) {
    if (!(e instanceof MediaServerUsageError)) throw e;
    console.error(`sipmedia media-server: ${e.message}\n\n${MEDIA_SERVER_USAGE}`);
    return 2;
  }
  if (parsed.help) {
    console.log(MEDIA_SERVER_USAGE);
    return 0;
  }
  const log = new Logger(parsed.logLevel);
  const opts = { ...parsed.options, logger: log };
  let server: Awaited<ReturnType<typeof startMediaServer>>;
  try {
    server = await startMediaServer(opts);
  } catch (e) {
    log.err(`cannot start: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  if (opts.play === undefined) {
    server.on('call', async (call) => {
      if (await call.answer()) call.startEcho();
    });
  }
  const { host, port } = server.sipAddress;
  log.notice(
    `media server listening on ${host}:${port}, RTP ${opts.rtpIp}:${opts.rtpPortMin}-${opts.rtpPortMax}` +
      (opts.play !== undefined ? `, playing ${opts.play}` : ', echo'),
  );
  await new Promise<void>((done) => {
    const stop = (): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      done();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  log.notice('shutting down');
  await server.close();
  return 0;
}
