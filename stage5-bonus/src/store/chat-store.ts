import { createHash } from 'node:crypto';
import { DEST_ALL, encodedMessageBytes, usernameKey, type ChatMessage } from '#shared';
import type { DocumentStore } from './document-store.ts';

/** A stored message: its server id, then the base protocol's 4-tuple. Compact on disk. */
export type StoredMessage = [id: number, src: string, dest: string, timestamp: number, content: string];

/** A registered name: its spelling, key, and the scrypt verifier of its password. */
export interface AccountRecord {
  name: string;
  key: string;
  /** base64 salt and derived key; the cost is stored so it can be raised for new accounts later. */
  salt: string;
  hash: string;
  cost: { N: number; r: number; p: number };
  createdAt: number;
  /** Seconds since the epoch when the user last left (null while never seen since registering). */
  lastSeen: number | null;
}

/** A guest who has been here: the resume token (hashed), and where they were last. */
export interface GuestRecord {
  name: string;
  key: string;
  /** sha256 of the resume token, hex; empty for base-protocol guests (they get no token). */
  tokenHash: string;
  address: string;
  /** Seconds since the epoch when the guest left; null while online. */
  leftAt: number | null;
}

export interface ChatStoreLimits {
  /** Messages kept per conversation (public, and each pair's private one). */
  maxHistoryMessages: number;
  /** Bytes kept per conversation: lowdb rewrites a document's whole file on each commit. */
  maxHistoryBytes: number;
  /** Messages kept for one offline user. */
  maxMailboxMessages: number;
  maxMailboxBytes: number;
  /** Guests remembered (their tokens and holds); the oldest departure is forgotten first. */
  maxGuests: number;
}

export const DEFAULT_CHAT_STORE_LIMITS: ChatStoreLimits = {
  maxHistoryMessages: 10_000,
  maxHistoryBytes: 4 * 1024 * 1024,
  maxMailboxMessages: 1_000,
  maxMailboxBytes: 4 * 1024 * 1024,
  maxGuests: 20_000,
};

/** Ids are reserved in blocks on disk, so a restart never hands out an id a client has already seen. */
const ID_BLOCK = 1_000;

interface MessageList {
  messages: StoredMessage[];
}
interface Conversation extends MessageList {
  /** The two user keys of a private conversation, sorted; absent for the public one. */
  pair?: [string, string];
}
interface Mailbox extends MessageList {
  owner: string;
}
interface Meta {
  /** Ids below this may have been handed out. */
  idsReservedUntil: number;
}

const PUBLIC = 'public';
const ACCOUNTS = 'accounts';
const GUESTS = 'guests';
const META = 'meta';

/** A document name for a user key or pair: hashed, so any name maps to a safe file name. */
function hashed(prefix: string, ...keys: string[]): string {
  return `${prefix}/${createHash('sha256').update(keys.join('\u0000')).digest('hex').slice(0, 32)}`;
}

function pairOf(a: string, b: string): [string, string] {
  return a < b ? [a, b] : [b, a];
}

function bytesOf([, src, dest, timestamp, content]: StoredMessage): number {
  return encodedMessageBytes([src, dest, timestamp, content]);
}

/** Drops the oldest messages until the list fits both caps (a newest message always stays). */
function trim(list: StoredMessage[], maxMessages: number, maxBytes: number): void {
  let bytes = 0;
  let keep = 0;
  for (let i = list.length - 1; i >= 0; i--) {
    bytes += bytesOf(list[i]);
    if (keep > 0 && (keep >= maxMessages || bytes > maxBytes)) break;
    keep++;
  }
  if (keep < list.length) list.splice(0, list.length - keep);
}

export function toChatMessage([, src, dest, timestamp, content]: StoredMessage): ChatMessage {
  return [src, dest, timestamp, content];
}

/**
 * The chat's durable state over a DocumentStore: accounts, guests, the public history, one private
 * conversation per pair of users, one mailbox per offline user, and message ids. Everything is in
 * memory (reads are synchronous, so the Hub never awaits the disk); every change returns the promise
 * of its group commit, which acknowledgements wait for.
 */
export class ChatStore {
  readonly documents: DocumentStore;
  readonly limits: ChatStoreLimits;
  readonly #accounts = new Map<string, AccountRecord>();
  readonly #guests = new Map<string, GuestRecord>();
  /** user key -> the private conversations (document names) they are in. */
  readonly #conversationsOf = new Map<string, Set<string>>();
  #nextId = 1;
  #reservedUntil = 1;

  constructor(documents: DocumentStore, limits: Partial<ChatStoreLimits> = {}) {
    this.documents = documents;
    this.limits = { ...DEFAULT_CHAT_STORE_LIMITS, ...limits };
  }

  /** Opens the documents (lock, corrupt files: StoreError) and builds the in-memory indexes. */
  async open(): Promise<void> {
    await this.documents.open();
    for (const account of this.documents.read<{ accounts: AccountRecord[] }>(ACCOUNTS)?.accounts ?? []) {
      this.#accounts.set(account.key, account);
    }
    for (const guest of this.documents.read<{ guests: GuestRecord[] }>(GUESTS)?.guests ?? []) {
      this.#guests.set(guest.key, guest);
    }
    let highest = 0;
    const see = (list: MessageList | undefined) => {
      const last = list?.messages.at(-1);
      if (last && last[0] > highest) highest = last[0];
    };
    see(this.documents.read<Conversation>(PUBLIC));
    for (const name of this.documents.list('dm/')) {
      const conversation = this.documents.read<Conversation>(name);
      see(conversation);
      for (const key of conversation?.pair ?? []) this.#index(key, name);
    }
    for (const name of this.documents.list('mailbox/')) see(this.documents.read<Mailbox>(name));
    const reserved = this.documents.read<Meta>(META)?.idsReservedUntil ?? 1;
    this.#nextId = Math.max(highest + 1, reserved);
    await this.#reserveIds();
  }

  close(): Promise<void> {
    return this.documents.close();
  }

  // ---- accounts ------------------------------------------------------------------------------

  account(key: string): AccountRecord | undefined {
    return this.#accounts.get(key);
  }

  get accountCount(): number {
    return this.#accounts.size;
  }

  /** Every registered account, for /allusers. */
  get accounts(): IterableIterator<AccountRecord> {
    return this.#accounts.values();
  }

  putAccount(account: AccountRecord): Promise<void> {
    this.#accounts.set(account.key, account);
    return this.#writeAccounts();
  }

  /** Records when a registered user left (for WHO); one small write, group committed. */
  touchAccount(key: string, lastSeen: number): Promise<void> {
    const account = this.#accounts.get(key);
    if (!account) return Promise.resolve();
    account.lastSeen = lastSeen;
    return this.#writeAccounts();
  }

  // ---- guests --------------------------------------------------------------------------------

  guest(key: string): GuestRecord | undefined {
    return this.#guests.get(key);
  }

  putGuest(guest: GuestRecord): Promise<void> {
    this.#guests.delete(guest.key); // re-insert: Map order is then the oldest touched first
    this.#guests.set(guest.key, guest);
    while (this.#guests.size > this.limits.maxGuests) this.#guests.delete(this.#guests.keys().next().value!);
    return this.documents.write(GUESTS, { guests: [...this.#guests.values()] });
  }

  forgetGuest(key: string): Promise<void> {
    if (!this.#guests.delete(key)) return Promise.resolve();
    return this.documents.write(GUESTS, { guests: [...this.#guests.values()] });
  }

  // ---- messages ------------------------------------------------------------------------------

  /** A new message id (monotonic across restarts). */
  takeId(): number {
    const id = this.#nextId++;
    // Reserve the next block half way through this one, so it is on disk long before it is used.
    // A failed write stays dirty and goes out with the next commit.
    if (this.#reservedUntil - this.#nextId < ID_BLOCK / 2) void this.#reserveIds().catch(() => {});
    return id;
  }

  /** Stores a public message (DEST "ALL"). */
  appendPublic(message: StoredMessage): Promise<void> {
    return this.#append(PUBLIC, message, () => ({ messages: [] }));
  }

  /** Stores a private message in the conversation of the two users (keys). */
  appendPrivate(message: StoredMessage, fromKey: string, toKey: string): Promise<void> {
    const pair = pairOf(fromKey, toKey);
    const name = hashed('dm', ...pair);
    this.#index(fromKey, name);
    this.#index(toKey, name);
    return this.#append(name, message, () => ({ pair, messages: [] }));
  }

  /**
   * What a user may see again, oldest first: public messages and, with `privateFor`, that user's own
   * private conversations (both directions). `addressedTo` instead gives the base rule: private
   * messages whose DEST is that name (stage 4's login history). Only ids above `since` (when given)
   * and not in `except`; the newest that fit `maxBytes`.
   */
  history(options: {
    privateFor?: string;
    addressedTo?: string;
    since?: number;
    except?: ReadonlySet<number>;
    maxBytes: number;
    maxMessages?: number;
  }): StoredMessage[] {
    const lists: StoredMessage[][] = [this.documents.read<Conversation>(PUBLIC)?.messages ?? []];
    const viewer = options.privateFor ?? options.addressedTo;
    for (const name of viewer === undefined ? [] : (this.#conversationsOf.get(viewer) ?? [])) {
      lists.push(this.documents.read<Conversation>(name)?.messages ?? []);
    }
    const since = options.since ?? 0;
    const maxMessages = options.maxMessages ?? this.limits.maxHistoryMessages;
    // Merge newest first across the lists (each is in id order) until the budget is spent.
    const cursors = lists.map((list) => list.length - 1);
    const picked: StoredMessage[] = [];
    let bytes = 0;
    for (;;) {
      let best = -1;
      for (let i = 0; i < lists.length; i++) {
        if (cursors[i] >= 0 && (best < 0 || lists[i][cursors[i]][0] > lists[best][cursors[best]][0]))
          best = i;
      }
      if (best < 0) break;
      const message = lists[best][cursors[best]--];
      if (message[0] <= since) {
        cursors[best] = -1; // everything older in this list is older still
        continue;
      }
      if (options.except?.has(message[0])) continue;
      if (options.addressedTo !== undefined && best > 0 && message[2] !== DEST_ALL) {
        if (usernameKey(message[2]) !== options.addressedTo) continue;
      }
      bytes += bytesOf(message);
      if (bytes > options.maxBytes || picked.length >= maxMessages) break;
      picked.push(message);
    }
    return picked.reverse();
  }

  // ---- mailboxes (offline delivery) ----------------------------------------------------------

  /** Queues a message for an offline registered user. */
  enqueue(ownerKey: string, message: StoredMessage): Promise<void> {
    return this.#append(
      hashed('mailbox', ownerKey),
      message,
      () => ({ owner: ownerKey, messages: [] }),
      true,
    );
  }

  /** What waits for a user, oldest first (still queued until takeMailbox). */
  mailbox(ownerKey: string): StoredMessage[] {
    return this.documents.read<Mailbox>(hashed('mailbox', ownerKey))?.messages ?? [];
  }

  /** Empties a user's mailbox (they got it); resolves once that is on disk. */
  clearMailbox(ownerKey: string, ids: ReadonlySet<number>): Promise<void> {
    const name = hashed('mailbox', ownerKey);
    const mailbox = this.documents.read<Mailbox>(name);
    if (!mailbox) return Promise.resolve();
    mailbox.messages = mailbox.messages.filter(([id]) => !ids.has(id));
    return mailbox.messages.length === 0 ? this.documents.remove(name) : this.documents.write(name, mailbox);
  }

  // ---- internals -----------------------------------------------------------------------------

  #append(name: string, message: StoredMessage, create: () => MessageList, isMailbox = false): Promise<void> {
    const list = this.documents.read<MessageList>(name) ?? create();
    list.messages.push(message);
    // Ids are increasing, except a message put back into a mailbox after a failed delivery.
    if (list.messages.length > 1 && list.messages.at(-2)![0] > message[0])
      list.messages.sort((a, b) => a[0] - b[0]);
    if (isMailbox) trim(list.messages, this.limits.maxMailboxMessages, this.limits.maxMailboxBytes);
    else trim(list.messages, this.limits.maxHistoryMessages, this.limits.maxHistoryBytes);
    return this.documents.write(name, list);
  }

  #index(key: string, name: string): void {
    let names = this.#conversationsOf.get(key);
    if (!names) this.#conversationsOf.set(key, (names = new Set()));
    names.add(name);
  }

  #writeAccounts(): Promise<void> {
    return this.documents.write(ACCOUNTS, { accounts: [...this.#accounts.values()] });
  }

  #reserveIds(): Promise<void> {
    this.#reservedUntil = this.#nextId + ID_BLOCK;
    return this.documents.write<Meta>(META, { idsReservedUntil: this.#reservedUntil });
  }
}
