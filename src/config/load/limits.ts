import { open } from 'node:fs/promises';

/** A config larger than this is refused before it is parsed (POST /config bodies are capped at 1 MiB). */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
/** Deepest nesting of mappings and lists a config may have; switchyard's own is under 10. */
export const MAX_CONFIG_DEPTH = 64;

/**
 * A config file's text, reading at most one byte past MAX_CONFIG_BYTES, so that a huge file
 * costs no more memory than the limit before it is refused (by `configTooBig`).
 */
export async function readConfigText(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return buffer.toString('utf8', 0, length);
  } finally {
    await handle.close();
  }
}

/**
 * Why a config text is refused before YAML parsing, with the offset to report it at: too
 * large, or nested deeper than MAX_CONFIG_DEPTH (a 50 MB deeply nested file once took the
 * parser to 1.7 GB). Nesting is counted on flow brackets and on block indentation.
 */
export function configTooBig(text: string): { offset: number; message: string } | undefined {
  if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) {
    return { offset: 0, message: `the config is larger than ${MAX_CONFIG_BYTES} bytes; refusing to parse it` };
  }
  let flow = 0;
  let quote = '';
  let lineStart = true;
  let indent = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') {
      lineStart = true;
      indent = 0;
      continue;
    }
    if (lineStart) {
      if (c === ' ' || c === '-') {
        // Block nesting shows as indentation ("- " list items indent too).
        if (++indent > MAX_CONFIG_DEPTH * 4) return { offset: i, message: `the config is nested too deeply (more than ${MAX_CONFIG_DEPTH} levels)` };
        continue;
      }
      lineStart = false;
    }
    if (quote !== '') {
      if (c === quote && text[i - 1] !== '\\') quote = '';
      continue;
    }
    if (c === '#') {
      const eol = text.indexOf('\n', i);
      i = eol < 0 ? text.length : eol - 1;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '{') {
      if (++flow > MAX_CONFIG_DEPTH) return { offset: i, message: `the config is nested too deeply (more than ${MAX_CONFIG_DEPTH} levels)` };
    } else if ((c === ']' || c === '}') && flow > 0) flow--;
  }
  return undefined;
}
