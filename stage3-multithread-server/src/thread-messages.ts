import type { ChatMessage, PasswordChange, ProtocolLimits } from '#shared';

/**
 * Everything that crosses postMessage between the main thread and a session worker, in one place.
 * Inline mode (--workers 0) passes the very same objects by direct call.
 */

export type ConnId = number;

/** A session's request to the Hub (or, for `reply`, straight to its own connection). */
/** What rode with USERNAME besides FEATURES (extensions; a server without accounts ignores them). */
export interface LoginCredentials {
  password?: string;
  /** Register the name with this password, then log in. */
  register?: string;
  resume?: string;
  since?: number;
}

export type SessionIntent =
  | { kind: 'login'; name: string; features: string[]; credentials?: LoginCredentials }
  | { kind: 'chat'; messages: ChatMessage[] }
  | { kind: 'who'; name: string }
  | { kind: 'register'; password: string }
  | { kind: 'passwd'; change: PasswordChange }
  /** A frame the session composed itself (an ERROR, a refusal), as JSON text: cheap to clone. */
  | { kind: 'reply'; json: string };

/** The Hub's answer to a login intent; the session needs it to check SRC from then on. */
export type HubReply =
  { kind: 'login-accepted'; name: string; features: string[] } | { kind: 'login-refused' };

export interface SessionOptions {
  limits: ProtocolLimits;
  /** Enables `/burn <ms>` and `/crash` as message contents: for tests and the demo only. */
  faultCommands: boolean;
}

/** main -> worker, batched once per event-loop turn. */
export type ToWorker =
  | { type: 'open'; conn: ConnId }
  | { type: 'frame'; conn: ConnId; payload: Uint8Array }
  | { type: 'hub'; conn: ConnId; reply: HubReply }
  | { type: 'close'; conn: ConnId };

/** worker -> main, batched once per event-loop turn; `done` names the connection of each frame
 * or Hub reply finished. */
export type FromWorker =
  { type: 'ready' } | { type: 'intents'; items: { conn: ConnId; intent: SessionIntent }[]; done: ConnId[] };

export interface WorkerData {
  options: SessionOptions;
}
