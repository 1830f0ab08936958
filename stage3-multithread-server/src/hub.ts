import {
  DEST_ALL,
  ERROR_CODES,
  MAX_FRAME_BYTES,
  MAX_HISTORY_MESSAGES,
  encodeFrame,
  encodeServerFrames,
  errorFrame,
  BASE_SERVER_KEYS,
  describeNameClash,
  usernameKey,
  type ChatMessage,
  type ErrorCode,
  type ServerFrame,
} from '#shared';
import { HistoryLog } from './history-log.ts';
import type { ConnId, HubReply, SessionIntent } from './thread-messages.ts';

/** Where the Hub's effects go: the transport implements it, tests record it. */
export interface Outbox {
  /** False if the connection is gone or was just dropped as too slow. */
  send(conn: ConnId, frame: Buffer, onUndelivered?: () => void): boolean;
  close(conn: ConnId, frame?: Buffer): void;
}

export interface HubUser {
  readonly conn: ConnId;
  readonly name: string;
  /** usernameKey(name): the identity ("Bob" and "bob" are one user). */
  readonly key: string;
  readonly features: ReadonlySet<string>;
}

export type IntentKind = Exclude<SessionIntent['kind'], 'login' | 'reply'>;
type IntentOf<K extends IntentKind> = Extract<SessionIntent, { kind: K }>;
export type IntentHandler<K extends IntentKind> = (user: HubUser, intent: IntentOf<K>) => void;

export interface HubOptions {
  outbox: Outbox;
  /** The INFO of an accepted login. */
  welcome: string;
  /** Milliseconds since the epoch; injectable so tests control time. */
  now?: () => number;
  maxHistory?: number;
  /** Largest frame sent; larger answers are split (default MAX_FRAME_BYTES, what peers accept). */
  maxFrameBytes?: number;
  /** Bytes of history kept in memory. */
  maxHistoryStoredBytes?: number;
  /** Bytes of history sent with a login; keeps the accept frame under the frame limit. */
  maxHistoryBytes?: number;
  log?: (line: string) => void;
}

const MAX_HISTORY_STORED_BYTES = 64 * 1024 * 1024;

/**
 * The global, single-owner state (sans-I/O): who is online, the history, and the table of intent
 * handlers that features register (fastify-style plugins). It runs on the main thread only, so it
 * needs no locks; sessions reach it through typed intents.
 */
export class Hub {
  readonly #outbox: Outbox;
  readonly #welcome: string;
  readonly #now: () => number;
  readonly #maxHistory: number;
  readonly #maxHistoryBytes: number;
  readonly #log: (line: string) => void;
  readonly #maxFrameBytes: number;
  readonly #byKey = new Map<string, HubUser>();
  readonly #byConn = new Map<ConnId, HubUser>();
  readonly #handlers = new Map<IntentKind, (user: HubUser, intent: SessionIntent) => void>();
  readonly #offered = new Set<string>(['CODE']);
  readonly #leaveHooks: ((user: HubUser, at: number) => void)[] = [];
  readonly #history: HistoryLog;

  constructor(options: HubOptions) {
    this.#outbox = options.outbox;
    this.#welcome = options.welcome;
    this.#now = options.now ?? Date.now;
    this.#maxHistory = options.maxHistory ?? MAX_HISTORY_MESSAGES;
    this.#history = new HistoryLog(
      this.#maxHistory,
      options.maxHistoryStoredBytes ?? MAX_HISTORY_STORED_BYTES,
    );
    this.#maxHistoryBytes = options.maxHistoryBytes ?? MAX_FRAME_BYTES / 2;
    this.#log = options.log ?? (() => {});
    this.#maxFrameBytes = options.maxFrameBytes ?? MAX_FRAME_BYTES;
  }

  // ---- for features -------------------------------------------------------------------------

  /** Registers the handler of one intent kind (one per kind; a later one replaces an earlier). */
  handle<K extends IntentKind>(kind: K, handler: IntentHandler<K>): void {
    this.#handlers.set(kind, handler as unknown as (user: HubUser, intent: SessionIntent) => void);
  }

  /** An extension feature this server offers to clients that ask for it at login. */
  offerFeature(name: string): void {
    this.#offered.add(name);
  }

  onLeave(hook: (user: HubUser, at: number) => void): void {
    this.#leaveHooks.push(hook);
  }

  /** Seconds since the epoch: the server's stamp on every message. */
  nowSeconds(): number {
    return Math.floor(this.#now() / 1000);
  }

  userByName(name: string): HubUser | undefined {
    return this.#byKey.get(usernameKey(name));
  }

  userByConn(conn: ConnId): HubUser | undefined {
    return this.#byConn.get(conn);
  }

  get users(): IterableIterator<HubUser> {
    return this.#byKey.values();
  }

  get onlineCount(): number {
    return this.#byKey.size;
  }

  /**
   * Sends a frame to a user (split if it would outgrow the frame limit), with extension keys only if
   * the user asked for them. False if any part could not be queued.
   */
  sendTo(user: HubUser, frame: ServerFrame, onUndelivered?: () => void): boolean {
    return this.#sendFrames(
      user.conn,
      encodeServerFrames(this.#forClient(user, frame), this.#maxFrameBytes),
      onUndelivered,
    );
  }

  /** An ERROR to one user (`text` replaces the code's standard text); CODE rides along if asked for. */
  error(user: HubUser, code: ErrorCode, text: string = ERROR_CODES[code].text): void {
    this.sendTo(user, errorFrame({ code, message: text.toWellFormed() }, true));
  }

  /** Encodes once and writes the same bytes to every online user (base keys only). */
  broadcast(frame: ServerFrame, except?: HubUser): void {
    const frames = encodeServerFrames(frame, this.#maxFrameBytes);
    for (const user of this.#byKey.values()) {
      if (user !== except) this.#sendFrames(user.conn, frames);
    }
  }

  /** Keeps a message for later logins, bounded (oldest dropped first). */
  remember(message: ChatMessage): void {
    this.#history.append(message);
  }

  // ---- for the server -----------------------------------------------------------------------

  login(conn: ConnId, name: string, requested: string[]): HubReply {
    const key = usernameKey(name);
    const holder = this.#byKey.get(key);
    if (holder || this.#byConn.has(conn)) {
      const refusal: ServerFrame = {
        USERNAME_ACCEPTED: false,
        INFO: describeNameClash(name, holder?.name ?? name),
      };
      if (requested.includes('CODE')) refusal.CODE = 'ERR_NAME_TAKEN';
      this.#outbox.send(conn, encodeFrame(refusal));
      return { kind: 'login-refused' };
    }
    const features = requested.filter((feature) => this.#offered.has(feature));
    const user: HubUser = { conn, name, key, features: new Set(features) };
    this.broadcast({ USERS_JOINED: [name] });
    this.#byKey.set(key, user);
    this.#byConn.set(conn, user);
    const accept: ServerFrame = {
      USERNAME_ACCEPTED: true,
      INFO: this.#welcome,
      USER_LIST: [...this.#byKey.values()].map((each) => each.name),
      MESSAGES: this.#historyFor(key),
    };
    // A client that sent FEATURES learns which ones it got (possibly none); others never see the key.
    if (requested.length > 0) accept.FEATURES = features;
    this.#sendFrames(conn, encodeServerFrames(accept, this.#maxFrameBytes)); // split if USER_LIST + history outgrow a frame
    this.#log(`${name} logged in on connection ${conn} (${this.#byKey.size} online)`);
    return { kind: 'login-accepted', name, features };
  }

  dispatch(conn: ConnId, intent: Exclude<SessionIntent, { kind: 'login' | 'reply' }>): void {
    const user = this.#byConn.get(conn);
    if (!user) return; // the connection left while its intent was in flight
    const handler = this.#handlers.get(intent.kind);
    if (handler) handler(user, intent);
    else this.error(user, 'ERR_UNKNOWN_KEY', `${intent.kind.toUpperCase()} is not supported by this server`);
  }

  disconnect(conn: ConnId): void {
    const user = this.#byConn.get(conn);
    if (!user) return;
    this.#byConn.delete(conn);
    this.#byKey.delete(user.key);
    const at = this.nowSeconds();
    for (const hook of this.#leaveHooks) hook(user, at);
    this.broadcast({ USERS_LEFT: [user.name] });
    this.#log(`${user.name} left (${this.#byKey.size} online)`);
  }

  /** Public messages and private ones addressed to `key`, oldest first, within the byte budget. */
  #historyFor(key: string): ChatMessage[] {
    const picked: ChatMessage[] = [];
    let bytes = 0;
    for (const { message, bytes: size } of this.#history.newestFirst()) {
      const dest = message[1];
      if (dest !== DEST_ALL && usernameKey(dest) !== key) continue;
      bytes += size;
      if (bytes > this.#maxHistoryBytes) break;
      picked.push(message);
    }
    return picked.reverse();
  }

  #sendFrames(conn: ConnId, frames: Buffer[], onUndelivered?: () => void): boolean {
    let queued = true;
    for (const frame of frames)
      queued = this.#outbox.send(conn, frame, queued ? onUndelivered : undefined) && queued;
    return queued;
  }

  /** The frame without the extension keys this user did not ask for (a base client sees base keys). */
  #forClient(user: HubUser, frame: ServerFrame): ServerFrame {
    let out = frame;
    for (const key of Object.keys(frame) as (keyof ServerFrame)[]) {
      if (!BASE_SERVER_KEYS.has(key) && !user.features.has(key)) {
        if (out === frame) out = { ...frame };
        delete out[key];
      }
    }
    return out;
  }
}
