/** The project's SIP layer: transport, transactions, dialogs and a small UA core. */
export type { Dialog, DialogEvents, DialogState, InDialogRequestOptions } from './dialog.js';
export { createSipStack, SipStack } from './stack.js';
export type {
  ClientResult,
  OutgoingRequest,
  OutgoingRequestOptions,
  SipStackEvents,
  SipStackOptions,
  SipStackStats,
} from './stack-types.js';
export type { ClientTransaction } from './transaction-client.js';
export type { ResponseOptions, ServerTransaction, ServerTransactionEvents } from './transaction-server.js';
export { DEFAULT_TIMERS, type SipTimerConfig } from './timers.js';
export { SipTransport, type ListenAddress, type TransportStats } from './transport.js';
export type { Endpoint, TransportName } from './transport-routing.js';
