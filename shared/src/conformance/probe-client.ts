import type net from 'node:net';
import { isProtocolError } from '../error-codes.ts';
import { FrameDecoder } from '../frame-decoder.ts';
import { connectTcp } from '../net-address.ts';
import { decodePayload, frameBytes, stringifyAscii } from '../payload-codec.ts';

/** A JSON object as a server sent it: the kit assumes nothing about its keys or their types. */
export type WireFrame = Record<string, unknown>;

/** Frames from a server under test may be large (a long history); this only guards the kit's memory. */
const PROBE_MAX_FRAME_BYTES = 64 * 1024 * 1024;
const PREVIEW_CHARS = 160;
const DIAGNOSTIC_FRAMES = 5;

/** One frame, shortened for an error message. */
export function previewFrame(frame: unknown): string {
  const text = JSON.stringify(frame) ?? String(frame);
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}...(${text.length} chars)` : text;
}

/**
 * The conformance kit's byte-level client. Unlike FrameClient it never throws from a socket listener
 * when a server under test misbehaves: a frame that is not a UTF-8 JSON object, or a broken header,
 * is recorded in `problems` (the runner turns it into a failure). It keeps every frame it received in
 * `received` for checks made after a scenario, and waits skip unrelated frames (a live server has
 * other users), naming what they skipped when they time out.
 */
export class ProbeClient {
  readonly socket: net.Socket;
  /** Every well-formed frame from the server, in arrival order (waits do not remove from it). */
  readonly received: WireFrame[] = [];
  /** What the server sent that was not a frame holding a JSON object. */
  readonly problems: string[] = [];
  readonly closed: Promise<void>;
  readonly #queue: WireFrame[] = [];
  readonly #wakers = new Set<() => void>();
  #isClosed = false;
  #sentFeatures = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true); // split writes must leave as separate segments
    const decoder = new FrameDecoder({
      maxFrameBytes: PROBE_MAX_FRAME_BYTES,
      onFrame: (payload) => this.#onPayload(payload),
      onError: (error) => {
        this.problems.push(`server sent a broken frame (${error.code}): ${error.message}`);
        socket.destroy();
      },
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('end', () => decoder.end());
    socket.on('error', () => {}); // a reset is a close like any other here
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.#isClosed = true;
        this.#wake();
        resolve();
      }),
    );
  }

  static async connect(host: string, port: number, timeoutMs = 5_000): Promise<ProbeClient> {
    return new ProbeClient(await connectTcp(host, port, timeoutMs));
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** True once this client sent a FEATURES key: only then may the server use extension keys with it. */
  get sentFeatures(): boolean {
    return this.#sentFeatures;
  }

  /** Sends an object as one frame of UTF-8 JSON (raw UTF-8, or everything non-ASCII as \u escapes). */
  send(message: object, encoding: 'utf8' | 'ascii' = 'utf8'): void {
    if (Object.hasOwn(message, 'FEATURES')) this.#sentFeatures = true;
    this.sendPayload(encoding === 'ascii' ? stringifyAscii(message) : JSON.stringify(message));
  }

  /** Sends a payload framed with its true length (it may be invalid UTF-8 or JSON on purpose). */
  sendPayload(payload: Uint8Array | string): void {
    this.sendRaw(frameBytes(payload));
  }

  sendRaw(bytes: Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** Writes `bytes` as pieces of the given sizes (the rest as a last piece), pausing between writes. */
  async writeInPieces(bytes: Uint8Array, sizes: number[], gapMs: number): Promise<void> {
    let offset = 0;
    for (const size of [...sizes, bytes.length]) {
      if (offset >= bytes.length) break;
      if (this.#isClosed)
        throw new Error(`connection closed after ${offset} of ${bytes.length} bytes were written`);
      if (offset > 0) await this.#pause(gapMs);
      this.socket.write(bytes.subarray(offset, offset + size));
      offset += size;
    }
  }

  /** The next frame, or undefined once the connection is closed; rejects after `timeoutMs`. */
  async next(timeoutMs: number): Promise<WireFrame | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = this.#queue.shift();
      if (frame) return frame;
      if (this.#isClosed) return undefined;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`no frame within ${timeoutMs} ms`);
      await this.#arrival(remaining);
    }
  }

  /**
   * Skips frames until one satisfies `match` and returns it. Rejects, naming `what` and the frames it
   * skipped, if the connection closes or `timeoutMs` passes first.
   */
  async waitFor(what: string, match: (frame: WireFrame) => boolean, timeoutMs: number): Promise<WireFrame> {
    const deadline = Date.now() + timeoutMs;
    const skipped: WireFrame[] = [];
    for (;;) {
      let frame: WireFrame | undefined;
      try {
        frame = await this.next(Math.max(1, deadline - Date.now()));
      } catch {
        throw new Error(`no frame with ${what} within ${timeoutMs} ms${this.#describeSkipped(skipped)}`);
      }
      if (!frame)
        throw new Error(
          `the server closed the connection while we waited for ${what}${this.#describeSkipped(skipped)}`,
        );
      if (match(frame)) return frame;
      skipped.push(frame);
    }
  }

  /**
   * Fails as soon as a frame satisfying `match` is waiting or arrives within `ms` (or until the
   * connection closes); other frames are left queued for later waits.
   */
  async expectNone(what: string, match: (frame: WireFrame) => boolean, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.#queue.find(match);
      if (hit) throw new Error(`${what}: ${previewFrame(hit)}`);
      const remaining = deadline - Date.now();
      if (remaining <= 0 || this.#isClosed) return; // closed: nothing more can arrive
      await this.#arrival(remaining);
    }
  }

  /** Resolves true if the connection is closed (by either side) within `timeoutMs`. */
  async waitClosed(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#isClosed && Date.now() < deadline) await this.#arrival(deadline - Date.now());
    return this.#isClosed;
  }

  /** Half-closes politely (FIN): what a client that leaves does. */
  close(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  #onPayload(payload: Buffer): void {
    let frame: WireFrame;
    try {
      frame = decodePayload(payload);
    } catch (error) {
      const why = isProtocolError(error) ? error.code : String(error);
      this.problems.push(
        `server sent a frame that is not a UTF-8 JSON object (${why}): ${previewFrame(payload.toString('latin1'))}`,
      );
      return;
    }
    this.received.push(frame);
    this.#queue.push(frame);
    this.#wake();
  }

  /** Resolves when a frame arrives, the connection closes, or `ms` passes, whichever is first. */
  #arrival(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wakers.add(done);
    });
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  #wake(): void {
    for (const waker of [...this.#wakers]) waker();
  }

  #describeSkipped(skipped: WireFrame[]): string {
    if (skipped.length === 0) return ' (nothing else arrived)';
    const shown = skipped.slice(-DIAGNOSTIC_FRAMES).map(previewFrame).join(', ');
    return ` (skipped ${skipped.length} other frame(s)${skipped.length > DIAGNOSTIC_FRAMES ? ', last ones' : ''}: ${shown})`;
  }
}
