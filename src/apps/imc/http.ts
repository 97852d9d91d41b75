/**
 * The operations endpoint: `GET /rooms`, `GET /rooms/<room>/members` (JSON, like Kamailio's imc.list_rooms
 * and imc.list_members RPCs), `GET /metrics` (Prometheus) and `GET /health`.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { ImcStore } from '../../store/imc-store.js';
import type { Logger } from '../../util/log.js';
import { validRoomName } from './address.js';
import type { ImcMetrics } from './metrics.js';
import { listMembers, listRooms } from './ops.js';

export async function startImcHttp(
  host: string,
  port: number,
  store: ImcStore,
  domain: string,
  metrics: ImcMetrics,
  log: Logger,
): Promise<Server> {
  const server = createServer((req, res) => {
    handle(req, res, store, domain, metrics).catch((e) => {
      log.err(`imc http: ${e instanceof Error ? e.message : String(e)}`);
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

function json(res: ServerResponse, status: number, value: unknown): void {
  const body = `${JSON.stringify(value)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  store: ImcStore,
  domain: string,
  metrics: ImcMetrics,
): Promise<void> {
  if (req.method !== 'GET') return json(res, 405, { error: 'only GET' });
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (path === '/health') return json(res, 200, { ok: true });
  if (path === '/metrics') {
    const text = await metrics.registry.metrics();
    res.writeHead(200, { 'content-type': metrics.registry.contentType });
    res.end(text);
    return;
  }
  if (path === '/rooms') return json(res, 200, { rooms: await listRooms(store, domain) });
  const m = /^\/rooms\/([^/]{1,200})\/members$/.exec(path);
  if (m) {
    let name: string;
    try {
      name = decodeURIComponent(m[1] as string);
    } catch {
      return json(res, 400, { error: 'bad room name' });
    }
    if (!validRoomName(name)) return json(res, 400, { error: 'bad room name' });
    const members = await listMembers(store, name, domain);
    if (!members) return json(res, 404, { error: 'room not found' });
    return json(res, 200, { room: name, domain, members });
  }
  json(res, 404, { error: 'not found' });
}
