/**
 * Prometheus metrics of the imc service, in a registry of its own (several services can live in one
 * process): the `active_rooms` gauge of Kamailio's imc, plus message counters.
 */
import { Counter, Gauge, Registry } from 'prom-client';

export class ImcMetrics {
  readonly registry = new Registry();
  readonly received: Counter<'kind'>;
  readonly commands: Counter<'command'>;
  readonly sent: Counter<'result'>;
  readonly rejected: Counter<'reason'>;

  constructor(countRooms: () => Promise<number>) {
    const registers = [this.registry];
    new Gauge({
      name: 'active_rooms',
      help: 'Number of active IM conferencing rooms (in the shared database)',
      registers,
      async collect() {
        this.set(await countRooms());
      },
    });
    this.received = new Counter({
      name: 'imc_messages_received_total',
      help: 'MESSAGE requests handled, by kind (command or text)',
      labelNames: ['kind'],
      registers,
    });
    this.commands = new Counter({
      name: 'imc_commands_total',
      help: 'Commands handled, by command (invalid for unknown ones)',
      labelNames: ['command'],
      registers,
    });
    this.sent = new Counter({
      name: 'imc_messages_sent_total',
      help: 'MESSAGE requests originated, by result (ok, failed, dropped when the fan-out queue was full)',
      labelNames: ['result'],
      registers,
    });
    this.rejected = new Counter({
      name: 'imc_requests_rejected_total',
      help: 'Requests answered with an error before any processing, by reason',
      labelNames: ['reason'],
      registers,
    });
  }
}
