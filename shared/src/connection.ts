import type { ProtocolError } from './error-codes.ts';

/**
 * One client connection as the server core sees it, whatever carries it: TCP and TLS (FramedSocket)
 * or a browser's socket.io socket. The core never touches a socket (ergo's IRCConn, socket.io's
 * transports): frames go out through send, come in through ConnectionEvents.onFrame.
 */
export interface Connection {
  /** `address:port` of the peer, for logs. */
  readonly remote: string;
  /** The peer's IP address alone (what throttling and address rules look at). */
  readonly remoteAddress: string;
  /** Encrypted on the wire (TLS, HTTPS). */
  readonly isSecure: boolean;
  readonly isOpen: boolean;
  /** Queues one whole frame (length prefix included); false once closed or dropped as too slow. */
  send(frame: Buffer, onUndelivered?: () => void): boolean;
  /** Sends what is queued (and `last`), then ends the connection. */
  close(last?: Buffer): void;
  /** A fatal error: the peer is told (the farewell frame), then the connection closes. */
  fail(error: ProtocolError): void;
  /** Stops (or restarts) reading from the peer, for the core's own flow control. */
  hold(isHeld: boolean): void;
}

/** What a transport reports to the core about one connection. */
export interface ConnectionEvents {
  /** One frame's payload (without its length prefix), in order, already rate limited. */
  onFrame(payload: Buffer): void;
  /** The peer started to be slowed down (once per episode). */
  onRateLimited(): void;
  /** The peer finished sending and every frame of it reached onFrame. */
  onPeerEnd(): void;
  /** The connection is gone; `error` says why when it was not a clean goodbye. */
  onClose(error?: Error): void;
  /** The last frame before closing on a fatal error (an ERROR). */
  farewell(error: ProtocolError): Buffer | undefined;
}
