import { ProtocolError } from './error-codes.ts';
import { quoteInput } from './quote-input.ts';
import { MAX_CONTENT_BYTES, MAX_MESSAGES_PER_FRAME } from './limits.ts';

/**
 * The one definition of every message (../PROTOCOL-BASE.md, docs/PROTOCOL.md). A frame is an object
 * whose keys may ride together ("piggy-backing"). Base keys first; extension keys (marked) are only
 * sent to a client that announced FEATURES at login.
 */

/** `[SRC, DEST, TIMESTAMP, CONTENT]`: TIMESTAMP is integer seconds since the Unix epoch, UTC. */
export type ChatMessage = [src: string, dest: string, timestamp: number, content: string];

/** Extension: the answer to WHO. */
export interface WhoAnswer {
  name: string;
  online: boolean;
  /** Seconds since the epoch when the user last left; null while online or if never seen. */
  lastSeen: number | null;
  known: boolean;
}

export interface ClientFrame {
  USERNAME?: string;
  MESSAGES?: ChatMessage[];
  /** Extension: features the client supports, sent with USERNAME. */
  FEATURES?: string[];
  /** Extension: ask whether a user is online, or when they were last seen. */
  WHO?: string;
}

export interface ServerFrame {
  USERNAME_ACCEPTED?: boolean;
  INFO?: string;
  USER_LIST?: string[];
  MESSAGES?: ChatMessage[];
  USERS_JOINED?: string[];
  USERS_LEFT?: string[];
  ERROR?: string;
  /** Extension: the features this server will use with the client (answer to FEATURES). */
  FEATURES?: string[];
  /** Extension: the error code of the ERROR in the same frame (see ERROR_CODES). */
  CODE?: string;
  /** Extension: answer to WHO. */
  WHO?: WhoAnswer;
}

export interface ProtocolLimits {
  maxContentBytes: number;
  maxMessagesPerFrame: number;
}

export const DEFAULT_PROTOCOL_LIMITS: ProtocolLimits = {
  maxContentBytes: MAX_CONTENT_BYTES,
  maxMessagesPerFrame: MAX_MESSAGES_PER_FRAME,
};

/** Extension feature names a server of this project may offer. */
export const FEATURE_NAMES = ['WHO', 'CODE'] as const;
const MAX_FEATURES = 32;
const MAX_SHORT_STRING = 256;

type Validator<T> = (value: unknown, key: string, limits: ProtocolLimits) => T;

function badType(key: string, expected: string): ProtocolError {
  return new ProtocolError('ERR_BAD_TYPE', `${key} must be ${expected}`);
}

function text(value: unknown, key: string, maxBytes: number): string {
  if (typeof value !== 'string') throw badType(key, 'a string');
  if (!value.isWellFormed()) throw new ProtocolError('ERR_BAD_UTF8', `${key} has an unpaired surrogate`);
  if (value.length > maxBytes || Buffer.byteLength(value, 'utf8') > maxBytes) {
    throw new ProtocolError('ERR_TOO_LONG', `${key} is over ${maxBytes} bytes`);
  }
  return value;
}

const shortString: Validator<string> = (value, key) => text(value, key, MAX_SHORT_STRING);

function list<T>(
  item: Validator<T>,
  maxItems: (limits: ProtocolLimits) => number,
  allowEmpty: boolean,
): Validator<T[]> {
  return (value, key, limits) => {
    if (!Array.isArray(value)) throw badType(key, 'an array');
    const max = maxItems(limits);
    if (value.length > max)
      throw new ProtocolError('ERR_TOO_MANY', `${key} holds ${value.length} > ${max} items`);
    if (!allowEmpty && value.length === 0) throw new ProtocolError('ERR_EMPTY', `${key} is empty`);
    return value.map((entry, index) => item(entry, `${key}[${index}]`, limits));
  };
}

const chatMessage: Validator<ChatMessage> = (value, key, limits) => {
  if (!Array.isArray(value) || value.length !== 4)
    throw badType(key, 'an array [SRC, DEST, TIMESTAMP, CONTENT]');
  const [src, dest, timestamp, content] = value as unknown[];
  // Integer seconds per the base protocol; a float (e.g. Python's time.time()) is accepted too, since
  // a Msg server restamps every message and a Msg client floors what it shows.
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) {
    throw badType(`${key} TIMESTAMP`, 'a number (seconds since the epoch)');
  }
  return [
    shortString(src, `${key} SRC`, limits),
    shortString(dest, `${key} DEST`, limits),
    timestamp,
    text(content, `${key} CONTENT`, limits.maxContentBytes),
  ];
};

const boolean: Validator<boolean> = (value, key) => {
  if (typeof value !== 'boolean') throw badType(key, 'true or false');
  return value;
};

const whoAnswer: Validator<WhoAnswer> = (value, key, limits) => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badType(key, 'an object');
  const record = value as Record<string, unknown>;
  const lastSeen = record.lastSeen;
  if (lastSeen !== null && (typeof lastSeen !== 'number' || !Number.isSafeInteger(lastSeen))) {
    throw badType(`${key}.lastSeen`, 'an integer or null');
  }
  return {
    name: shortString(record.name, `${key}.name`, limits),
    online: boolean(record.online, `${key}.online`, limits),
    known: boolean(record.known, `${key}.known`, limits),
    lastSeen,
  };
};

const messages = list(chatMessage, (limits) => limits.maxMessagesPerFrame, false);
const names = list(shortString, () => Number.MAX_SAFE_INTEGER, true);
const features = list(shortString, () => MAX_FEATURES, true);
const info: Validator<string> = (value, key, limits) => text(value, key, limits.maxContentBytes);

// The type system makes each table complete: a key without a validator does not compile.
const CLIENT_KEYS: { [K in keyof ClientFrame]-?: Validator<NonNullable<ClientFrame[K]>> } = {
  USERNAME: (value, key) => {
    if (typeof value !== 'string') throw badType(key, 'a string');
    return value; // name rules are the session's (checkUsername), so the refusal can say why
  },
  MESSAGES: messages,
  FEATURES: features,
  WHO: shortString,
};

const SERVER_KEYS: { [K in keyof ServerFrame]-?: Validator<NonNullable<ServerFrame[K]>> } = {
  USERNAME_ACCEPTED: boolean,
  INFO: info,
  USER_LIST: names,
  MESSAGES: list(chatMessage, () => Number.MAX_SAFE_INTEGER, true),
  USERS_JOINED: names,
  USERS_LEFT: names,
  ERROR: info,
  FEATURES: features,
  CODE: shortString,
  WHO: whoAnswer,
};

export const CLIENT_KEY_NAMES = Object.keys(CLIENT_KEYS) as (keyof ClientFrame)[];
export const SERVER_KEY_NAMES = Object.keys(SERVER_KEYS) as (keyof ServerFrame)[];

/**
 * How unknown keys are treated: `strict` refuses them; `login` ignores them (a client may send more
 * keys with USERNAME, e.g. its own features) and takes a malformed FEATURES as none; `lenient` (a
 * client reading a newer or foreign server) ignores them, and a frame with no known key is empty.
 */
type Strictness = 'strict' | 'login' | 'lenient';

function validate<F>(
  object: Record<string, unknown>,
  table: Record<string, Validator<unknown>>,
  limits: ProtocolLimits,
  strictness: Strictness,
): F {
  const out: Record<string, unknown> = {};
  let known = 0;
  for (const key of Object.keys(object)) {
    // Object.hasOwn: "__proto__" or "toString" from the wire must not find inherited members.
    if (!Object.hasOwn(table, key)) {
      if (strictness === 'strict') throw new ProtocolError('ERR_UNKNOWN_KEY', `"${quoteInput(key)}"`);
      continue;
    }
    if (strictness === 'login' && key === 'FEATURES') {
      try {
        out[key] = table[key](object[key], key, limits);
      } catch {
        // another implementation's idea of FEATURES: it asked for none of ours
      }
      continue;
    }
    out[key] = table[key](object[key], key, limits);
    known++;
  }
  if (known === 0 && strictness !== 'lenient')
    throw new ProtocolError('ERR_EMPTY', 'no known key in the frame');
  return out as F;
}

/**
 * Server side: strict. Unknown keys and wrong types are errors with codes, except that a frame with
 * USERNAME may carry keys of its own (the base protocol lets a client announce features at login).
 */
export function parseClientFrame(
  object: Record<string, unknown>,
  limits = DEFAULT_PROTOCOL_LIMITS,
): ClientFrame {
  const strictness = Object.hasOwn(object, 'USERNAME') ? 'login' : 'strict';
  return validate<ClientFrame>(object, CLIENT_KEYS, limits, strictness);
}

/** Client side: wrong types are errors; unknown keys from a newer or foreign server are ignored. */
export function parseServerFrame(
  object: Record<string, unknown>,
  limits = DEFAULT_PROTOCOL_LIMITS,
): ServerFrame {
  return validate<ServerFrame>(object, SERVER_KEYS, limits, 'lenient');
}

/** The keys of the base protocol a server may send; anything else is an extension. */
export const BASE_SERVER_KEYS: ReadonlySet<string> = new Set<keyof ServerFrame>([
  'USERNAME_ACCEPTED',
  'INFO',
  'USER_LIST',
  'MESSAGES',
  'USERS_JOINED',
  'USERS_LEFT',
  'ERROR',
]);

/** The ERROR frame for an error; its CODE (an extension) only for a client that asked for CODE. */
export function errorFrame(error: { code: string; message: string }, withCode: boolean): ServerFrame {
  return withCode ? { ERROR: error.message, CODE: error.code } : { ERROR: error.message };
}
