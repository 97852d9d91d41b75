/**
 * Sample-rate conversion by a Kaiser-windowed sinc filter in polyphase form. For a rate ratio reduced to
 * L/M (out/in), output sample n sits at input position n*M/L: its integer part picks the input window and
 * its fractional part (n*M mod L) picks one of L precomputed filter phases. The cutoff is placed just
 * below the lower Nyquist frequency so downsampling (44.1 kHz -> 8 kHz) does not alias.
 *
 * Synchronous and whole-buffer: prompts are converted once and cached, so simplicity beats streaming.
 */

/** Zero crossings of the sinc on each side, at the cutoff frequency. More = steeper transition band. */
const ZERO_CROSSINGS = 16;
/** Cutoff as a fraction of the lower Nyquist frequency: leaves room for the transition band. */
const ROLLOFF = 0.92;
/** Kaiser beta ~8.6 gives about 80-90 dB stopband attenuation. */
const KAISER_BETA = 8.6;
/** Above this many phases the table would be large; kernels are then computed per output sample. */
const MAX_TABLE_PHASES = 1024;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Modified Bessel function of the first kind, order 0 (power series; converges fast for our beta). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 50; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

interface Kernel {
  /** Half-width in input samples. */
  half: number;
  /** Cutoff in cycles per input sample. */
  fc: number;
  i0Beta: number;
}

function makeKernel(fromRate: number, toRate: number): Kernel {
  const fc = (0.5 * ROLLOFF * Math.min(fromRate, toRate)) / fromRate;
  return { half: Math.ceil(ZERO_CROSSINGS / (2 * fc)), fc, i0Beta: besselI0(KAISER_BETA) };
}

/** Filter weight at distance x (input samples) from the output position. */
function weight(k: Kernel, x: number): number {
  const r = x / k.half;
  if (r <= -1 || r >= 1) return 0;
  const w = besselI0(KAISER_BETA * Math.sqrt(1 - r * r)) / k.i0Beta;
  const a = 2 * k.fc * x;
  const sinc = a === 0 ? 1 : Math.sin(Math.PI * a) / (Math.PI * a);
  return 2 * k.fc * sinc * w;
}

/**
 * Taps for fractional offset `frac` in [0,1): weights for input samples base-half+1 .. base+half, where
 * base is the integer part of the output position. Normalised to unity DC gain.
 */
function taps(k: Kernel, frac: number): Float32Array {
  const n = 2 * k.half;
  const t = new Float32Array(n);
  let sum = 0;
  for (let j = 0; j < n; j++) {
    const w = weight(k, j - k.half + 1 - frac);
    t[j] = w;
    sum += w;
  }
  if (sum !== 0) for (let j = 0; j < n; j++) t[j]! /= sum;
  return t;
}

/** Number of output samples for `inputLength` samples converted from `fromRate` to `toRate`. */
export function resampledLength(inputLength: number, fromRate: number, toRate: number): number {
  return Math.round((inputLength * toRate) / fromRate);
}

/**
 * Convert float samples (any scale) from `fromRate` to `toRate` Hz. Returns the input itself when the
 * rates are equal. Rates must be positive integers.
 */
export function resample(input: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (!Number.isInteger(fromRate) || !Number.isInteger(toRate) || fromRate <= 0 || toRate <= 0) {
    throw new RangeError(`bad sample rates ${fromRate} -> ${toRate}`);
  }
  if (fromRate === toRate) return input;
  const g = gcd(fromRate, toRate);
  const L = toRate / g;
  const M = fromRate / g;
  const k = makeKernel(fromRate, toRate);
  const outLen = resampledLength(input.length, fromRate, toRate);
  const out = new Float32Array(outLen);
  const table: Float32Array[] | undefined =
    L <= MAX_TABLE_PHASES ? Array.from({ length: L }, (_, p) => taps(k, p / L)) : undefined;
  const n = 2 * k.half;
  const inLen = input.length;
  for (let i = 0; i < outLen; i++) {
    const pos = i * M;
    const base = Math.floor(pos / L);
    const phase = pos - base * L;
    const t = table ? table[phase]! : taps(k, phase / L);
    const start = base - k.half + 1;
    let acc = 0;
    if (start >= 0 && start + n <= inLen) {
      for (let j = 0; j < n; j++) acc += t[j]! * input[start + j]!;
    } else {
      // Edges: samples outside the input are zero.
      for (let j = 0; j < n; j++) {
        const s = start + j;
        if (s >= 0 && s < inLen) acc += t[j]! * input[s]!;
      }
    }
    out[i] = acc;
  }
  return out;
}

/** {@link resample} for 16-bit samples, with rounding and clipping. */
export function resampleInt16(input: Int16Array, fromRate: number, toRate: number): Int16Array {
  if (fromRate === toRate) return input.slice();
  const f = new Float32Array(input.length);
  for (let i = 0; i < input.length; i++) f[i] = input[i]!;
  const r = resample(f, fromRate, toRate);
  const out = new Int16Array(r.length);
  for (let i = 0; i < r.length; i++) {
    const v = Math.round(r[i]!);
    out[i] = Math.min(32767, Math.max(-32768, v));
  }
  return out;
}
