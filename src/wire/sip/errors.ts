/** Why a SIP message could not be parsed. Bad input from the network only ever raises this. */
export class SipParseError extends Error {
  constructor(
    readonly reason: string,
    /** What was parsed before the failure (start line and headers), enough to answer 400 when present. */
    readonly partial?: import('./message.js').SipMessage,
  ) {
    super(reason);
    this.name = 'SipParseError';
  }
}
