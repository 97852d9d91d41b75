/** An engine on the JavaScript dataplane with no timeouts, for the offer/answer fuzz tests (ports of its own). */
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { UserspaceDataplane } from '../../src/dataplane/userspace.js';
import { Engine } from '../../src/engine/engine.js';
import { InterfaceSet, parseInterface } from '../../src/engine/interfaces.js';
import { EngineError } from '../../src/engine/options.js';
import { silentLogger } from '../../src/util/log.js';
import { SdpError } from '../../src/wire/sdp.js';
import { reservePortBlock } from '../helpers/ports.js';

export function fuzzEngine(): { engine: Engine; dataplane: UserspaceDataplane } {
  const base = reservePortBlock();
  const dataplane = new UserspaceDataplane(base, base + 199);
  const engine = new Engine(
    {
      interfaces: new InterfaceSet(parseInterface('127.0.0.1', {}, () => [])),
      timeout: 0,
      silentTimeout: 0,
      finalTimeout: 0,
      offerTimeout: 0,
      deleteDelay: 0,
      maxSessions: -1,
    },
    dataplane,
    silentLogger,
  );
  after(() => engine.shutdown());
  return { engine, dataplane };
}

/**
 * One fuzzed exchange: engine and SDP errors are acceptable outcomes, anything else fails the test; the call is
 * deleted afterwards and must have freed every port.
 */
export async function exchange(
  f: { engine: Engine; dataplane: UserspaceDataplane },
  callId: string,
  run: () => Promise<void>,
): Promise<void> {
  try {
    await run();
  } catch (e) {
    if (!(e instanceof EngineError || e instanceof SdpError)) throw e;
  } finally {
    if (f.engine.calls.has(callId)) f.engine.delete({ callId });
  }
  assert.equal(f.dataplane.openPairs, 0, 'every call freed its ports');
}
