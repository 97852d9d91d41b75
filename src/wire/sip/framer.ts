/**
 * Stream framing for SIP over TCP (RFC 3261 18.3): a message is its header section up to the blank line,
 * then exactly Content-Length bytes. Leading CRLFs (keep-alives) are skipped.
 */
import { SipParseError } from './errors.js';
import { SIP_LIMITS, findHeaderEnd, leadingCrlf } from './message.js';

export class SipStreamFramer {
  private buf: Buffer = Buffer.alloc(0);

  /**
   * Adds received bytes and returns the complete messages now available (each to be parsed with
   * `{ stream: true }`). Throws SipParseError when the stream cannot be framed; the connection should then
   * be closed, since the next message boundary is unknown.
   */
  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Buffer[] = [];
    for (let guard = 0; guard < 10_000; guard++) {
      const skip = leadingCrlf(this.buf);
      if (skip > 0) this.buf = this.buf.subarray(skip);
      if (this.buf.length === 0) break;
      const end = findHeaderEnd(this.buf);
      if (end < 0) {
        if (this.buf.length > SIP_LIMITS.maxMessage) throw new SipParseError('header section too large');
        break;
      }
      const head = this.buf.toString('latin1', 0, end);
      const m = /(?:^|\n)(?:content-length|l)[ \t]*:[ \t]*([^\r\n]*)/i.exec(head);
      let length = 0;
      if (m) {
        const v = m[1]!.trim();
        if (!/^\d{1,9}$/.test(v)) throw new SipParseError('bad Content-Length');
        length = Number(v);
      }
      if (end + length > SIP_LIMITS.maxMessage) throw new SipParseError('message too large');
      if (this.buf.length < end + length) break;
      out.push(Buffer.from(this.buf.subarray(0, end + length)));
      this.buf = this.buf.subarray(end + length);
    }
    return out;
  }

  /** Bytes held waiting for the rest of a message. */
  get pending(): number {
    return this.buf.length;
  }
}
