/**
 * SDES `a=crypto` attributes (RFC 4568 section 9.1): `crypto:<tag> <suite> inline:<key||salt>[|lifetime][|MKI:len]
 * [session params]`. Only the first key parameter is read; what the suite and key mean is the caller's.
 */

export interface SdpCrypto {
  tag: number;
  suite: string;
  /** base64 key material of the first `inline:` key parameter. */
  inline: string;
}

/** An `a=crypto` value (without `a=`), or undefined when it is not one. */
export function parseCryptoAttribute(value: string): SdpCrypto | undefined {
  const r = /^crypto:(\d{1,9})\s+(\S+)\s+inline:([A-Za-z0-9+/=]+)(\|\S*)?/.exec(value);
  return r ? { tag: Number(r[1]), suite: r[2]!, inline: r[3]! } : undefined;
}

export function formatCryptoAttribute(c: SdpCrypto): string {
  return `crypto:${c.tag} ${c.suite} inline:${c.inline}`;
}
