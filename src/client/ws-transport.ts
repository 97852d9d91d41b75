/** ng over WebSocket: subprotocol `ng.rtpengine.com`, one `cookie dict` per WebSocket message. */
import WebSocket from 'ws';
import { MAX_NG_MESSAGE, parseNgMessage } from '../wire/ng-message.js';
import { type NgConnection, type NgConnectionEvents, ConnectionTransport } from './connection-transport.js';

/** The WebSocket subprotocol rtpengine serves the ng protocol on. */
export const NG_WS_SUBPROTOCOL = 'ng.rtpengine.com';

export class WsTransport extends ConnectionTransport {
  constructor(readonly uri: string) {
    super();
  }

  protected connect(events: NgConnectionEvents): Promise<NgConnection> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.uri, [NG_WS_SUBPROTOCOL], { maxPayload: MAX_NG_MESSAGE });
      let up = false;
      ws.once('open', () => {
        up = true;
        resolve({ write: (m) => ws.send(m), close: () => ws.terminate() });
      });
      ws.on('message', (data) => {
        const buf = Array.isArray(data)
          ? Buffer.concat(data)
          : Buffer.isBuffer(data)
            ? data
            : Buffer.from(data as ArrayBuffer);
        try {
          const m = parseNgMessage(buf);
          events.message(m.cookie, m.body);
        } catch {
          // Not an ng message: ignore it like any stray reply.
        }
      });
      ws.on('error', (e) => {
        if (!up) reject(e);
      });
      ws.on('close', () => {
        if (up) events.closed();
      });
    });
  }
}
