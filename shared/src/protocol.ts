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

/** Extension (RECEIPTS): what became of one message a client sent, in the order it sent them. */
export interface Receipt {
  /** The server id of the stored message; null when it was refused (nothing stored). */
  id: number | null;
  dest: string;
  /** delivered: handed to every recipient online; queued: kept for an offline recipient; refused. */
  status: 'delivered' | 'queued' | 'refused';
  /** Why it was queued or refused, for people. */
  reason?: string;
}

/** Extension (ACCOUNTS): who the connection is logged in as. */
export interface AccountState {
  name: string;
  /** A registered name (password) rather than a guest. */
  registered: boolean;
}

/** Extension (ACCOUNTS): a password change. */
export interface PasswordChange {
  old: string;
  new: string;
}

export interface ClientFrame {
  USERNAME?: string;
  MESSAGES?: ChatMessage[];
  /** Extension: features the client supports, sent with USERNAME. */
  FEATURES?: string[];
  /** Extension: ask whether a user is online, or when they were last seen. */
  WHO?: string;
  /** Extension (ACCOUNTS), with USERNAME: the password of a registered name. */
  PASSWORD?: string;
  /** Extension (ACCOUNTS): register a name with this password (with USERNAME: that name; after login: yours). */
  REGISTER?: string;
  /** Extension (ACCOUNTS): change your password. */
  PASSWD?: PasswordChange;
  /** Extension (ACCOUNTS), with USERNAME: a guest's resume token from an earlier login. */
  RESUME?: string;
  /** Extension (RECEIPTS), with USERNAME: the last message id seen; what came after is replayed. */
  SINCE?: number;
}

/** Client keys that only make sense in the frame that carries USERNAME. */
export const LOGIN_KEYS: ReadonlySet<keyof ClientFrame> = new Set<keyof ClientFrame>([
  'USERNAME',
  'FEATURES',
  'PASSWORD',
  'RESUME',
  'SINCE',
]);

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
  /** Extension (RECEIPTS): the server id of each message in MESSAGES, in the same order. */
  IDS?: number[];
  /** Extension (RECEIPTS): the MESSAGES of this frame arrived while the user was away. */
  AWAY?: boolean;
  /** Extension (RECEIPTS): what became of the messages the client sent, in its order. */
  RECEIPTS?: Receipt[];
  /** Extension (ACCOUNTS): who this connection is logged in as (with the accept, and after REGISTER). */
  ACCOUNT?: AccountState;
  /** Extension (ACCOUNTS): a guest's token; sent back with USERNAME as RESUME it proves the same guest. */
  RESUME?: string;
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
export const FEATURE_NAMES = ['WHO', 'CODE', 'ACCOUNTS', 'RECEIPTS'] as const;
export type FeatureName = (typeof FEATURE_NAMES)[number];

/** The server keys each feature enables: a client that did not ask for the feature never sees them. */
export const FEATURE_SERVER_KEYS: Readonly<Record<FeatureName, readonly (keyof ServerFrame)[]>> = {
  CODE: ['CODE'],
  WHO: ['WHO'],
  ACCOUNTS: ['ACCOUNT', 'RESUME'],
  RECEIPTS: ['IDS', 'AWAY', 'RECEIPTS'],
};

/** Which feature a server extension key belongs to (FEATURES itself: answered to whoever sent FEATURES). */
export const FEATURE_OF_SERVER_KEY: ReadonlyMap<string, FeatureName> = new Map(
  Object.entries(FEATURE_SERVER_KEYS).flatMap(([feature, keys]) =>
    keys.map((key) => [key, feature as FeatureName] as const),
  ),
);
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

const record = (value: unknown, key: string): Record<string, unknown> => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badType(key, 'an object');
  return value as Record<string, unknown>;
};

const boolean: Validator<boolean> = (value, key) => {
  if (typeof value !== 'boolean') throw badType(key, 'true or false');
  return value;
};

const whoAnswer: Validator<WhoAnswer> = (value, key, limits) => {
  const fields = record(value, key);
  const lastSeen = fields.lastSeen;
  if (lastSeen !== null && (typeof lastSeen !== 'number' || !Number.isSafeInteger(lastSeen))) {
    throw badType(`${key}.lastSeen`, 'an integer or null');
  }
  return {
    name: shortString(fields.name, `${key}.name`, limits),
    online: boolean(fields.online, `${key}.online`, limits),
    known: boolean(fields.known, `${key}.known`, limits),
    lastSeen,
  };
};

const messageId: Validator<number> = (value, key) => {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw badType(key, 'a whole number >= 0 (a message id)');
  }
  return value;
};

/** A password: text of 1 to 256 bytes (longer ones only cost hashing time). */
const password: Validator<string> = (value, key) => {
  const checked = text(value, key, MAX_SHORT_STRING);
  if (checked.length === 0) throw new ProtocolError('ERR_EMPTY', `${key} is empty`);
  return checked;
};

const passwordChange: Validator<PasswordChange> = (value, key, limits) => {
  const fields = record(value, key);
  return { old: password(fields.old, `${key}.old`, limits), new: password(fields.new, `${key}.new`, limits) };
};

const RECEIPT_STATUSES = new Set(['delivered', 'queued', 'refused']);
const receipt: Validator<Receipt> = (value, key, limits) => {
  const fields = record(value, key);
  if (typeof fields.status !== 'string' || !RECEIPT_STATUSES.has(fields.status)) {
    throw badType(`${key}.status`, 'delivered, queued or refused');
  }
  const out: Receipt = {
    id: fields.id === null ? null : messageId(fields.id, `${key}.id`, limits),
    dest: shortString(fields.dest, `${key}.dest`, limits),
    status: fields.status as Receipt['status'],
  };
  if (fields.reason !== undefined) out.reason = text(fields.reason, `${key}.reason`, limits.maxContentBytes);
  return out;
};

const accountState: Validator<AccountState> = (value, key, limits) => {
  const fields = record(value, key);
  return {
    name: shortString(fields.name, `${key}.name`, limits),
    registered: boolean(fields.registered, `${key}.registered`, limits),
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
  PASSWORD: password,
  REGISTER: password,
  PASSWD: passwordChange,
  RESUME: shortString,
  SINCE: messageId,
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
  IDS: list(messageId, () => Number.MAX_SAFE_INTEGER, true),
  AWAY: boolean,
  RECEIPTS: list(receipt, () => Number.MAX_SAFE_INTEGER, true),
  ACCOUNT: accountState,
  RESUME: shortString,
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
