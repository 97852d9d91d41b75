/**
 * Local media interfaces, given as rtpengine does: `[NAME/]IP[!ADVERTISED]`, where IP may also be the name of
 * a network device of this host (all its addresses), `any` (every address of every non-loopback device) or a
 * host name (resolved once, at start-up). Several may share a name (one per address family); the engine picks
 * by name and family. The host's devices and its resolver are passed in (cli/ reads them): no I/O here.
 */
import { isIP } from 'node:net';
import type { NetworkInterfaceInfo } from 'node:os';

export interface MediaInterface {
  name: string;
  address: string;
  /** The address put into SDP (differs from `address` behind NAT). */
  advertised: string;
  family: 4 | 6;
}

/** Network devices and their addresses, as `os.networkInterfaces()` reports them. */
export type HostDevices = NodeJS.Dict<NetworkInterfaceInfo[]>;

/** IPv6 link-local addresses are never used: they need a scope and no peer outside the link reaches them. */
function linkLocal6(address: string): boolean {
  return /^fe[89ab]/i.test(address);
}

/** Addresses a device name or `any` stands for. */
function deviceAddresses(word: string, devices: HostDevices): string[] | undefined {
  const usable = (a: NetworkInterfaceInfo) => !(a.family === 'IPv6' && linkLocal6(a.address));
  if (word === 'any') {
    return Object.values(devices).flatMap((list) =>
      (list ?? []).filter((a) => !a.internal && usable(a)).map((a) => a.address),
    );
  }
  // Own keys only: `constructor` or `toString` name no device.
  const list = Object.hasOwn(devices, word) ? devices[word] : undefined;
  return list ? list.filter(usable).map((a) => a.address) : undefined;
}

/** A host name's addresses, in the resolver's order; empty when it does not resolve. */
export type HostResolver = (host: string) => string[];

const HOST_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

/**
 * One `--interface` value as the interfaces it stands for: one for an address, one per address for a device
 * name, `any` or a host name. An advertised address applies to the addresses of its own family.
 */
export function parseInterface(spec: string, devices: HostDevices, resolve: HostResolver): MediaInterface[] {
  let name = 'default';
  let rest = spec.trim();
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    name = rest.slice(0, slash);
    rest = rest.slice(slash + 1);
  }
  let advertised: string | undefined;
  const bang = rest.indexOf('!');
  if (bang >= 0) {
    advertised = rest.slice(bang + 1);
    rest = rest.slice(0, bang);
  }
  if (!name) throw new Error(`interface '${spec}': empty name`);
  const adv = advertised?.replace(/^\[(.*)\]$/, '$1');
  const advFamily = adv === undefined ? 0 : isIP(adv);
  if (adv !== undefined && advFamily === 0)
    throw new Error(`interface '${spec}': advertised '${adv}' is not an IP address`);
  const address = rest.replace(/^\[(.*)\]$/, '$1');
  const addresses =
    isIP(address) !== 0
      ? [address]
      : (deviceAddresses(address, devices) ??
        (HOST_NAME.test(address) ? resolve(address).filter((a) => !linkLocal6(a)) : undefined));
  if (!addresses || (addresses.length === 0 && address !== 'any' && !Object.hasOwn(devices, address))) {
    throw new Error(
      `interface '${spec}': '${address}' is not an IP address, a network device of this host, 'any' ` +
        'or a host name that resolves',
    );
  }
  if (addresses.length === 0) throw new Error(`interface '${spec}': '${address}' has no usable address`);
  return addresses.map((a) => {
    const family = isIP(a) as 4 | 6;
    return { name, address: a, advertised: adv !== undefined && advFamily === family ? adv : a, family };
  });
}

export class InterfaceSet {
  constructor(readonly list: MediaInterface[]) {
    if (list.length === 0) throw new Error('no media interface');
  }

  /**
   * The interface to use: by name when given (any family, preferring `family`), else the first of `family`,
   * else the first of all. Returns undefined for an unknown name.
   */
  pick(name: string | undefined, family: 4 | 6 | undefined): MediaInterface | undefined {
    const pool = name === undefined ? this.list : this.list.filter((i) => i.name === name);
    if (pool.length === 0) return undefined;
    if (family !== undefined) {
      const f = pool.find((i) => i.family === family);
      if (f) return f;
      if (name === undefined) return undefined;
    }
    return pool[0];
  }

  has(name: string): boolean {
    return this.list.some((i) => i.name === name);
  }
}
