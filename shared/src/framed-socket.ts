import type net from 'node:net';
import type { Connection } from './connection.ts';
import { ProtocolError } from './error-codes.ts';
import { FrameDecoder } from './frame-decoder.ts';
import { FRAME_TIMEOUT_MS, MAX_FRAME_BYTES, MAX_QUEUED_BYTES, SLOW_CONSUMER_GRACE_MS } from './limits.ts';

export interface RateLimit {
  /** Frames accepted back to back before the limit bites. */
  burst: number;
  /** Sustained frames per second after the burst. */
  perSecond: number;
}

export interface FramedSocketOptions {
  maxFrameBytes?: number;
  frameTimeoutMs?: number;
  /** Bytes queued for a peer that is not reading; past it the connection is dropped (slow consumer). */
  maxQueuedBytes?: number;
  /**
   * How long a dropped slow consumer has to read the frames already on their way and the farewell
   * after them before the socket is destroyed (default SLOW_CONSUMER_GRACE_MS).
   */
  slowConsumerGraceMs?: number;
  /** Frames per connection; excess frames are delayed (the socket is paused), never dropped. */
  rateLimit?: RateLimit | null;
  /** Builds the last frame sent to the peer before closing on a fatal error (servers say ERROR). */
  farewell?: (error: ProtocolError) => Buffer | undefined;
  onFrame: (payload: Buffer) => void;
  /** Called once when the connection is gone; `error` says why when it was not a clean goodbye. */
  onClose: (error?: Error) => void;
  /** Called when a flood starts to be delayed (once per episode). */
  onRateLimited?: () => void;
  /**
   * The peer finished sending (it half-closed) and all its frames have reached onFrame (frames the rate
   * limiter held included). Without this option the connection is closed then (after what is queued
   * is sent); with it the owner closes when its own answers are out. Servers pass
   * it and listen with `allowHalfOpen: true`, so a client may send, half-close, and still be answered.
   */
  onPeerEnd?: () => void;
}

const CLOSE_GRACE_MS = 2_000;

// Flushing once per event-loop turn: frames sent to a socket during one turn leave in one write.
const dirty = new Set<FramedSocket>();
let flushScheduled = false;
function scheduleFlush(socket: FramedSocket): void {
  dirty.add(socket);
  if (flushScheduled) return;
  flushScheduled = true;
  setImmediate(() => {
    flushScheduled = false;
    for (const each of dirty) each.flush();
    dirty.clear();
  });
}

/**
 * A TCP socket speaking frames: the transport adapter every stage uses. It owns the per-connection
 * limits of ../RELIABILITY.md: frame size and completion deadline (via FrameDecoder), the send-queue
 * cap with write coalescing, and per-frame rate limiting by pausing the socket ("fakelag").
 */
export class FramedSocket implements Connection {
  readonly socket: net.Socket;
  readonly remote: string;
  readonly remoteAddress: string;
  /** A TLS socket (tls.TLSSocket is a net.Socket with `encrypted` set). */
  readonly isSecure: boolean;
  readonly #options: FramedSocketOptions;
  readonly #decoder: FrameDecoder;
  readonly #frameTimeoutMs: number;
  readonly #maxQueuedBytes: number;
  readonly #slowConsumerGraceMs: number;
  #frameTimer: NodeJS.Timeout | undefined;
  /** Which frame (decoder.framesStarted) is open, and since when. */
  #openFrame = 0;
  #openFrameSince = 0;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #pendingReceipts: (() => void)[] = [];
  #closing = false;
  #closed = false;
  #closeError: Error | undefined;
  // rate limiting
  #tokens: number;
  #refilledAt = Date.now();
  #held: Buffer[] = [];
  /** Reading stopped by the owner (hold()). */
  #isHeld = false;
  /** The peer half-closed (its 'end' arrived). */
  #peerEnded = false;
  #holdTimer: NodeJS.Timeout | undefined;

  constructor(socket: net.Socket, options: FramedSocketOptions) {
    this.socket = socket;
    this.#options = options;
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.isSecure = (socket as { encrypted?: boolean }).encrypted === true;
    this.#frameTimeoutMs = options.frameTimeoutMs ?? FRAME_TIMEOUT_MS;
    this.#maxQueuedBytes = options.maxQueuedBytes ?? MAX_QUEUED_BYTES;
    this.#slowConsumerGraceMs = options.slowConsumerGraceMs ?? SLOW_CONSUMER_GRACE_MS;
    this.#tokens = options.rateLimit?.burst ?? 0;
    this.#decoder = new FrameDecoder({
      maxFrameBytes: options.maxFrameBytes ?? MAX_FRAME_BYTES,
      onFrame: (payload) => this.#accept(payload),
      onError: (error) => this.fail(error),
    });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => {
      this.#decoder.end(); // a partial frame is an ERR_TRUNCATED failure, which closes
      this.#peerEnded = true;
      if (this.#held.length === 0) this.#onPeerEnd(); // else once the rate limiter lets the last frame go
    });
    socket.on('error', (error) => {
      this.#closeError ??= error;
    });
    socket.on('close', () => this.#onClosed());
  }

  get isOpen(): boolean {
    return !this.#closing && !this.#closed;
  }

  /** Bytes waiting for this peer (ours plus Node's), what the slow-consumer cap measures. */
  get queuedBytes(): number {
    return this.#pendingBytes + this.socket.writableLength;
  }

  /**
   * Queues one frame. False when the connection is closed or was just dropped for being too slow.
   * `onUndelivered` runs if the frame never reaches the kernel (the peer left, the socket failed, or
   * the frame was still queued here when the peer was dropped as a slow consumer).
   */
  send(frame: Buffer, onUndelivered?: () => void): boolean {
    if (!this.isOpen) return false;
    if (this.queuedBytes + frame.length > this.#maxQueuedBytes) {
      this.#dropSlowConsumer();
      return false;
    }
    this.#pending.push(frame);
    this.#pendingBytes += frame.length;
    if (onUndelivered) this.#pendingReceipts.push(onUndelivered);
    scheduleFlush(this);
    return true;
  }

  /** Writes what is queued in one go (called once per event-loop turn). */
  flush(): void {
    if (this.#pending.length === 0 || this.socket.destroyed) return;
    const frames = this.#pending;
    const receipts = this.#pendingReceipts;
    this.#pending = [];
    this.#pendingReceipts = [];
    this.#pendingBytes = 0;
    // One write of one buffer: measured cheaper per frame than cork + writes + uncork (writev),
    // whose per-chunk stream bookkeeping costs more than the copy (stage 3 bench/README.md).
    const bytes = frames.length === 1 ? frames[0] : Buffer.concat(frames);
    this.socket.write(bytes, (error) => {
      // Node 20 may report success for a write cut short by destroy(): count that as undelivered too.
      if (error || this.socket.destroyed) for (const receipt of receipts) receipt();
    });
  }

  /**
   * Says goodbye: delivers no more frames, sends what is queued (and `last`), then ends the
   * connection; destroys it if the peer has not let go after a grace of 2 s.
   */
  close(last?: Buffer): void {
    this.#close(last, CLOSE_GRACE_MS);
  }

  #close(last: Buffer | undefined, graceMs: number): void {
    if (!this.isOpen) return;
    this.#closing = true;
    this.#stopTimers();
    if (last) {
      this.#pending.push(last);
      this.#pendingBytes += last.length;
    }
    this.flush();
    this.socket.end();
    // A lingering close (nginx's lingering_close): keep reading, and discard (#onData), so that the
    // peer's FIN is seen and the socket closes as soon as the peer has read everything, and so that
    // bytes it sent meanwhile do not sit unread, which makes the kernel answer a close with a reset
    // that throws away what the peer has not read yet.
    this.socket.resume();
    // A peer that never reads would keep the socket half-closed forever.
    const grace = setTimeout(() => this.socket.destroy(), graceMs);
    grace.unref();
    this.socket.once('close', () => clearTimeout(grace));
    // For the application the connection is over now, not when the peer finally lets go.
    this.#finish();
  }

  /**
   * The send-queue cap was hit. Frames still in #pending are discarded (their receipts say
   * undelivered); what Node already holds are whole frames (each write is whole frames), so the
   * farewell ERROR can follow them, and the peer gets the longer grace to read it all.
   */
  #dropSlowConsumer(): void {
    const error = new ProtocolError('ERR_SLOW_CONSUMER', `over ${this.#maxQueuedBytes} bytes queued`);
    this.#closeError ??= error;
    const receipts = this.#pendingReceipts;
    this.#pending = [];
    this.#pendingReceipts = [];
    this.#pendingBytes = 0;
    this.#close(this.#options.farewell?.(error), this.#slowConsumerGraceMs);
    for (const receipt of receipts) receipt();
  }

  /** A fatal error: tell the peer (farewell frame), then close. */
  fail(error: ProtocolError): void {
    if (!this.isOpen) return;
    this.#closeError ??= error;
    this.close(this.#options.farewell?.(error));
  }

  destroy(error?: Error): void {
    if (error) this.#closeError ??= error;
    this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    if (this.#closing) return;
    this.#decoder.push(chunk);
    if (this.#decoder.isMidFrame && this.#decoder.framesStarted !== this.#openFrame) {
      // A new frame began in this chunk: its own clock starts now.
      this.#openFrame = this.#decoder.framesStarted;
      this.#openFrameSince = Date.now();
    }
    this.#armFrameTimer();
  }

  /** One timer at a time, due when the open frame's deadline passes. */
  #armFrameTimer(): void {
    if (this.#frameTimer || !this.#decoder.isMidFrame || this.#closing) return;
    const delay = Math.max(1, this.#openFrameSince + this.#frameTimeoutMs - Date.now());
    this.#frameTimer = setTimeout(() => {
      this.#frameTimer = undefined;
      if (!this.#decoder.isMidFrame || this.#closing) return;
      if (this.#held.length > 0 || this.#isHeld) {
        this.#openFrameSince = Date.now(); // we paused the socket ourselves: not the peer's fault
      } else if (Date.now() >= this.#openFrameSince + this.#frameTimeoutMs) {
        this.fail(new ProtocolError('ERR_FRAME_TIMEOUT', `after ${this.#frameTimeoutMs} ms`));
        return;
      }
      this.#armFrameTimer();
    }, delay);
    this.#frameTimer.unref();
  }

  #accept(payload: Buffer): void {
    if (!this.isOpen) return; // closed by an earlier frame of the same chunk: deliver nothing more
    const limit = this.#options.rateLimit;
    if (!limit) {
      this.#options.onFrame(payload);
      return;
    }
    if (this.#held.length === 0 && this.#takeToken(limit)) {
      this.#options.onFrame(payload);
      return;
    }
    if (this.#held.length === 0) this.#options.onRateLimited?.();
    this.#held.push(payload);
    this.#updateFlow();
    this.#scheduleRelease(limit);
  }

  /**
   * Stops (or restarts) reading for the owner's reasons, e.g. while a worker still has many of this
   * connection's frames to handle. Independent of the rate limiter's own pausing.
   */
  hold(isHeld: boolean): void {
    this.#isHeld = isHeld;
    this.#updateFlow();
  }

  #updateFlow(): void {
    if (!this.isOpen) return;
    if (this.#isHeld || this.#held.length > 0) this.socket.pause();
    else this.socket.resume();
  }

  #takeToken(limit: RateLimit): boolean {
    const now = Date.now();
    this.#tokens = Math.min(limit.burst, this.#tokens + ((now - this.#refilledAt) * limit.perSecond) / 1000);
    this.#refilledAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  #scheduleRelease(limit: RateLimit): void {
    if (this.#holdTimer) return;
    const waitMs = Math.max(1, Math.ceil(((1 - this.#tokens) * 1000) / limit.perSecond));
    this.#holdTimer = setTimeout(() => {
      this.#holdTimer = undefined;
      while (this.#held.length > 0 && this.isOpen && this.#takeToken(limit)) {
        this.#options.onFrame(this.#held.shift()!);
      }
      if (!this.isOpen) return;
      if (this.#held.length > 0) this.#scheduleRelease(limit);
      else if (this.#peerEnded) this.#onPeerEnd();
      else this.#updateFlow();
    }, waitMs);
  }

  /** The peer sent its last frame and every one of them has been delivered to onFrame. */
  #onPeerEnd(): void {
    if (!this.isOpen) return;
    if (this.#options.onPeerEnd) this.#options.onPeerEnd();
    else this.close();
  }

  #stopTimers(): void {
    clearTimeout(this.#frameTimer);
    clearTimeout(this.#holdTimer);
    this.#frameTimer = undefined;
    this.#holdTimer = undefined;
    this.#held = [];
  }

  #onClosed(): void {
    this.#closing = true;
    this.#stopTimers();
    dirty.delete(this);
    const receipts = this.#pendingReceipts;
    this.#pending = [];
    this.#pendingReceipts = [];
    this.#pendingBytes = 0;
    for (const receipt of receipts) receipt();
    this.#finish();
  }

  /** Reports the end of the connection, once. */
  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#options.onClose(this.#closeError);
  }
}
