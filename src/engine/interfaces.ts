/**
 * Local media interfaces, given as rtpengine does: `[NAME/]IP[!ADVERTISED]`. Several may share a name (one
 * per address family); the engine picks by name and family.
 */
import { isIP } from 'node:net';

export interface MediaInterface {
  name: string;
  address: string;
  /** The address put into SDP (differs from `address` behind NAT). */
  advertised: string;
  family: 4 | 6;
}

export function parseInterface(spec: string): MediaInterface {
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
  const address = rest.replace(/^\[(.*)\]$/, '$1');
  const fam = isIP(address);
  if (fam === 0) throw new Error(`interface '${spec}': '${address}' is not an IP address`);
  if (!name) throw new Error(`interface '${spec}': empty name`);
  const adv = advertised?.replace(/^\[(.*)\]$/, '$1');
  if (adv !== undefined && isIP(adv) === 0)
    throw new Error(`interface '${spec}': advertised '${adv}' is not an IP address`);
  return { name, address, advertised: adv ?? address, family: fam as 4 | 6 };
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
