/** Tiny RTPproxy-protocol clients for tests: UDP with cookies, and one-command-per-connection stream sockets. */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';

/** Sends `<cookie> <command>` and resolves with the reply, cookie and trailing newline removed. */
export function rtppUdp(
  port: number,
  command: string,
  cookie = `c${Math.random().toString(36).slice(2, 10)}`,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const t = setTimeout(() => {
      s.close();
      reject(new Error(`rtpproxy udp: no reply to ${command}`));
    }, 3000);
    s.on('message', (m) => {
      const text = m.toString('latin1');
      if (!text.startsWith(`${cookie} `)) return;
      clearTimeout(t);
      s.close();
      resolve(text.slice(cookie.length + 1).replace(/\n$/, ''));
    });
    s.send(`${cookie} ${command}`, port, '127.0.0.1');
  });
}

/** Connects to a stream socket (unix path or TCP port), writes `lines`, and reads until the server closes. */
export function rtppStream(target: string | number, lines: string[], timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = typeof target === 'number' ? connect(target, '127.0.0.1') : connect(target);
    let out = '';
    const t = setTimeout(() => {
      c.destroy();
      reject(new Error(`rtpproxy stream: timeout, got ${JSON.stringify(out)}`));
    }, timeoutMs);
    c.on('connect', () => c.write(lines.map((l) => `${l}\n`).join('')));
    c.on('data', (d) => {
      out += d.toString('latin1');
    });
    c.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    c.on('close', () => {
      clearTimeout(t);
      resolve(out);
    });
  });
}

/** Reads from a kept-open stream connection until `count` newline-terminated replies arrived. */
export function rtppStreamPipelined(port: number, lines: string[], count: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const c = connect(port, '127.0.0.1');
    let out = '';
    const t = setTimeout(() => {
      c.destroy();
      reject(new Error(`rtpproxy stream: timeout, got ${JSON.stringify(out)}`));
    }, 3000);
    c.on('connect', () => c.write(lines.map((l) => `${l}\n`).join('')));
    c.on('data', (d) => {
      out += d.toString('latin1');
      const got = out.split('\n').slice(0, -1);
      if (got.length >= count) {
        clearTimeout(t);
        c.end();
        resolve(got);
      }
    });
    c.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}
