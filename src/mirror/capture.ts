import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import type { Captured } from './compare.js';

/**
 * One response of a mirrored pair as it streams past: the status, the compared headers,
 * the body up to max_body (beyond it only a running SHA-256), so that a pair never holds
 * more than its bound whatever the upstreams send.
 */
export class Capture {
  private status = 0;
  private readonly headers = new Map<string, string>();
  private contentType = '';
  private encoding = '';
  private readonly chunks: Buffer[] = [];
  private size = 0;
  /** Started only once the body outgrows max_body: a whole body is compared as it is. */
  private hash: Hash | undefined;

  constructor(
    private readonly names: readonly string[],
    private readonly maxBody: number,
  ) {}

  /** The status line and headers, as undici hands them over (raw name/value buffers). */
  head(status: number, raw: readonly Buffer[]): void {
    this.status = status;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i].toString('latin1').toLowerCase();
      const value = raw[i + 1].toString('latin1');
      if (name === 'content-type') this.contentType = value;
      else if (name === 'content-encoding') this.encoding = value.trim().toLowerCase();
      if (!this.names.includes(name)) continue;
      const before = this.headers.get(name);
      this.headers.set(name, before === undefined ? value : `${before}, ${value}`);
    }
  }

  /** A body chunk: copied while within max_body (undici may reuse the memory it lends), hashed beyond it. */
  data(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.hash === undefined && this.size <= this.maxBody) {
      this.chunks.push(Buffer.from(chunk));
      return;
    }
    if (this.hash === undefined) {
      this.hash = createHash('sha256');
      for (const c of this.chunks) this.hash.update(c);
      this.chunks.length = 0;
    }
    this.hash.update(chunk);
  }

  /** The whole response, once its body has ended. */
  done(): Captured {
    const body = this.hash === undefined ? Buffer.concat(this.chunks, this.size) : undefined;
    return {
      status: this.status,
      headers: this.headers,
      contentType: this.contentType,
      encoding: this.encoding,
      body,
      size: this.size,
      digest: this.hash?.digest('hex'),
    };
  }
}

/**
 * A request body on its way to the primary, copied for the mirror as it passes: the
 * client's stream is not read any faster than the primary takes it. Past max_body the
 * copy is given up (`onOver`); at the end the whole body is handed over (`onEnd`).
 */
export class RequestTap extends Transform {
  private chunks: Buffer[] | undefined = [];
  private size = 0;

  constructor(
    private readonly maxBody: number,
    private readonly onEnd: (body: Buffer) => void,
    private readonly onOver: () => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.chunks !== undefined) {
      this.size += chunk.length;
      if (this.size <= this.maxBody) this.chunks.push(chunk);
      else {
        this.chunks = undefined;
        this.onOver();
      }
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.chunks !== undefined) this.onEnd(Buffer.concat(this.chunks, this.size));
    callback();
  }
}
