import { ProtocolError } from './error-codes.ts';
import { MAX_FRAME_BYTES } from './limits.ts';

export const HEADER_BYTES = 4;

export interface FrameDecoderOptions {
  /** Largest accepted payload; a larger length is refused as soon as the header is read. */
  maxFrameBytes?: number;
  onFrame: (payload: Buffer) => void;
  /** Called once, with a fatal ProtocolError; the decoder ignores all input after it. */
  onError: (error: ProtocolError) => void;
}

type State = 'header' | 'body' | 'failed';

/**
 * Streaming decoder for `[u32 big-endian length][payload]` frames, shaped like ws's Receiver: named
 * states, a `consume(n)` that slices without copying when a frame lies in one chunk, and the length
 * limit checked before a byte of the body is buffered. Sans-I/O: it never reads a clock or a socket;
 * adapters call `push` with whatever bytes arrived, however they were split.
 */
export class FrameDecoder {
  readonly #maxFrameBytes: number;
  readonly #onFrame: (payload: Buffer) => void;
  readonly #onError: (error: ProtocolError) => void;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #state: State = 'header';
  #bodyLength = 0;
  #framesStarted = 0;

  constructor(options: FrameDecoderOptions) {
    this.#maxFrameBytes = options.maxFrameBytes ?? MAX_FRAME_BYTES;
    this.#onFrame = options.onFrame;
    this.#onError = options.onError;
  }

  /** True while part of a frame (header or body) has arrived but not all of it. */
  get isMidFrame(): boolean {
    return this.#state !== 'failed' && (this.#buffered > 0 || this.#state === 'body');
  }

  /** Counts frames begun; an adapter's deadline compares it to tell "the same frame is still open". */
  get framesStarted(): number {
    return this.#framesStarted;
  }

  get hasFailed(): boolean {
    return this.#state === 'failed';
  }

  push(chunk: Buffer): void {
    if (this.#state === 'failed' || chunk.length === 0) return;
    if (this.#buffered === 0 && this.#state === 'header') this.#framesStarted++;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    this.#run();
  }

  /** The stream ended: a partial frame is a truncation error. */
  end(): void {
    if (this.isMidFrame)
      this.#fail(new ProtocolError('ERR_TRUNCATED', `${this.#buffered} bytes of an unfinished frame`));
  }

  #run(): void {
    for (;;) {
      if (this.#state === 'header') {
        if (this.#buffered < HEADER_BYTES) return;
        const length = this.#consume(HEADER_BYTES).readUInt32BE(0);
        if (length > this.#maxFrameBytes) {
          this.#fail(new ProtocolError('ERR_FRAME_TOO_LARGE', `${length} > ${this.#maxFrameBytes} bytes`));
          return;
        }
        this.#bodyLength = length;
        this.#state = 'body';
      }
      if (this.#state !== 'body' || this.#buffered < this.#bodyLength) return;
      const payload = this.#consume(this.#bodyLength);
      this.#state = 'header';
      if (this.#buffered > 0) this.#framesStarted++;
      this.#onFrame(payload);
      // onFrame may have failed us (an adapter closing on a bad frame) or pushed nothing: re-check.
      if (this.hasFailed) return;
    }
  }

  /** Takes n buffered bytes; a slice (no copy) when they lie in the first chunk. */
  #consume(n: number): Buffer {
    this.#buffered -= n;
    const first = this.#chunks[0];
    if (n === 0) return Buffer.alloc(0);
    if (n === first.length) return this.#chunks.shift()!;
    if (n < first.length) {
      this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let offset = 0;
    while (offset < n) {
      const head = this.#chunks[0];
      const take = Math.min(head.length, n - offset);
      head.copy(out, offset, 0, take);
      offset += take;
      if (take === head.length) this.#chunks.shift();
      else this.#chunks[0] = head.subarray(take);
    }
    return out;
  }

  #fail(error: ProtocolError): void {
    this.#state = 'failed';
    this.#chunks = [];
    this.#buffered = 0;
    this.#onError(error);
  }
}
