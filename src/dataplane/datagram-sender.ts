/**
 * Sends datagrams we originate that are not media (DTMF events to `--dtmf-log-dest`, and the like): one
 * unbound socket per address family, created on first use; send errors are reported, never thrown.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';

export class DatagramSender {
  private v4: Socket | undefined;
  private v6: Socket | undefined;

  constructor(private readonly onError: (e: Error) => void) {}

  send(data: string | Buffer, port: number, host: string): void {
    const v6 = isIPv6(host);
    let s = v6 ? this.v6 : this.v4;
    if (!s) {
      s = createSocket(v6 ? 'udp6' : 'udp4');
      s.on('error', this.onError);
      s.unref();
      if (v6) this.v6 = s;
      else this.v4 = s;
    }
    s.send(data, port, host);
  }

  close(): void {
    this.v4?.close();
    this.v6?.close();
    this.v4 = this.v6 = undefined;
  }
}
