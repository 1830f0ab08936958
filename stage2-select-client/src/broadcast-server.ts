import net from 'node:net';
import {
  DEST_ALL,
  ERROR_CODES,
  FramedSocket,
  MAX_FRAME_BYTES,
  ProtocolError,
  RATE_BURST_FRAMES,
  RATE_FRAMES_PER_SECOND,
  checkUsername,
  decodePayload,
  encodeFrame,
  encodeServerFrames,
  encodedMessageBytes,
  errorFrame,
  formatAddress,
  isProtocolError,
  listenTcp,
  parseClientFrame,
  sanitizeForTerminal,
  usernameKey,
  type ChatMessage,
  type ClientFrame,
  type RateLimit,
  type ServerFrame,
} from '#shared';

export interface BroadcastServerOptions {
  /** The "server window": one line per event. */
  log?: (line: string) => void;
  /** Frames per connection; null turns the limit off. */
  rateLimit?: RateLimit | null;
}

export interface BroadcastServer {
  listen(host: string, port: number): Promise<net.AddressInfo>;
  close(): Promise<void>;
}

/** Public messages replayed to each new user; also bounded in bytes so the login answer fits a frame. */
export const HISTORY_MESSAGES = 100;
const HISTORY_MAX_BYTES = MAX_FRAME_BYTES / 2;
/** The extensions this server offers to a client that sends FEATURES. */
const OFFERED_FEATURES = ['CODE'];

interface Session {
  connection: FramedSocket;
  name?: string;
  features: string[];
}

/**
 * Stage 2's server, only there so the stage 2 client has someone to talk to: one thread, base
 * protocol login, and every public message broadcast to everyone (its sender included). Private
 * messages are refused; stage 3 replaces this with the worker-thread server, stage 4 routes.
 */
export function createBroadcastServer(options: BroadcastServerOptions = {}): BroadcastServer {
  const log = options.log ?? ((line: string) => console.log(line));
  const sessions = new Set<Session>();
  const online = new Map<string, Session>(); // usernameKey -> session: a Map, names are user input
  const history: { message: ChatMessage; bytes: number }[] = [];
  let historyBytes = 0;

  const errorBytes = (session: Session, error: ProtocolError): Buffer =>
    encodeFrame(errorFrame(error, session.features.includes('CODE')));
  /** Sends the frames of one answer (encodeServerFrames: several if escaping made it too large). */
  const sendFrames = (session: Session, frames: Buffer[]) => {
    for (const bytes of frames) session.connection.send(bytes);
  };
  const broadcast = (frame: ServerFrame, except?: Session) => {
    const frames = encodeServerFrames(frame); // serialized once, the same Buffers to every recipient
    for (const session of online.values()) if (session !== except) sendFrames(session, frames);
  };
  const remember = (message: ChatMessage) => {
    const bytes = encodedMessageBytes(message);
    history.push({ message, bytes });
    historyBytes += bytes;
    while (history.length > HISTORY_MESSAGES || historyBytes > HISTORY_MAX_BYTES) {
      historyBytes -= history.shift()!.bytes;
    }
  };

  const notOffered = (key: keyof ClientFrame) => () => {
    throw new ProtocolError('ERR_UNKNOWN_KEY', `${key} is not offered by the stage 2 server`);
  };

  // One handler per client key, run in this order (USERNAME before MESSAGES when they ride together).
  // The mapped type makes the table complete: a new ClientFrame key without a handler does not compile.
  const handlers: { [K in keyof ClientFrame]-?: (session: Session, frame: ClientFrame) => void } = {
    // USERNAME "alice", FEATURES ["CODE", ...] (optional)
    USERNAME(session, { USERNAME: name = '', FEATURES: features }) {
      if (session.name !== undefined) throw new ProtocolError('ERR_ALREADY_LOGGED_IN');
      session.features = features ? OFFERED_FEATURES.filter((feature) => features.includes(feature)) : [];
      const refusal =
        checkUsername(name) ?? (online.has(usernameKey(name)) ? ERROR_CODES.ERR_NAME_TAKEN.text : undefined);
      if (refusal) {
        log(`${session.connection.remote} refused ${JSON.stringify(sanitizeForTerminal(name))}: ${refusal}`);
        session.connection.send(encodeFrame({ USERNAME_ACCEPTED: false, INFO: refusal }));
        return;
      }
      session.name = name;
      online.set(usernameKey(name), session);
      const welcome: ServerFrame = {
        USERNAME_ACCEPTED: true,
        INFO: `welcome, ${name}: this stage 2 server broadcasts to ALL (private messages arrive in stage 4)`,
        USER_LIST: [...online.values()].map((each) => each.name!),
        MESSAGES: history.map((entry) => entry.message),
      };
      if (features) welcome.FEATURES = session.features;
      sendFrames(session, encodeServerFrames(welcome)); // a long USER_LIST goes on as USERS_JOINED
      broadcast({ USERS_JOINED: [name] }, session);
      log(`${session.connection.remote} logged in as ${name} (${online.size} online)`);
    },
    FEATURES(_session, frame) {
      if (frame.USERNAME === undefined) {
        throw new ProtocolError('ERR_BAD_TYPE', 'FEATURES is sent together with USERNAME');
      }
    },
    // MESSAGES [[SRC, DEST, TIMESTAMP, CONTENT], ...]: all checked before any is delivered
    MESSAGES(session, { MESSAGES: messages = [] }) {
      const name = session.name;
      if (name === undefined) throw new ProtocolError('ERR_NOT_LOGGED_IN');
      for (const [src, dest] of messages) {
        if (src !== name) throw new ProtocolError('ERR_SPOOFED_SRC', `you are logged in as ${name}`);
        if (dest !== DEST_ALL) {
          throw new ProtocolError('ERR_DEST_UNSUPPORTED', 'private messages arrive in stage 4');
        }
      }
      const now = Math.floor(Date.now() / 1000); // the server's clock, not the sender's
      const stamped = messages.map(([, , , content]): ChatMessage => [name, DEST_ALL, now, content]);
      for (const message of stamped) {
        remember(message);
        log(`${name} -> ALL: ${sanitizeForTerminal(message[3]).slice(0, 200)}`);
      }
      broadcast({ MESSAGES: stamped });
    },
    WHO: notOffered('WHO'),
    PASSWORD: notOffered('PASSWORD'),
    REGISTER: notOffered('REGISTER'),
    PASSWD: notOffered('PASSWD'),
    RESUME: notOffered('RESUME'),
    SINCE: notOffered('SINCE'),
  };
  const order = Object.keys(handlers) as (keyof ClientFrame)[];

  // allowHalfOpen: a client may send, shut down its side, and still read the answers. Every frame is
  // answered as it is handled, so FramedSocket's default (close once the last frame, rate-limited
  // ones included, has been handled) is right here.
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    // The callbacks below only run later, once `session` exists.
    const session: Session = {
      features: [],
      connection: new FramedSocket(socket, {
        rateLimit:
          options.rateLimit === undefined
            ? { burst: RATE_BURST_FRAMES, perSecond: RATE_FRAMES_PER_SECOND }
            : options.rateLimit,
        onRateLimited: () =>
          session.connection.send(errorBytes(session, new ProtocolError('ERR_RATE_LIMITED'))),
        farewell: (error) => errorBytes(session, error),
        onFrame: (payload) => {
          try {
            const frame = parseClientFrame(decodePayload(payload));
            for (const key of order) if (frame[key] !== undefined) handlers[key](session, frame);
          } catch (error) {
            if (!isProtocolError(error)) throw error;
            log(`${session.name ?? session.connection.remote}: ${error.code} ${error.message}`);
            session.connection.send(errorBytes(session, error));
          }
        },
        onClose: (error) => {
          sessions.delete(session);
          const why = isProtocolError(error) ? ` (${error.code})` : error ? ` (${error.message})` : '';
          log(`${session.name ?? session.connection.remote} disconnected${why}`);
          if (session.name === undefined) return;
          online.delete(usernameKey(session.name));
          broadcast({ USERS_LEFT: [session.name] });
        },
      }),
    };
    sessions.add(session);
    log(`${session.connection.remote} connected`);
  });

  return {
    async listen(host, port) {
      const address = await listenTcp(server, host, port);
      log(`stage 2 broadcast server listening on ${formatAddress(address.address, address.port)}`);
      return address;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const session of sessions)
        session.connection.close(errorBytes(session, new ProtocolError('ERR_SERVER_SHUTDOWN')));
      await closed;
    },
  };
}
