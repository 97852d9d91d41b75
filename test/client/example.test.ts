/** examples/offer-answer.ts stays runnable: run it against rtpengine and check its output. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import {
  haveRtpengine,
  MISSING_RTPENGINE,
  type RunningRtpengine,
  startRtpengine,
} from './helpers-rtpengine.js';

const example = fileURLToPath(new URL('../../examples/offer-answer.ts', import.meta.url));

describe('examples/offer-answer.ts', { skip: haveRtpengine() ? false : MISSING_RTPENGINE }, () => {
  let rtpe: RunningRtpengine;
  before(async () => {
    rtpe = await startRtpengine();
  });
  after(() => rtpe?.stop());
  test('runs a call through the proxy', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', example, `udp://127.0.0.1:${rtpe.ngPort}`],
      { timeout: 20000 },
    );
    assert.match(stdout, /SDP for the callee:\nv=0/);
    assert.match(stdout, /participant alice-tag: proxy ports \d+/);
    assert.match(stdout, /deleted; RTP packets relayed: 0/);
  });
});
