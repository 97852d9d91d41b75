/**
 * Real peers for the media server's e2e tests: sipp scenarios from test/e2e/fixtures/media-server/ and
 * Kamailio with the media server's config template, both through the shared helpers.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RunningKamailio, kamailioInstalled, startKamailio } from '../../helpers/kamailio.js';
import { type RunningSipp, type SippOptions, startSipp } from '../../helpers/sipp.js';

const FIXTURES = fileURLToPath(new URL('../../e2e/fixtures/media-server/', import.meta.url));

export function kamailioUsable(): boolean {
  return kamailioInstalled('tm.so');
}

/** Runs a scenario of test/e2e/fixtures/media-server/ through the shared sipp helper. */
export function startMediaSipp(o: Omit<SippOptions, 'scenario'> & { scenario: string }): RunningSipp {
  mkdirSync(o.dir, { recursive: true });
  return startSipp({ ...o, scenarioDir: FIXTURES });
}

/** Kamailio on 127.0.0.1:`sipPort` forwarding new INVITEs to the media server at `msPort`. */
export function startKamailioForMediaServer(
  dir: string,
  sipPort: number,
  msPort: number,
): Promise<RunningKamailio> {
  return startKamailio({
    dir,
    sipPort,
    template: join(FIXTURES, 'kamailio-ms.cfg.tmpl'),
    module: 'tm.so',
    vars: { MS_PORT: msPort },
  });
}
