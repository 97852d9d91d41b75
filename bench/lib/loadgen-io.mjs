/**
 * The load generator's stdout protocol, shared by the relay and kernel benches: two lines with its A and B
 * ports, then MEASURE_START / MEASURE_END around the measured window, then one JSON result line.
 */
import { createInterface } from 'node:readline';

/** Reads the generator's stdout line by line; throws if it exits before the next line. */
export function lineReader(stream) {
  const it = createInterface({ input: stream })[Symbol.asyncIterator]();
  return async () => {
    const r = await it.next();
    if (r.done) throw new Error('load generator exited early');
    return r.value;
  };
}

/** The `A p1 p2 ...` and `B p1 p2 ...` lines: the ports each side sends from. */
export async function readPorts(nextLine) {
  const aPorts = (await nextLine()).split(' ').slice(1).map(Number);
  const bPorts = (await nextLine()).split(' ').slice(1).map(Number);
  return { aPorts, bPorts };
}

/** Takes `sample()` at the window's start and end; returns both samples and the generator's result. */
export async function readWindow(nextLine, sample) {
  let start;
  let end;
  for (;;) {
    const line = await nextLine();
    if (line === 'MEASURE_START') start = sample();
    else if (line === 'MEASURE_END') end = sample();
    else if (line.startsWith('{')) return { start, end, result: JSON.parse(line) };
  }
}
