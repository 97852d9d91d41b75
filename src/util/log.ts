/** Leveled logging to stderr, with rtpengine's syslog-style levels (0 emerg ... 7 debug; default 6). */
export type LogLevel = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7;

const NAMES = ['EMERG', 'ALERT', 'CRIT', 'ERR', 'WARNING', 'NOTICE', 'INFO', 'DEBUG'];

export class Logger {
  constructor(
    public level: LogLevel = 6,
    private readonly sink: (line: string) => void = (l) => process.stderr.write(l),
  ) {}

  log(level: LogLevel, msg: string): void {
    if (level > this.level) return;
    this.sink(`${new Date().toISOString()} [${NAMES[level]}] ${msg}\n`);
  }
  err(msg: string): void {
    this.log(3, msg);
  }
  warn(msg: string): void {
    this.log(4, msg);
  }
  notice(msg: string): void {
    this.log(5, msg);
  }
  info(msg: string): void {
    this.log(6, msg);
  }
  debug(msg: string): void {
    this.log(7, msg);
  }
}

export const silentLogger = new Logger(0, () => {});
