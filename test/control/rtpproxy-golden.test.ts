/**
 * Golden command/reply files, the way RTPproxy's own suite works (tests/<feature>/*.input and *.output):
 * each line of an .input file is one command, the .output file holds the exact replies. `%%P<n>%%` in an
 * .output stands for the n-th port above the daemon's --port-min (ports are handed out in order). Each
 * file runs against a fresh daemon, over UDP with cookies and over the unix stream socket.
 * Set GOLDEN_UPDATE=1 to rewrite the .output files from what the daemon answers (then review the diff).
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startTestDaemon, type TestDaemon } from './daemon.js';
import { rtppStream, rtppUdp } from './rtpp-client.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const NOTIFY_ALLOWED = 'unix:/tmp/sipmedia-golden-allowed.sock';

function toPlaceholders(text: string, d: TestDaemon): string {
  return text.replace(/\b(\d{4,5})\b/g, (m) => {
    const n = Number(m) - d.portMin;
    return n >= 0 && n <= d.portMax - d.portMin + 1 ? `%%P${n}%%` : m;
  });
}

/**
 * Port placeholders numbered by first appearance: a port of the range that something else on the machine holds
 * (an ephemeral client port can land there) is skipped by the allocator, which shifts every later port by one
 * without changing what the replies say.
 */
function byAppearance(text: string): string {
  const seen = new Map<string, number>();
  return text.replace(/%%P(\d+)%%/g, (_, n: string) => {
    if (!seen.has(n)) seen.set(n, seen.size);
    return `%%Q${seen.get(n)}%%`;
  });
}

const inputs = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.input'))
  .sort();

describe('RTPproxy golden command/reply files', { concurrency: false }, () => {
  for (const file of inputs) {
    const name = file.replace(/\.input$/, '');
    const lines = readFileSync(join(FIXTURES, file), 'latin1')
      .split('\n')
      .filter((l) => l !== '');
    for (const transport of ['udp', 'unix'] as const) {
      test(`${name} over ${transport}`, async () => {
        const d = await startTestDaemon([`--notify-allow=${NOTIFY_ALLOWED}`]);
        try {
          let got = '';
          for (const [i, line] of lines.entries()) {
            const reply =
              transport === 'udp'
                ? await rtppUdp(d.udpPort, line, `${name}_${i}`)
                : (await rtppStream(d.unixPath, [line])).replace(/\n$/, '');
            got += `${reply}\n`;
          }
          const outFile = join(FIXTURES, `${name}.output`);
          if (process.env.GOLDEN_UPDATE === '1' && transport === 'udp')
            writeFileSync(outFile, toPlaceholders(got, d));
          const want = readFileSync(outFile, 'latin1');
          assert.equal(byAppearance(toPlaceholders(got, d)), byAppearance(want));
        } finally {
          await d.stop();
        }
      });
    }
  }
});
