import { open } from 'node:fs/promises';
import { Lexer } from 'yaml';

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
 * parser to 1.7 GB). The YAML lexer (tokens only, no tree) tells quotes, comments and block
 * scalars apart; nesting is counted on flow brackets and on block indentation.
 */
export function configTooBig(text: string): { offset: number; message: string } | undefined {
  if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) {
    return { offset: 0, message: `the config is larger than ${MAX_CONFIG_BYTES} bytes; refusing to parse it` };
  }
  const tooDeep = (offset: number) => ({ offset, message: `the config is nested too deeply (more than ${MAX_CONFIG_DEPTH} levels)` });
  let flow = 0;
  let offset = 0;
  let lineStart = true;
  for (const token of new Lexer().lex(text)) {
    if (token === '[' || token === '{') {
      if (++flow > MAX_CONFIG_DEPTH) return tooDeep(offset);
    } else if ((token === ']' || token === '}') && flow > 0) flow--;
    // Block nesting shows as indentation: at least one column per level ("- " items take two).
    else if (lineStart && flow === 0 && /^ +$/.test(token) && token.length > MAX_CONFIG_DEPTH * 4) return tooDeep(offset);
    lineStart = token === '\n' || token === '\r\n';
    // Lexer tokens are slices of the source, except its one-character control markers.
    if (token.length !== 1 || token.charCodeAt(0) >= 0x20 || token === '\n' || token === '\t') offset += token.length;
  }
  return undefined;
}
