/**
 * The one I/O module of src/media: reading prompt files from disk, confined to a media root, feeding
 * {@link PromptCache}.
 */
import { open, realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { PromptCache, type PromptFileStat } from './prompt-cache.js';
import { loadPrompt, PromptError } from './prompt.js';

/** Files larger than this are refused before reading (an hour of 48 kHz stereo 16-bit WAV is ~690 MB). */
export const MAX_PROMPT_FILE_BYTES = 256 * 1024 * 1024;

/**
 * Resolve `name` inside `root`, following symlinks, and refuse anything that ends up outside it.
 * Throws {@link PromptError} for a refused or missing file.
 */
export async function resolveInMediaRoot(root: string, name: string): Promise<string> {
  let realRoot: string;
  let real: string;
  try {
    realRoot = await realpath(root);
    real = await realpath(resolve(realRoot, name));
  } catch {
    throw new PromptError(`file not found: ${name}`);
  }
  const rel = relative(realRoot, real);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new PromptError(`file outside the media directory: ${name}`);
  }
  return real;
}

export async function statPromptFile(path: string): Promise<PromptFileStat> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new PromptError(`not a regular file: ${path}`);
    return { mtimeMs: s.mtimeMs, size: s.size };
  } catch (e) {
    if (e instanceof PromptError) throw e;
    throw new PromptError(`cannot stat ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/** Read a prompt file (bounded) and decode it to mono 16-bit at `rate` Hz. */
export async function readPromptFile(path: string, rate = 8000): Promise<Int16Array> {
  let bytes: Buffer;
  try {
    const fh = await open(path, 'r');
    try {
      const { size } = await fh.stat();
      if (size > MAX_PROMPT_FILE_BYTES) throw new PromptError(`file too large: ${path} (${size} bytes)`);
      bytes = await fh.readFile();
    } finally {
      await fh.close();
    }
  } catch (e) {
    if (e instanceof PromptError) throw e;
    throw new PromptError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  return loadPrompt(bytes, rate);
}

/** A prompt cache reading from disk; `maxBytes` bounds the decoded samples kept (default 64 MiB). */
export function createFilePromptCache(maxBytes = 64 * 1024 * 1024, rate = 8000): PromptCache {
  return new PromptCache({ maxBytes, stat: statPromptFile, load: (p) => readPromptFile(p, rate) });
}
