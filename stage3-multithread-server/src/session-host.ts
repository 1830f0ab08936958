import { Session } from './session.ts';
import type { ConnId, HubReply, SessionIntent, SessionOptions } from './thread-messages.ts';

/** What a session host tells the server. */
export interface SessionHostEvents {
  onIntent(conn: ConnId, intent: SessionIntent): void;
  /** The sessions of these connections are gone (their worker died, or a session threw). */
  onLost(conns: ConnId[], error: Error): void;
  /** Every frame of `conn` handed to the host has been handled (see SessionHost.framesInFlight). */
  onDrained(conn: ConnId): void;
}

/**
 * Runs the connections' Sessions somewhere: inline on the main thread (InlineSessionHost) or on a
 * pool of worker threads (WorkerPool). The server cannot tell which.
 */
export interface SessionHost {
  ready(): Promise<void>;
  open(conn: ConnId): void;
  frame(conn: ConnId, payload: Buffer): void;
  hubReply(conn: ConnId, reply: HubReply): void;
  close(conn: ConnId): void;
  /** Frames (and Hub replies) of `conn` handed over and not yet handled: what the server bounds. */
  framesInFlight(conn: ConnId): number;
  /** Where a connection's session runs, for the server window ("worker 1", "main"). */
  placeOf(conn: ConnId): string;
  shutdown(): Promise<void>;
}

/** `--workers 0`: sessions run on the main thread, by direct call. */
export class InlineSessionHost implements SessionHost {
  readonly #sessions = new Map<ConnId, Session>();
  readonly #options: SessionOptions;
  readonly #events: SessionHostEvents;

  constructor(options: SessionOptions, events: SessionHostEvents) {
    this.#options = options;
    this.#events = events;
  }

  async ready(): Promise<void> {}

  open(conn: ConnId): void {
    this.#sessions.set(conn, new Session(this.#options));
  }

  frame(conn: ConnId, payload: Buffer): void {
    this.#run(conn, (session) => session.handleFrame(payload));
  }

  hubReply(conn: ConnId, reply: HubReply): void {
    this.#run(conn, (session) => session.handleReply(reply));
  }

  close(conn: ConnId): void {
    this.#sessions.delete(conn);
  }

  framesInFlight(): number {
    return 0; // handled synchronously
  }

  placeOf(): string {
    return 'main thread';
  }

  async shutdown(): Promise<void> {
    this.#sessions.clear();
  }

  #run(conn: ConnId, step: (session: Session) => SessionIntent[]): void {
    const session = this.#sessions.get(conn);
    if (!session) return;
    let intents: SessionIntent[];
    try {
      intents = step(session);
    } catch (error) {
      // A bug in one session must not take the process down: that connection alone is lost.
      this.#sessions.delete(conn);
      this.#events.onLost([conn], error as Error);
      return;
    }
    for (const intent of intents) this.#events.onIntent(conn, intent);
  }
}
