/**
 * A prompt is audio ready to packetize: decoded (WAV or MP3), folded to mono, resampled to the codec
 * clock rate (8 kHz for G.711) and converted to 16-bit.
 */
import { foldToMono, floatToInt16 } from './mix.js';
import { decodeMp3, isMp3, Mp3Error } from './mp3.js';
import { resample } from './resample.js';
import { type DecodedAudio, decodeWav, isWav, WavError } from './wav.js';

/** Audio that cannot be turned into a prompt (unknown format, or a decoder's error wrapped). */
export class PromptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PromptError';
  }
}

/** Decode WAV or MP3 bytes, told apart by their first bytes. */
export async function decodeAudio(bytes: Uint8Array): Promise<DecodedAudio> {
  try {
    if (isWav(bytes)) return decodeWav(bytes);
    if (isMp3(bytes)) return await decodeMp3(bytes);
  } catch (e) {
    if (e instanceof WavError || e instanceof Mp3Error) throw new PromptError(e.message);
    throw e;
  }
  throw new PromptError('unknown audio format (expected WAV or MP3)');
}

/** Fold and resample decoded audio to mono 16-bit at `rate` Hz. */
export function toMonoInt16(audio: DecodedAudio, rate = 8000): Int16Array {
  return floatToInt16(resample(foldToMono(audio.channels), audio.sampleRate, rate));
}

/** Longest prompt accepted by default: one hour (57.6 MB of samples at 8 kHz). */
export const MAX_PROMPT_SECONDS = 3600;

/** WAV/MP3 bytes to mono 16-bit samples at `rate` Hz (8000 unless told). */
export async function loadPrompt(
  bytes: Uint8Array,
  rate = 8000,
  maxSeconds = MAX_PROMPT_SECONDS,
): Promise<Int16Array> {
  const audio = await decodeAudio(bytes);
  const frames = audio.channels[0]?.length ?? 0;
  if (frames === 0) throw new PromptError('audio has no samples');
  const seconds = frames / audio.sampleRate;
  if (seconds > maxSeconds)
    throw new PromptError(`audio too long: ${Math.round(seconds)} s (limit ${maxSeconds} s)`);
  return toMonoInt16(audio, rate);
}

/** Duration in whole milliseconds of `samples` at `rate` Hz. */
export function promptDurationMs(samples: Int16Array, rate = 8000): number {
  return Math.round((samples.length * 1000) / rate);
}
