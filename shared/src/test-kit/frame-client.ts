import type net from 'node:net';
import { isProtocolError } from '../error-codes.ts';
import { FrameDecoder } from '../frame-decoder.ts';
import { connectTcp } from '../net-address.ts';
import { decodePayload, encodeFrame, frameBytes } from '../payload-codec.ts';
import type { ServerFrame } from '../protocol.ts';

const DEFAULT_WAIT_MS = 5_000;
/** Frames from a server may be large (a long history); this only guards the client's memory. */
const MAX_RECEIVED_FRAME_BYTES = 64 * 1024 * 1024;
const PREVIEW_CHARS = 160;

/**
 * A byte-level protocol client for tests, probes and the conformance kit: it sends exact bytes
 * (valid or hostile) and reads the server's frames one by one, over a real socket.
 *
 * It never throws from a socket listener. A server that breaks the framing (a length over the
 * client's limit, a stream that ends inside a frame) or sends a frame that is not a UTF-8 JSON object
 * has broken the protocol: the client records why in `framingError` and destroys the socket, so
 * waits end (next() resolves undefined once the frames before it are taken).
 *
 * `F` is how frames are typed: ServerFrame for our own servers' tests; the conformance kit, which
 * assumes nothing about a foreign server's frames, reads them as plain records.
 */
export class FrameClient<F extends object = ServerFrame> {
  readonly socket: net.Socket;
  readonly #frames: F[] = [];
  /** Callbacks waiting for the next arrival (a frame or the close). */
  readonly #wakers = new Set<() => void>();
  #ended = false;
  #framingError: Error | undefined;
  readonly closed: Promise<void>;

  protected constructor(socket: net.Socket) {
    this.socket = socket;
    const decoder = new FrameDecoder({
      maxFrameBytes: MAX_RECEIVED_FRAME_BYTES,
      onFrame: (payload) => {
        if (this.#framingError) return; // the connection is being torn down
        let frame: F;
        try {
          frame = decodePayload(payload) as F;
        } catch (error) {
          const why = isProtocolError(error) ? error.code : String(error);
          this.#fail(
            new Error(
              `the server sent a frame that is not a UTF-8 JSON object (${why}): ${preview(payload.toString('latin1'))}`,
            ),
          );
          return;
        }
        this.onFrameReceived(frame);
        this.#frames.push(frame);
        this.#wake();
      },
      onError: (error) =>
        this.#fail(new Error(`the server sent a broken frame (${error.code}): ${error.message}`)),
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('end', () => decoder.end()); // a stream that ends inside a frame is broken too
    socket.on('error', () => {}); // a reset is a close like any other here
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.#ended = true;
        this.#wake();
        resolve();
      }),
    );
  }

  static async connect(host: string, port: number, timeoutMs?: number): Promise<FrameClient> {
    return new FrameClient(await connectTcp(host, port, timeoutMs));
  }

  /** Connects and logs in as `name` (with FEATURES if given); rejects if the name is refused. */
  static async loginAs(host: string, port: number, name: string, features?: string[]): Promise<FrameClient> {
    const client = await FrameClient.connect(host, port);
    client.send(features ? { USERNAME: name, FEATURES: features } : { USERNAME: name });
    const answer = await client.nextMatching((frame) => frame.USERNAME_ACCEPTED !== undefined);
    if (!answer.USERNAME_ACCEPTED) {
      client.destroy();
      throw new Error(`login of ${name} refused: ${answer.INFO}`);
    }
    return client;
  }

  get isClosed(): boolean {
    return this.#ended;
  }

  /** Why the client gave up on the server's stream (a broken or non-object frame), if it did. */
  get framingError(): Error | undefined {
    return this.#framingError;
  }

  /** Frames received and not yet taken. */
  get buffered(): readonly F[] {
    return this.#frames;
  }

  send(message: object): void {
    this.sendRaw(encodeFrame(message));
  }

  /** Sends a payload framed with its true length (it may be invalid UTF-8 or JSON on purpose). */
  sendPayload(payload: Uint8Array | string): void {
    this.sendRaw(frameBytes(payload));
  }

  /** Writes bytes as they are; nothing once the socket is destroyed. */
  sendRaw(bytes: Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** The next frame, or undefined if the connection closes first; rejects after `timeoutMs`. */
  async next(timeoutMs = DEFAULT_WAIT_MS): Promise<F | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = this.#frames.shift();
      if (frame) return frame;
      if (this.#ended) return undefined;
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        const why = this.#framingError ? ` (${this.#framingError.message})` : '';
        throw new Error(`no frame within ${timeoutMs} ms${why}`);
      }
      await this.arrival(remaining);
    }
  }

  /** Skips frames until one satisfies `match`; rejects if the connection closes or time runs out. */
  async nextMatching(match: (frame: F) => boolean, timeoutMs = DEFAULT_WAIT_MS): Promise<F> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = await this.next(Math.max(1, deadline - Date.now()));
      if (!frame) throw new Error('connection closed while waiting for a matching frame');
      if (match(frame)) return frame;
    }
  }

  /** Resolves true if the connection is closed (by either side) within `timeoutMs`. */
  async waitClosed(timeoutMs = DEFAULT_WAIT_MS): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#ended && Date.now() < deadline) await this.arrival(deadline - Date.now());
    return this.#ended;
  }

  /** Resolves with no frame if none arrives within `ms` (to show that nothing was delivered). */
  async expectSilence(ms: number): Promise<F | undefined> {
    try {
      return await this.next(ms);
    } catch {
      return undefined;
    }
  }

  /**
   * Resolves when a frame arrives, the connection closes, or `ms` passes, whichever is first; takes
   * nothing (for waits that look at `buffered` without consuming it).
   */
  arrival(ms: number): Promise<void> {
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

  /** Half-closes politely (FIN): what a client that leaves does. */
  close(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Called with every well-formed frame as it arrives, before any wait sees it (for subclasses). */
  protected onFrameReceived(_frame: F): void {}

  #fail(error: Error): void {
    this.#framingError ??= error;
    this.socket.destroy();
  }

  #wake(): void {
    for (const waker of [...this.#wakers]) waker();
  }
}

function preview(text: string): string {
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}...(${text.length} chars)` : text;
}
