/**
 * MP3 (MPEG-1/2 layer I/II/III) decoding through mpg123 compiled to WebAssembly (`mpg123-decoder`).
 * One decoder instance per call: the WASM module compiles once per process and instances are cheap,
 * and a fresh instance cannot carry state from an earlier, possibly corrupt, file.
 */
import { MPEGDecoder } from 'mpg123-decoder';
import type { DecodedAudio } from './wav.js';

/** Undecodable MP3 data. */
export class Mp3Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Mp3Error';
  }
}

/**
 * True when the bytes start like an MP3: an ID3v2 tag, or an MPEG audio frame sync (11 set bits) with a
 * valid layer field.
 */
export function isMp3(bytes: Uint8Array): boolean {
  if (bytes.length >= 3 && bytes[0] === 0x49 && bytes[1] === 0x44 && bytes[2] === 0x33) return true; // "ID3"
  return bytes.length >= 2 && bytes[0] === 0xff && (bytes[1]! & 0xe0) === 0xe0 && (bytes[1]! & 0x06) !== 0;
}

/**
 * How long the decoder may take to compile and start. The package's start-up promise never settles when
 * its WebAssembly fails to compile or instantiate (it has no rejection path), so an unbounded wait would
 * hang the playback request that asked for the file.
 */
const READY_TIMEOUT_MS = 10_000;

export async function readyWithin(ready: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      ready,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Mp3Error(`MP3 decoder did not start within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Decode a whole MP3 file. Throws {@link Mp3Error} when nothing decodes. */
export async function decodeMp3(bytes: Uint8Array): Promise<DecodedAudio> {
  const decoder = new MPEGDecoder();
  try {
    await readyWithin(decoder.ready, READY_TIMEOUT_MS);
    // The decoder wants a plain Uint8Array view.
    const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const r = decoder.decode(view);
    if (r.samplesDecoded === 0 || r.sampleRate === 0 || r.channelData.length === 0) {
      const why = r.errors[0]?.message ?? 'no audio frames';
      throw new Mp3Error(`MP3 decode failed: ${why}`);
    }
    return {
      sampleRate: r.sampleRate,
      channels: r.channelData.map((c) => c.subarray(0, r.samplesDecoded)),
    };
  } catch (e) {
    if (e instanceof Mp3Error) throw e;
    throw new Mp3Error(`MP3 decode failed: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    try {
      decoder.free();
    } catch {
      // free() on an instance whose init failed throws; nothing to release then.
    }
  }
}
