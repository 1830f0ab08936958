import {
  DEST_ALL,
  ERROR_CODES,
  MAX_FRAME_BYTES,
  MAX_HISTORY_MESSAGES,
  encodeFrame,
  encodeServerFrames,
  errorFrame,
  BASE_SERVER_KEYS,
  FEATURE_OF_SERVER_KEY,
  describeNameClash,
  usernameKey,
  type ChatMessage,
  type ErrorCode,
  type ServerFrame,
} from '#shared';
import { HistoryLog } from './history-log.ts';
import type { ConnId, HubReply, LoginCredentials, SessionIntent } from './thread-messages.ts';

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

/** What the transport knows of the peer of a connection. */
export interface PeerInfo {
  /** The IP address (no port). */
  address: string;
  /** The connection is encrypted (TLS, or a browser over HTTPS). */
  isSecure: boolean;
}

/** A login the Hub found acceptable so far (valid, free name), for a LoginGate to decide on. */
export interface LoginRequest {
  conn: ConnId;
  name: string;
  key: string;
  /** The features the user will have (requested and offered). */
  features: ReadonlySet<string>;
  credentials: LoginCredentials;
  peer: PeerInfo;
}

/** A LoginGate's decision. */
export type Admission =
  | { accepted: false; info: string; code: ErrorCode }
  | {
      accepted: true;
      /** The accept frame's MESSAGES (default: the Hub's own history for this name). */
      history?: ChatMessage[];
      /** More keys for the accept frame (extension keys are stripped for clients that did not ask). */
      accept?: ServerFrame;
      /** Runs once the user is online and the accept frame is queued (e.g. deliver what waited). Not
       * called `then`: an Admission returned from an async gate would be taken for a thenable. */
      afterLogin?: (user: HubUser) => void;
    };

/** Decides on a login after the Hub's own checks: accounts, passwords, held names (stage 5). */
export type LoginGate = (request: LoginRequest) => Admission | Promise<Admission>;

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
  /**
   * Joins and leaves within this many ms go out as one USERS_JOINED / USERS_LEFT list per recipient
   * (in order). 0 (the default) announces each at once. A lecture hall logging in at 9:00 otherwise
   * costs one write per online user per login.
   */
  presenceBatchMs?: number;
}

/** One join or leave waiting for the next presence flush. */
interface PresenceEvent {
  seq: number;
  key: 'USERS_JOINED' | 'USERS_LEFT';
  name: string;
}

const MAX_HISTORY_STORED_BYTES = 16 * 1024 * 1024;

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
  readonly #presenceBatchMs: number;
  #presenceQueue: PresenceEvent[] = [];
  #presenceSeq = 0;
  #presenceTimer: NodeJS.Timeout | undefined;
  /** The presence sequence number of each user's own join: they need only what came after it. */
  readonly #joinedAt = new WeakMap<HubUser, number>();
  #gate: LoginGate | undefined;
  /** Names (keys) whose login waits for the gate: nobody else may take them meanwhile. */
  readonly #claims = new Map<string, ConnId>();
  /** Connections whose login waits for the gate (a disconnect removes them). */
  readonly #pending = new Set<ConnId>();

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
    this.#presenceBatchMs = options.presenceBatchMs ?? 0;
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

  /** Puts a gate (accounts, passwords) in front of every login that passed the Hub's own checks. */
  setLoginGate(gate: LoginGate): void {
    this.#gate = gate;
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
    if (frame.MESSAGES) this.flushPresence(); // a newcomer's first message must not overtake their join
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

  /**
   * Writes a frame to every online user, encoded once per variant: base clients get the base keys,
   * a client that asked for an extension also gets its keys (usually two encodings in all).
   */
  broadcast(frame: ServerFrame, except?: HubUser): void {
    if (frame.MESSAGES) this.flushPresence();
    this.#broadcastNow(frame, except);
  }

  #broadcastNow(frame: ServerFrame, except?: HubUser, skip?: (user: HubUser) => boolean): void {
    const extensions = Object.keys(frame).filter((key) => !BASE_SERVER_KEYS.has(key));
    if (extensions.length === 0) {
      const frames = encodeServerFrames(frame, this.#maxFrameBytes);
      for (const user of this.#byKey.values()) {
        if (user !== except && !skip?.(user)) this.#sendFrames(user.conn, frames);
      }
      return;
    }
    const variants = new Map<string, Buffer[]>();
    for (const user of this.#byKey.values()) {
      if (user === except || skip?.(user)) continue;
      const granted = extensions.filter((key) => this.#grants(user, key));
      const variant = granted.join(',');
      let frames = variants.get(variant);
      if (!frames) {
        frames = encodeServerFrames(this.#forClient(user, frame), this.#maxFrameBytes);
        variants.set(variant, frames);
      }
      this.#sendFrames(user.conn, frames);
    }
  }

  /** Sends the joins and leaves waiting in the presence batch now (see HubOptions.presenceBatchMs). */
  flushPresence(): void {
    clearTimeout(this.#presenceTimer);
    this.#presenceTimer = undefined;
    const events = this.#presenceQueue;
    if (events.length === 0) return;
    this.#presenceQueue = [];
    const first = events[0].seq;
    const everything = presenceFrames(events);
    const shared = everything.map((frame) => encodeServerFrames(frame, this.#maxFrameBytes));
    for (const user of this.#byKey.values()) {
      const since = this.#joinedAt.get(user) ?? 0;
      if (since < first) {
        for (const frames of shared) this.#sendFrames(user.conn, frames);
        continue;
      }
      // Joined during this batch: only what happened after its own join (its USER_LIST had the rest).
      for (const frame of presenceFrames(events.filter((event) => event.seq > since))) {
        this.#sendFrames(user.conn, encodeServerFrames(frame, this.#maxFrameBytes));
      }
    }
  }

  /** A join or leave for everyone else: at once, or in the next presence batch. */
  #announce(key: PresenceEvent['key'], user: HubUser): void {
    if (this.#presenceBatchMs <= 0) {
      this.#broadcastNow({ [key]: [user.name] }, user);
      return;
    }
    const seq = ++this.#presenceSeq;
    if (key === 'USERS_JOINED') this.#joinedAt.set(user, seq);
    this.#presenceQueue.push({ seq, key, name: user.name });
    this.#presenceTimer ??= setTimeout(() => this.flushPresence(), this.#presenceBatchMs);
  }

  /** Keeps a message for later logins, bounded (oldest dropped first). */
  remember(message: ChatMessage): void {
    this.#history.append(message);
  }

  // ---- for the server -----------------------------------------------------------------------

  /** A login without a gate (stages 3 and 4, and tests): decided at once. */
  login(conn: ConnId, name: string, requested: string[]): HubReply {
    const key = usernameKey(name);
    if (this.#isTaken(conn, key)) return this.#refuseTaken(conn, name, requested);
    return this.#accept(conn, name, key, requested, { accepted: true });
  }

  /**
   * A login from the server: the Hub's own checks first (name free, connection not logged in), then
   * the gate, if any, which may take its time (a password hash). The name is claimed meanwhile, so two
   * connections racing for one name cannot both pass.
   */
  requestLogin(
    conn: ConnId,
    name: string,
    requested: string[],
    credentials: LoginCredentials = {},
    peer: PeerInfo = { address: '', isSecure: false },
  ): HubReply | Promise<HubReply> {
    const gate = this.#gate;
    if (!gate) return this.login(conn, name, requested);
    const key = usernameKey(name);
    if (this.#isTaken(conn, key)) return this.#refuseTaken(conn, name, requested);
    const features = new Set(requested.filter((feature) => this.#offered.has(feature)));
    this.#claims.set(key, conn);
    this.#pending.add(conn);
    const settle = (admission: Admission): HubReply => {
      this.#claims.delete(key);
      if (!this.#pending.delete(conn)) return { kind: 'login-refused' }; // left while we waited
      if (!admission.accepted) {
        const refusal: ServerFrame = { USERNAME_ACCEPTED: false, INFO: admission.info.toWellFormed() };
        if (requested.includes('CODE')) refusal.CODE = admission.code;
        this.#outbox.send(conn, encodeFrame(refusal));
        return { kind: 'login-refused' };
      }
      return this.#accept(conn, name, key, requested, admission);
    };
    const fail = (error: unknown): HubReply => {
      this.#log(`login of ${name} on connection ${conn} failed: ${(error as Error).stack ?? String(error)}`);
      return settle({
        accepted: false,
        info: 'the server could not check this login: try again',
        code: 'ERR_INTERNAL',
      });
    };
    try {
      const admission = gate({ conn, name, key, features, credentials, peer });
      return admission instanceof Promise ? admission.then(settle, fail) : settle(admission);
    } catch (error) {
      return fail(error);
    }
  }

  #isTaken(conn: ConnId, key: string): boolean {
    return this.#byKey.has(key) || this.#claims.has(key) || this.#byConn.has(conn) || this.#pending.has(conn);
  }

  #refuseTaken(conn: ConnId, name: string, requested: string[]): HubReply {
    const refusal: ServerFrame = {
      USERNAME_ACCEPTED: false,
      INFO: describeNameClash(name, (this.#byKey.get(usernameKey(name)) ?? { name }).name),
    };
    if (requested.includes('CODE')) refusal.CODE = 'ERR_NAME_TAKEN';
    this.#outbox.send(conn, encodeFrame(refusal));
    return { kind: 'login-refused' };
  }

  #accept(
    conn: ConnId,
    name: string,
    key: string,
    requested: string[],
    admission: Extract<Admission, { accepted: true }>,
  ): HubReply {
    const features = requested.filter((feature) => this.#offered.has(feature));
    const user: HubUser = { conn, name, key, features: new Set(features) };
    this.#announce('USERS_JOINED', user);
    this.#byKey.set(key, user);
    this.#byConn.set(conn, user);
    const accept: ServerFrame = {
      USERNAME_ACCEPTED: true,
      INFO: this.#welcome,
      USER_LIST: [...this.#byKey.values()].map((each) => each.name),
      MESSAGES: admission.history ?? this.#historyFor(key),
      ...(admission.accept ? this.#forClient(user, admission.accept) : {}),
    };
    // A client that sent FEATURES learns which ones it got (possibly none); others never see the key.
    if (requested.length > 0) accept.FEATURES = features;
    this.#sendFrames(conn, encodeServerFrames(accept, this.#maxFrameBytes)); // split if USER_LIST + history outgrow a frame
    this.#log(`${name} logged in on connection ${conn} (${this.#byKey.size} online)`);
    admission.afterLogin?.(user);
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
    this.#pending.delete(conn);
    const user = this.#byConn.get(conn);
    if (!user) return;
    this.#byConn.delete(conn);
    this.#byKey.delete(user.key);
    const at = this.nowSeconds();
    for (const hook of this.#leaveHooks) hook(user, at);
    this.#announce('USERS_LEFT', user);
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
      if (!BASE_SERVER_KEYS.has(key) && !this.#grants(user, key)) {
        if (out === frame) out = { ...frame };
        delete out[key];
      }
    }
    return out;
  }

  /** Whether the user asked for the feature an extension key belongs to. */
  #grants(user: HubUser, key: string): boolean {
    const feature = FEATURE_OF_SERVER_KEY.get(key);
    return feature !== undefined && user.features.has(feature);
  }
}

/** Presence events as frames: each run of joins (or of leaves) becomes one list, order kept. */
function presenceFrames(events: PresenceEvent[]): ServerFrame[] {
  const frames: ServerFrame[] = [];
  let last: ServerFrame | undefined;
  let lastKey: PresenceEvent['key'] | undefined;
  for (const { key, name } of events) {
    if (key === lastKey && last) last[key]!.push(name);
    else {
      last = { [key]: [name] };
      lastKey = key;
      frames.push(last);
    }
  }
  return frames;
}
