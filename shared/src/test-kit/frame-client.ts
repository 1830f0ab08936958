import type net from 'node:net';
import { FrameDecoder } from '../frame-decoder.ts';
import { connectTcp } from '../net-address.ts';
import { decodePayload, encodeFrame, frameBytes } from '../payload-codec.ts';
import type { ServerFrame } from '../protocol.ts';

const DEFAULT_WAIT_MS = 5_000;

/**
 * A byte-level protocol client for tests, probes and the conformance kit: it sends exact bytes
 * (valid or hostile) and reads the server's frames one by one, over a real socket.
 */
export class FrameClient {
  readonly socket: net.Socket;
  readonly #frames: ServerFrame[] = [];
  readonly #waiters: ((frame: ServerFrame | undefined) => void)[] = [];
  #ended = false;
  #framingError: Error | undefined;
  readonly closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    const decoder = new FrameDecoder({
      maxFrameBytes: 64 * 1024 * 1024,
      onFrame: (payload) => {
        try {
          this.#deliver(decodePayload(payload) as ServerFrame);
        } catch (error) {
          // A server that sends a non-object frame has broken the protocol: end this client loudly.
          this.#framingError = error as Error;
          socket.destroy();
        }
      },
      onError: (error) => {
        this.#framingError = error;
        socket.destroy();
      },
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.#ended = true;
        for (const waiter of this.#waiters.splice(0)) waiter(undefined);
        resolve();
      }),
    );
  }

  static async connect(host: string, port: number): Promise<FrameClient> {
    return new FrameClient(await connectTcp(host, port));
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

  /** Frames received and not yet taken. */
  get buffered(): readonly ServerFrame[] {
    return this.#frames;
  }

  send(message: object): void {
    this.socket.write(encodeFrame(message));
  }

  /** Sends a payload framed with its true length (it may be invalid UTF-8 or JSON on purpose). */
  sendPayload(payload: Uint8Array | string): void {
    this.socket.write(frameBytes(payload));
  }

  sendRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** The next frame, or undefined if the connection closes first; rejects after `timeoutMs`. */
  next(timeoutMs = DEFAULT_WAIT_MS): Promise<ServerFrame | undefined> {
    const frame = this.#frames.shift();
    if (frame) return Promise.resolve(frame);
    if (this.#ended) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      const waiter = (value: ServerFrame | undefined) => {
        clearTimeout(timer);
        resolve(value);
      };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(
          new Error(
            `no frame within ${timeoutMs} ms${this.#framingError ? ` (${this.#framingError.message})` : ''}`,
          ),
        );
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  /** Skips frames until one satisfies `match`; rejects if the connection closes or time runs out. */
  async nextMatching(
    match: (frame: ServerFrame) => boolean,
    timeoutMs = DEFAULT_WAIT_MS,
  ): Promise<ServerFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = await this.next(Math.max(1, deadline - Date.now()));
      if (!frame) throw new Error('connection closed while waiting for a matching frame');
      if (match(frame)) return frame;
    }
  }

  /** Resolves true if the server closes the connection within `timeoutMs`. */
  async waitClosed(timeoutMs = DEFAULT_WAIT_MS): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const result = await Promise.race([this.closed.then(() => true), timeout]);
    clearTimeout(timer);
    return result;
  }

  /** Resolves with no frame if none arrives within `ms` (to show that nothing was delivered). */
  async expectSilence(ms: number): Promise<ServerFrame | undefined> {
    try {
      return await this.next(ms);
    } catch {
      return undefined;
    }
  }

  close(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  #deliver(frame: ServerFrame): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(frame);
    else this.#frames.push(frame);
  }
}
