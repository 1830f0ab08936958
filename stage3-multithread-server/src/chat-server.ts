import net from 'node:net';
import os from 'node:os';
import {
  FRAME_TIMEOUT_MS,
  FramedSocket,
  LOGIN_TIMEOUT_MS,
  type Connection,
  type ConnectionEvents,
  MAX_FRAME_BYTES,
  MAX_QUEUED_BYTES,
  ProtocolError,
  RATE_BURST_FRAMES,
  RATE_FRAMES_PER_SECOND,
  DEFAULT_PROTOCOL_LIMITS,
  encodeFrame,
  encodeFrameText,
  errorFrame,
  formatAddress,
  isProtocolError,
  listenTcp,
  type ProtocolLimits,
  type RateLimit,
} from '#shared';
import { registerRoom } from './features/room.ts';
import { Hub, type HubOptions, type Outbox } from './hub.ts';
import { InlineSessionHost, type SessionHost, type SessionHostEvents } from './session-host.ts';
import type { ConnId, HubReply, SessionIntent, SessionOptions } from './thread-messages.ts';
import { WorkerPool } from './worker-pool.ts';

/** Frames of one connection waiting for its session's worker before the server stops reading it. */
export const MAX_FRAMES_IN_FLIGHT = 32;

export interface ChatServerOptions {
  /** Worker threads for sessions; 0 runs them on the main thread. Default: the number of cores. */
  workers?: number;
  /** Features registered on the Hub; default: stage 3's room (everything to ALL). */
  features?: ((hub: Hub) => void)[];
  /** Name used in the server window and the welcome INFO. */
  title?: string;
  log?: (line: string) => void;
  maxConnections?: number;
  maxFrameBytes?: number;
  frameTimeoutMs?: number;
  loginTimeoutMs?: number;
  maxQueuedBytes?: number;
  /** null turns rate limiting off (benchmarks). */
  rateLimit?: RateLimit | null;
  protocolLimits?: Partial<ProtocolLimits>;
  maxHistory?: number;
  /** More Hub options (stage 5: presence batching). */
  hub?: Partial<Pick<HubOptions, 'presenceBatchMs' | 'maxHistoryStoredBytes' | 'maxHistoryBytes'>>;
  /** `/burn <ms>` and `/crash` contents, for tests and the demo only. */
  faultCommands?: boolean;
  now?: () => number;
}

/** What a socket transport (TCP, TLS) needs to frame its connections. */
export interface SocketLimits {
  maxFrameBytes: number;
  frameTimeoutMs: number;
  maxQueuedBytes: number;
  rateLimit: RateLimit | null;
}

export interface ChatServer {
  /** Listens on TCP (the base protocol's transport). */
  listen(host: string, port: number): Promise<net.AddressInfo>;
  /**
   * Attaches a connection from any transport: `open` builds it around the core's events. False when
   * the server is full (nothing attached: the transport refuses the peer its own way).
   */
  attach(open: (events: ConnectionEvents) => Connection): boolean;
  /** Wraps an accepted socket (plain or TLS) as a framed connection; refuses it when full. */
  attachSocket(socket: net.Socket): void;
  readonly socketLimits: SocketLimits;
  /** Stops listening, tells every connection (ERR_SERVER_SHUTDOWN), stops the sessions. */
  close(): Promise<void>;
  readonly hub: Hub;
  /** How many connections are open (logged in or not). */
  readonly connectionCount: number;
  /** Where a connection's session runs ("worker 1 (thread 3)" or "main thread"). */
  placeOf(conn: ConnId): string;
}

/**
 * Builds (does not start) the concurrent chat server: the main thread accepts and does all socket
 * I/O (libuv's epoll), sessions run on worker threads, and the Hub, the one owner of shared state,
 * runs on the main thread. Stage 4 builds its server with this and its own features.
 */
export function createChatServer(options: ChatServerOptions = {}): ChatServer {
  const title = options.title ?? 'Msg stage 3 chat server';
  const log = options.log ?? ((line: string) => console.log(line));
  const workerCount = options.workers ?? os.availableParallelism();
  const loginTimeoutMs = options.loginTimeoutMs ?? LOGIN_TIMEOUT_MS;
  const maxConnections = options.maxConnections ?? 10_000;
  const sockets = new Map<ConnId, Connection>();
  const loginTimers = new Map<ConnId, NodeJS.Timeout>();
  let nextConn = 1;

  const outbox: Outbox = {
    send: (conn, frame, onUndelivered) => sockets.get(conn)?.send(frame, onUndelivered) ?? false,
    close: (conn, frame) => sockets.get(conn)?.close(frame),
  };
  const hub = new Hub({
    outbox,
    welcome: `Welcome to ${title}`,
    log,
    maxHistory: options.maxHistory,
    now: options.now,
    ...options.hub,
  });
  for (const register of options.features ?? [registerRoom]) register(hub);

  /** An ERROR frame for a connection, with CODE where its user asked for it. */
  const errorFrameFor = (conn: ConnId, error: ProtocolError): Buffer =>
    encodeFrame(errorFrame(error, hub.userByConn(conn)?.features.has('CODE') ?? false));

  const onIntent = (conn: ConnId, intent: SessionIntent): void => {
    try {
      handleIntent(conn, intent);
    } catch (error) {
      // A bug in a feature must cost one answer, not the process and everyone's connection.
      log(`#${conn} ${intent.kind} failed: ${(error as Error).stack ?? String(error)}`);
      sockets
        .get(conn)
        ?.send(errorFrameFor(conn, new ProtocolError('ERR_INTERNAL', `${intent.kind} could not be handled`)));
    }
  };

  const handleIntent = (conn: ConnId, intent: SessionIntent): void => {
    switch (intent.kind) {
      case 'reply':
        sockets.get(conn)?.send(encodeFrameText(intent.json));
        break;
      case 'login': {
        const connection = sockets.get(conn);
        if (!connection?.isOpen) return;
        const peer = { address: connection.remoteAddress, isSecure: connection.isSecure };
        const reply = hub.requestLogin(conn, intent.name, intent.features, intent.credentials, peer);
        if (reply instanceof Promise) void reply.then((settled) => answerLogin(conn, settled));
        else answerLogin(conn, reply);
        break;
      }
      default:
        hub.dispatch(conn, intent);
    }
  };

  const answerLogin = (conn: ConnId, reply: HubReply): void => {
    if (!sockets.has(conn)) return; // gone while a login gate decided
    if (reply.kind === 'login-accepted') {
      clearTimeout(loginTimers.get(conn));
      loginTimers.delete(conn);
    }
    host.hubReply(conn, reply);
  };

  const sessionOptions: SessionOptions = {
    limits: { ...DEFAULT_PROTOCOL_LIMITS, ...options.protocolLimits },
    faultCommands: options.faultCommands ?? false,
  };
  const peerEnded = new Set<ConnId>();
  const events: SessionHostEvents = {
    onIntent,
    onLost: (conns, error) => {
      log(`session failure (${error.message}): closing ${conns.length} connection(s)`);
      for (const conn of conns) sockets.get(conn)?.fail(new ProtocolError('ERR_WORKER_CRASHED'));
    },
    onDrained: (conn) => {
      const framed = sockets.get(conn);
      if (!framed) return;
      framed.hold(false);
      if (peerEnded.has(conn)) framed.close(); // every answer to a half-closed peer is now queued
    },
  };
  const host: SessionHost =
    workerCount > 0
      ? new WorkerPool(workerCount, sessionOptions, events, log)
      : new InlineSessionHost(sessionOptions, events);

  const socketLimits: SocketLimits = {
    maxFrameBytes: options.maxFrameBytes ?? MAX_FRAME_BYTES,
    frameTimeoutMs: options.frameTimeoutMs ?? FRAME_TIMEOUT_MS,
    maxQueuedBytes: options.maxQueuedBytes ?? MAX_QUEUED_BYTES,
    rateLimit:
      options.rateLimit === undefined
        ? { burst: RATE_BURST_FRAMES, perSecond: RATE_FRAMES_PER_SECOND }
        : options.rateLimit,
  };

  const attach = (open: (events: ConnectionEvents) => Connection): boolean => {
    if (sockets.size >= maxConnections) return false;
    const conn = nextConn++;
    const connection: Connection = open({
      farewell: (error) => errorFrameFor(conn, error),
      onFrame: (payload) => {
        host.frame(conn, payload);
        // Bound what waits for a busy worker: stop reading this peer until its frames are handled.
        if (host.framesInFlight(conn) >= MAX_FRAMES_IN_FLIGHT) connection.hold(true);
      },
      onRateLimited: () =>
        connection.send(
          errorFrameFor(conn, new ProtocolError('ERR_RATE_LIMITED', 'your frames are being delayed')),
        ),
      onPeerEnd: () => {
        if (host.framesInFlight(conn) === 0) connection.close();
        else peerEnded.add(conn);
      },
      onClose: (error) => {
        sockets.delete(conn);
        peerEnded.delete(conn);
        clearTimeout(loginTimers.get(conn));
        loginTimers.delete(conn);
        const name = hub.userByConn(conn)?.name;
        host.close(conn);
        hub.disconnect(conn);
        const why = isProtocolError(error) ? error.code : error?.message;
        log(`#${conn} ${connection.remote}${name ? ` (${name})` : ''} disconnected${why ? `: ${why}` : ''}`);
      },
    });
    sockets.set(conn, connection);
    host.open(conn);
    log(`#${conn} ${connection.remote} connected, session on ${host.placeOf(conn)}`);
    const timer = setTimeout(() => {
      loginTimers.delete(conn);
      if (!hub.userByConn(conn))
        connection.fail(new ProtocolError('ERR_LOGIN_TIMEOUT', `after ${loginTimeoutMs} ms`));
    }, loginTimeoutMs);
    loginTimers.set(conn, timer);
    return true;
  };

  const attachSocket = (socket: net.Socket): void => {
    if (attach((events) => new FramedSocket(socket, { ...socketLimits, ...events }))) return;
    socket.on('error', () => {}); // a reset from a refused client is no reason to crash
    socket.end(encodeFrame(errorFrame(new ProtocolError('ERR_SERVER_FULL'), false)));
    const timer = setTimeout(() => socket.destroy(), 1_000);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  };

  // allowHalfOpen: a client may send, shut down its side, and still read the answers (onPeerEnd).
  const server = net.createServer({ allowHalfOpen: true }, attachSocket);
  // Past our own cap (answered with ERR_SERVER_FULL above), Node closes new connections unanswered.
  server.maxConnections = maxConnections + 64;

  return {
    hub,
    attach,
    attachSocket,
    socketLimits,
    get connectionCount() {
      return sockets.size;
    },
    placeOf: (conn) => host.placeOf(conn),
    async listen(host_, port) {
      await host.ready();
      const address = await listenTcp(server, host_, port);
      const mode = workerCount > 0 ? `${workerCount} worker thread(s)` : 'sessions inline on the main thread';
      log(`${title} listening on ${formatAddress(address.address, address.port)} (${mode})`);
      return address;
    },
    async close() {
      const closed = new Promise<void>((resolve) => {
        if (server.listening) server.close(() => resolve());
        else resolve();
      });
      for (const connection of sockets.values()) connection.fail(new ProtocolError('ERR_SERVER_SHUTDOWN'));
      await closed;
      for (const timer of loginTimers.values()) clearTimeout(timer);
      await host.shutdown();
    },
  };
}
