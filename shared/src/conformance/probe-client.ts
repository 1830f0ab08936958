import type net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectTcp } from '../net-address.ts';
import { stringifyAscii } from '../payload-codec.ts';
import { FrameClient } from '../test-kit/frame-client.ts';
import { tolerateDeviations, type Deviation } from './tolerate-deviations.ts';

/** A JSON object as a server sent it: the kit assumes nothing about its keys or their types. */
export type WireFrame = Record<string, unknown>;

const PREVIEW_CHARS = 160;
const DIAGNOSTIC_FRAMES = 5;

/** One frame, shortened for an error message. */
export function previewFrame(frame: unknown): string {
  const text = JSON.stringify(frame) ?? String(frame);
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}...(${text.length} chars)` : text;
}

/**
 * The conformance kit's client: FrameClient (which never throws from a socket listener: a frame that
 * is not a UTF-8 JSON object, or a broken header, ends the connection and is kept as its
 * `framingError`), plus what the kit needs on top. Every frame received stays in `received` for
 * checks made after a scenario, what the server broke is listed in `problems` (the runner turns it
 * into a failure), waits skip unrelated frames (a live server has other users) and name what they
 * skipped when they time out, and the client knows whether it ever sent FEATURES.
 */
export class ProbeClient extends FrameClient<WireFrame> {
  /** Every well-formed frame from the server, in arrival order (waits do not remove from it). */
  readonly received: WireFrame[] = [];
  /** What the server deviated in (tolerated: the frames in `received` are already read past it). */
  readonly deviations: Deviation[] = [];
  /** The bytes of the last write, and when it was made (performance.now()), for the report. */
  lastSent: { bytes: Uint8Array; at: number; pieces: number } | undefined;
  #sentFeatures = false;

  private constructor(socket: net.Socket) {
    super(socket);
    socket.setNoDelay(true); // split writes (writeInPieces) must leave as separate segments
  }

  static override async connect(host: string, port: number, timeoutMs = 5_000): Promise<ProbeClient> {
    return new ProbeClient(await connectTcp(host, port, timeoutMs));
  }

  /** What the server sent that was not a frame holding a JSON object. */
  get problems(): string[] {
    return this.framingError ? [this.framingError.message] : [];
  }

  /** True once this client sent a FEATURES key: only then may the server use extension keys with it. */
  get sentFeatures(): boolean {
    return this.#sentFeatures;
  }

  /** Sends an object as one frame of UTF-8 JSON (raw UTF-8, or everything non-ASCII as \u escapes). */
  override send(message: object, encoding: 'utf8' | 'ascii' = 'utf8'): void {
    if (Object.hasOwn(message, 'FEATURES')) this.#sentFeatures = true;
    this.sendPayload(encoding === 'ascii' ? stringifyAscii(message) : JSON.stringify(message));
  }

  /** Writes bytes as they are, remembering them as the last thing this client sent. */
  override sendRaw(bytes: Uint8Array): void {
    if (!this.socket.destroyed) this.lastSent = { bytes, at: performance.now(), pieces: 1 };
    super.sendRaw(bytes);
  }

  /** Writes `bytes` as pieces of the given sizes (the rest as a last piece), pausing between writes. */
  async writeInPieces(bytes: Uint8Array, sizes: number[], gapMs: number): Promise<void> {
    this.lastSent = { bytes, at: performance.now(), pieces: sizes.length + 1 };
    let offset = 0;
    for (const size of [...sizes, bytes.length]) {
      if (offset >= bytes.length) break;
      if (this.isClosed)
        throw new Error(`connection closed after ${offset} of ${bytes.length} bytes were written`);
      if (offset > 0) await sleep(gapMs);
      this.socket.write(bytes.subarray(offset, offset + size));
      offset += size;
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
        throw new Error(`no frame with ${what} within ${timeoutMs} ms${describeSkipped(skipped)}`);
      }
      if (!frame)
        throw new Error(
          `the server closed the connection while we waited for ${what}${describeSkipped(skipped)}`,
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
      const hit = this.buffered.find(match);
      if (hit) throw new Error(`${what}: ${previewFrame(hit)}`);
      const remaining = deadline - Date.now();
      if (remaining <= 0 || this.isClosed) return; // closed: nothing more can arrive
      await this.arrival(remaining);
    }
  }

  protected override onFrameReceived(frame: WireFrame): void {
    this.deviations.push(...tolerateDeviations(frame));
    this.received.push(frame);
  }
}

const SENT_PREVIEW_CHARS = 200;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * What a write held, for a reader of the report: the frame's JSON as sent, how many bytes N said and
 * how many characters it is (the two differ for raw UTF-8: a server that counts characters
 * desynchronises there), or the bytes in hex when they are not a whole frame of UTF-8.
 */
export function describeSent(sent: { bytes: Uint8Array; pieces: number }): string {
  const bytes = Buffer.from(sent.bytes);
  const how = sent.pieces > 1 ? `, written in ${sent.pieces} pieces` : '';
  if (bytes.length < 4) return `${bytes.length} byte(s) ${bytes.toString('hex')}${how}`;
  const length = bytes.readUInt32BE(0);
  const body = bytes.subarray(4, 4 + length);
  const frames =
    body.length === length && bytes.length > 4 + length ? ' (the first of several frames in one write)' : '';
  if (body.length < length) {
    return `a header announcing ${length} bytes, then only ${body.length} of them${how}: ${shorten(body.toString('latin1'))}`;
  }
  let text: string;
  try {
    text = strictUtf8.decode(body);
  } catch {
    return `a frame of ${length} bytes that are not valid UTF-8${how}${frames}: ${body.subarray(0, 64).toString('hex')}`;
  }
  const chars = [...text].length; // code points, as a server that counts characters would
  const counted = chars === length ? '' : ` = ${chars} characters: raw UTF-8`;
  return `a frame of N = ${length} bytes${counted}${how}${frames}: ${shorten(text)}`;
}

function shorten(text: string): string {
  return text.length > SENT_PREVIEW_CHARS ? `${text.slice(0, SENT_PREVIEW_CHARS)}...` : text;
}

function describeSkipped(skipped: WireFrame[]): string {
  if (skipped.length === 0) return ' (nothing else arrived)';
  const shown = skipped.slice(-DIAGNOSTIC_FRAMES).map(previewFrame).join(', ');
  return ` (skipped ${skipped.length} other frame(s)${skipped.length > DIAGNOSTIC_FRAMES ? ', last ones' : ''}: ${shown})`;
}
