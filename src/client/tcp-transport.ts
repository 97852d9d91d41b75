/** ng over TCP: the same `cookie dict` framing, messages back to back on one connection. */
import { connect } from 'node:net';
import { isIP } from 'node:net';
import { takeNgStreamMessage } from '../wire/ng-message.js';
import { type NgConnection, type NgConnectionEvents, ConnectionTransport } from './connection-transport.js';

export class TcpTransport extends ConnectionTransport {
  readonly uri: string;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {
    super();
    this.uri = `tcp://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
  }

  protected connect(events: NgConnectionEvents): Promise<NgConnection> {
    return new Promise((resolve, reject) => {
      const sock = connect({ host: this.host, port: this.port, noDelay: true });
      let buf: Buffer = Buffer.alloc(0);
      let up = false;
      sock.once('connect', () => {
        up = true;
        // The deadline timers of pending requests keep the process alive; the idle socket should not.
        sock.unref();
        resolve({ write: (m) => sock.write(m), close: () => sock.destroy() });
      });
      sock.on('data', (d: Buffer) => {
        buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
        try {
          for (let n = 0; n < 10000; n++) {
            const r = takeNgStreamMessage(buf);
            if (!r) break;
            buf = buf.subarray(r.consumed);
            events.message(r.message.cookie, r.message.body);
          }
        } catch (e) {
          // The stream cannot be resynchronised after a framing error.
          sock.destroy(e as Error);
        }
      });
      sock.on('error', (e) => {
        if (!up) reject(e);
      });
      sock.on('close', () => {
        if (up) events.closed();
      });
    });
  }
}
