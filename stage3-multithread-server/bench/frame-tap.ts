/**
 * The load generator's receive path: a frame parser that reads only the 4-byte length headers and
 * skips bodies (counting frames, no copy, no JSON), or, while `decodeBodies` is true, hands each
 * whole payload to `onFrame`. The mode may change inside `onFrame`; it applies from the next frame,
 * so a client can decode its login answer and only count from then on.
 */
export class FrameTap {
  /** True: every payload goes to onFrame. False: frames are only counted. */
  decodeBodies = true;
  readonly #onFrame: (payload: Buffer) => void;
  readonly #header = Buffer.alloc(4);
  #headerFill = 0;
  /** Body bytes still to come for the current frame (0 between frames). */
  #bodyLeft = 0;
  /** The body being assembled across chunks (null when the body is being skipped). */
  #body: Buffer | null = null;
  #bodyFill = 0;

  constructor(onFrame: (payload: Buffer) => void) {
    this.#onFrame = onFrame;
  }

  /** Parses one chunk; returns how many frames it completed (decoded or counted). */
  push(chunk: Buffer): number {
    let frames = 0;
    let i = 0;
    const end = chunk.length;
    while (i < end) {
      if (this.#bodyLeft > 0) {
        const take = Math.min(this.#bodyLeft, end - i);
        if (this.#body) chunk.copy(this.#body, this.#bodyFill, i, i + take);
        this.#bodyFill += take;
        this.#bodyLeft -= take;
        i += take;
        if (this.#bodyLeft === 0) {
          frames++;
          const body = this.#body;
          this.#body = null;
          if (body) this.#onFrame(body);
        }
        continue;
      }
      let length: number;
      if (this.#headerFill === 0 && end - i >= 4) {
        length = chunk.readUInt32BE(i);
        i += 4;
      } else {
        this.#header[this.#headerFill++] = chunk[i++];
        if (this.#headerFill < 4) continue;
        this.#headerFill = 0;
        length = this.#header.readUInt32BE(0);
      }
      if (!this.decodeBodies) {
        if (end - i >= length) {
          i += length; // the common case: the whole body is in this chunk
          frames++;
        } else {
          this.#bodyLeft = length - (end - i);
          this.#bodyFill = 0;
          i = end;
        }
        continue;
      }
      if (end - i >= length) {
        frames++;
        const body = chunk.subarray(i, i + length);
        i += length;
        this.#onFrame(body);
        continue;
      }
      this.#body = Buffer.allocUnsafe(length);
      this.#bodyFill = 0;
      this.#bodyLeft = length;
    }
    return frames;
  }
}
