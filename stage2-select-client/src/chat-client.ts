import type net from 'node:net';
import {
  DEST_ALL,
  FramedSocket,
  MAX_CONTENT_BYTES,
  MAX_FRAME_BYTES,
  ProtocolError,
  connectTcp,
  decodePayload,
  encodeFrame,
  isProtocolError,
  parseServerFrame,
  type ChatMessage,
  type ClientFrame,
  type ServerFrame,
} from '#shared';
import { TypedEmitter } from './typed-emitter.ts';

/** What the server said to a USERNAME. */
export interface LoginResult {
  accepted: boolean;
  /** The server's welcome, or why the name was refused. */
  info?: string;
  /** Everyone online, this user included (empty when refused). */
  users: string[];
  /** Earlier messages the server replays at login, oldest first. */
  history: ChatMessage[];
  /** The extensions the server will use with us (only if we sent FEATURES and it answered). */
  features: string[];
}

/** ChatClient's events and their listener arguments. */
export interface ChatClientEvents {
  /** A message after login; `isPrivate` when it was addressed to us rather than to ALL. */
  message: [message: ChatMessage, isPrivate: boolean];
  joined: [names: string[]];
  left: [names: string[]];
  info: [text: string];
  /** The server's ERROR about our last input; `code` when the server uses the CODE extension. */
  serverError: [text: string, code?: string];
  /** A frame from the server that is not valid protocol; it is dropped, the connection stays. */
  error: [error: ProtocolError];
  /** Every valid frame, after the events above: how extensions (WHO, groups...) listen. */
  frame: [frame: ServerFrame];
  /** The connection is gone; `reason` when it was not a clean goodbye. */
  close: [reason?: string];
}

export interface ChatClientOptions {
  /** Largest frame accepted from the server. */
  maxFrameBytes?: number;
  /** Bytes we may queue for a server that is not reading before we give up on it. */
  maxQueuedBytes?: number;
  loginTimeoutMs?: number;
}

// A server's frame can be far bigger than anything a client sends (a login answer carries the
// history), so the client accepts more than the server's 1 MiB.
export const CLIENT_MAX_FRAME_BYTES = 16 * MAX_FRAME_BYTES;
// One user typing never queues much: room for two of the largest frames, then the server is stuck.
export const CLIENT_MAX_QUEUED_BYTES = 2 * MAX_FRAME_BYTES;
export const LOGIN_ANSWER_TIMEOUT_MS = 10_000;

interface PendingLogin {
  /** The USERNAME sent (NFKC), which becomes our name if accepted. */
  name: string;
  /** FEATURES rode along: a plain ERROR may refuse that key rather than the name (see #onPayload). */
  sentFeatures: boolean;
  resolve: (result: LoginResult) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * The UI-free chat client: login, sending, and a typed event per thing the server says. Every
 * incoming frame is validated (decodePayload + parseServerFrame); an invalid one becomes an 'error'
 * event and is dropped. It keeps the set of online users current. The line client (stage 2), the
 * terminal UI and the web client (stage 5) are views over it.
 */
export class ChatClient extends TypedEmitter<ChatClientEvents> {
  readonly #connection: FramedSocket;
  readonly #users = new Set<string>();
  readonly #loginTimeoutMs: number;
  #name: string | undefined;
  #pendingLogin: PendingLogin | undefined;
  /** Resolves once the connection is closed. */
  readonly closed: Promise<void>;

  /** Connects to `host` (every getaddrinfo address in turn) and wraps the socket. */
  static async connect(host: string, port: number, options: ChatClientOptions = {}): Promise<ChatClient> {
    return new ChatClient(await connectTcp(host, port), options);
  }

  /** Wraps an already connected socket (a TLS socket works too). */
  constructor(socket: net.Socket, options: ChatClientOptions = {}) {
    super();
    this.#loginTimeoutMs = options.loginTimeoutMs ?? LOGIN_ANSWER_TIMEOUT_MS;
    let closed!: () => void;
    this.closed = new Promise((resolve) => (closed = resolve));
    this.#connection = new FramedSocket(socket, {
      maxFrameBytes: options.maxFrameBytes ?? CLIENT_MAX_FRAME_BYTES,
      maxQueuedBytes: options.maxQueuedBytes ?? CLIENT_MAX_QUEUED_BYTES,
      onFrame: (payload) => this.#onPayload(payload),
      onClose: (error) => {
        const pending = this.#pendingLogin;
        this.#pendingLogin = undefined;
        if (pending) {
          clearTimeout(pending.timer);
          pending.reject(
            new Error(`connection closed before the login was answered${error ? `: ${error.message}` : ''}`),
          );
        }
        closed();
        this.emit('close', error?.message);
      },
    });
  }

  /** The name we are logged in as (NFKC), or undefined before an accepted login. */
  get name(): string | undefined {
    return this.#name;
  }

  /** Who is online now, as the server spells the names (kept current from USER_LIST/JOINED/LEFT). */
  get users(): ReadonlySet<string> {
    return this.#users;
  }

  get isOpen(): boolean {
    return this.#connection.isOpen;
  }

  /** `host:port` of the server. */
  get remote(): string {
    return this.#connection.remote;
  }

  /**
   * Asks for `name` (sent in NFKC form, the form servers require) and resolves with the answer. After
   * a refusal it may be called again on the same connection. FEATURES is sent only when given; if a
   * server answers that login with a plain ERROR (no USERNAME_ACCEPTED), it is probably a foreign
   * server refusing the FEATURES key, so the login is sent once more without it, on the same
   * connection, before the ERROR counts as a refusal.
   */
  login(name: string, features?: string[]): Promise<LoginResult> {
    if (this.#name !== undefined) return Promise.reject(new Error(`already logged in as ${this.#name}`));
    if (this.#pendingLogin) return Promise.reject(new Error('a login is already waiting for its answer'));
    const requested = name.normalize('NFKC');
    const frame: ClientFrame = { USERNAME: requested };
    if (features) frame.FEATURES = features;
    return new Promise<LoginResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pendingLogin = undefined;
        reject(new Error(`no answer to the login within ${this.#loginTimeoutMs} ms`));
      }, this.#loginTimeoutMs);
      this.#pendingLogin = { name: requested, sentFeatures: features !== undefined, resolve, reject, timer };
      if (!this.sendFrame(frame)) {
        clearTimeout(timer);
        this.#pendingLogin = undefined;
        reject(new Error('not connected'));
      }
    });
  }

  /** Sends `text` to everyone; the server sends it back to us too. Returns the message as sent. */
  sendPublic(text: string): ChatMessage {
    return this.#sendMessage(DEST_ALL, text);
  }

  /**
   * Sends `text` to one user. The server does not echo it back (show the returned message locally),
   * except a message to yourself, which a routing server delivers to you like any other.
   */
  sendPrivate(to: string, text: string): ChatMessage {
    return this.#sendMessage(to, text);
  }

  /** Sends any frame (extensions). False if the connection is closed. */
  sendFrame(frame: ClientFrame): boolean {
    return this.#connection.send(encodeFrame(frame));
  }

  /** Leaves: sends what is queued, then closes. Resolves once the connection is closed. */
  close(): Promise<void> {
    this.#connection.close();
    return this.closed;
  }

  #sendMessage(dest: string, text: string): ChatMessage {
    if (this.#name === undefined) throw new Error('log in before sending messages');
    if (Buffer.byteLength(text, 'utf8') > MAX_CONTENT_BYTES) {
      throw new ProtocolError('ERR_TOO_LONG', `a message is at most ${MAX_CONTENT_BYTES} bytes`);
    }
    const message: ChatMessage = [this.#name, dest, Math.floor(Date.now() / 1000), text];
    if (!this.sendFrame({ MESSAGES: [message] })) throw new Error('not connected');
    return message;
  }

  #onPayload(payload: Buffer): void {
    let frame: ServerFrame;
    try {
      frame = parseServerFrame(decodePayload(payload));
    } catch (error) {
      if (!isProtocolError(error)) throw error;
      this.emit('error', error);
      return;
    }
    const pending = this.#pendingLogin;
    if (pending?.sentFeatures && frame.USERNAME_ACCEPTED === undefined && frame.ERROR !== undefined) {
      // PROTOCOL-BASE lets a client send more keys at login, but a foreign server may still refuse
      // one it does not know. Ask again without FEATURES, once (the login's timer keeps running).
      pending.sentFeatures = false;
      this.sendFrame({ USERNAME: pending.name }); // false only once closed, and onClose failed the login
    } else if (pending && (frame.USERNAME_ACCEPTED !== undefined || frame.ERROR !== undefined)) {
      // A foreign server may answer a bad USERNAME with a plain ERROR: that is a refusal too.
      this.#pendingLogin = undefined;
      clearTimeout(pending.timer);
      pending.resolve(this.#answerLogin(frame, pending.name));
    } else {
      this.#dispatch(frame);
    }
    this.emit('frame', frame);
  }

  /** The login answer's keys go into the LoginResult, not to the events (no history shown twice). */
  #answerLogin(frame: ServerFrame, requested: string): LoginResult {
    const accepted = frame.USERNAME_ACCEPTED === true;
    if (accepted) {
      this.#name = requested;
      this.#users.clear();
      for (const user of frame.USER_LIST ?? []) this.#users.add(user);
    }
    return {
      accepted,
      info: frame.INFO ?? frame.ERROR,
      users: accepted ? [...this.#users] : [],
      history: accepted ? (frame.MESSAGES ?? []) : [],
      features: frame.FEATURES ?? [],
    };
  }

  #dispatch(frame: ServerFrame): void {
    if (frame.USER_LIST) {
      this.#users.clear();
      for (const user of frame.USER_LIST) this.#users.add(user);
    }
    if (frame.USERS_JOINED) {
      for (const user of frame.USERS_JOINED) this.#users.add(user);
      this.emit('joined', frame.USERS_JOINED);
    }
    if (frame.USERS_LEFT) {
      for (const user of frame.USERS_LEFT) this.#users.delete(user);
      this.emit('left', frame.USERS_LEFT);
    }
    for (const message of frame.MESSAGES ?? []) this.emit('message', message, message[1] !== DEST_ALL);
    if (frame.INFO !== undefined) this.emit('info', frame.INFO);
    if (frame.ERROR !== undefined) this.emit('serverError', frame.ERROR, frame.CODE);
  }
}
