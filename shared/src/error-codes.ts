/**
 * Every error Msg can report, defined once (fastify's errors.js habit). `fatal` errors close the
 * connection: after a framing error a length-prefixed stream cannot resynchronise. The others answer
 * `{"ERROR": "..."}` and the connection stays. docs/PROTOCOL.md lists each code; a test keeps it so.
 */
export const ERROR_CODES = {
  // framing: bytes -> frames
  ERR_FRAME_TOO_LARGE: { fatal: true, text: 'frame length exceeds the limit' },
  ERR_FRAME_TIMEOUT: { fatal: true, text: 'a started frame was not completed in time' },
  ERR_TRUNCATED: { fatal: true, text: 'the stream ended in the middle of a frame' },
  // payload: frame -> JSON object
  ERR_EMPTY_FRAME: { fatal: false, text: 'empty frame (length 0)' },
  ERR_BAD_UTF8: { fatal: false, text: 'payload is not valid UTF-8' },
  ERR_BAD_JSON: { fatal: false, text: 'payload is not valid JSON' },
  ERR_NOT_OBJECT: { fatal: false, text: 'payload must be a JSON object' },
  // protocol: JSON object -> typed message
  ERR_UNKNOWN_KEY: { fatal: false, text: 'unknown key' },
  ERR_BAD_TYPE: { fatal: false, text: 'a value has the wrong type' },
  ERR_TOO_MANY: { fatal: false, text: 'too many items in one frame' },
  ERR_TOO_LONG: { fatal: false, text: 'a value is too long' },
  ERR_EMPTY: { fatal: false, text: 'the frame carries nothing to do' },
  // session
  ERR_NOT_LOGGED_IN: { fatal: false, text: 'log in with USERNAME first' },
  ERR_ALREADY_LOGGED_IN: { fatal: false, text: 'already logged in on this connection' },
  ERR_NAME_INVALID: { fatal: false, text: 'that username is not allowed' },
  ERR_NAME_TAKEN: { fatal: false, text: 'that username is taken' },
  ERR_SPOOFED_SRC: { fatal: false, text: 'SRC must be your own username' },
  ERR_RATE_LIMITED: { fatal: false, text: 'too many frames: slow down' },
  ERR_LOGIN_TIMEOUT: { fatal: true, text: 'no login within the time allowed' },
  ERR_SLOW_CONSUMER: { fatal: true, text: 'the connection could not keep up with its messages' },
  ERR_SERVER_FULL: { fatal: true, text: 'the server is full' },
  ERR_SERVER_SHUTDOWN: { fatal: true, text: 'the server is shutting down' },
  ERR_INTERNAL: { fatal: false, text: 'the server failed to handle this request' },
  ERR_WORKER_CRASHED: { fatal: true, text: 'the session serving this connection failed' },
  // routing (stage 3 onward)
  ERR_DEST_UNSUPPORTED: { fatal: false, text: 'this server only delivers to ALL' },
  ERR_UNKNOWN_USER: { fatal: false, text: 'no such user has been here' },
  ERR_USER_OFFLINE: { fatal: false, text: 'that user is not online' },
  ERR_UNDELIVERED: { fatal: false, text: 'the recipient left before the message reached them' },
  // accounts and storage (stage 5)
  ERR_AUTH_REQUIRED: { fatal: false, text: 'that name is registered: log in with its password' },
  ERR_AUTH_FAILED: { fatal: false, text: 'wrong name or password' },
  ERR_AUTH_THROTTLED: { fatal: false, text: 'too many failed attempts: wait before trying again' },
  ERR_INSECURE_PASSWORD: { fatal: false, text: 'passwords are accepted only over TLS or from this machine' },
  ERR_WEAK_PASSWORD: { fatal: false, text: 'that password is too short' },
  ERR_NAME_REGISTERED: { fatal: false, text: 'that name is already registered' },
  ERR_NAME_HELD: { fatal: false, text: 'that guest name is held for its last user for a while' },
  ERR_NOT_REGISTERED: { fatal: false, text: 'only a registered name can do that' },
  ERR_STORE_FAILED: { fatal: false, text: 'the server could not save this' },
} as const satisfies Record<string, { fatal: boolean; text: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An Error with a protocol code; `detail` is appended to the code's standard text. */
export class ProtocolError extends Error {
  readonly code: ErrorCode;
  readonly fatal: boolean;

  constructor(code: ErrorCode, detail?: string) {
    const base = ERROR_CODES[code].text;
    // The detail may quote a peer's input cut short: never let half a surrogate pair onto the wire.
    super(detail ? `${base}: ${detail}`.toWellFormed() : base);
    this.name = 'ProtocolError';
    this.code = code;
    this.fatal = ERROR_CODES[code].fatal;
  }
}

export function isProtocolError(value: unknown): value is ProtocolError {
  return value instanceof ProtocolError;
}
