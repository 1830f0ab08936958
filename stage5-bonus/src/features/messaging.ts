import {
  DEST_ALL,
  MAX_FRAME_BYTES,
  usernameKey,
  type ChatMessage,
  type Receipt,
  type ServerFrame,
} from '#shared';
import type { Admission, Hub, HubUser, LoginRequest } from '#stage3/hub';
import { describePresence, type Presence } from '#stage4/features/presence';
import type { ChatStore, StoredMessage } from '../store/chat-store.ts';
import { toChatMessage } from '../store/chat-store.ts';
import type { Accounts, Identity } from './accounts.ts';

export interface MessagingOptions {
  store: ChatStore;
  presence: Presence;
  accounts: Accounts;
  /** Bytes of history in an accept frame (the rest of a SINCE replay follows in more frames). */
  maxLoginHistoryBytes?: number;
  log?: (line: string) => void;
}

export interface Messaging {
  /** The login's history, ids, account keys and the delivery of what waited in the mailbox. */
  admission(request: LoginRequest, identity: Identity): Admission;
}

/** What a sender hears about one message, once its store write has finished. */
type PendingReceipt = Promise<Receipt>;

/**
 * Stage 5's routing: stage 4's rules (ALL or one user, every absence answered) plus durability. Every
 * message gets a server id and is stored (public history, the pair's private conversation); a
 * message to a registered user who is offline waits in their mailbox and comes at their next login,
 * marked as arrived while away, once. Clients that asked for RECEIPTS hear what became of each message
 * after its write is on disk, in the order they sent them.
 */
export function registerMessaging(hub: Hub, options: MessagingOptions): Messaging {
  const { store, presence, accounts } = options;
  const log = options.log ?? (() => {});
  const maxLoginHistoryBytes = options.maxLoginHistoryBytes ?? MAX_FRAME_BYTES / 2;
  /** Each sender's receipts go out in its order, whatever order their writes finish in. */
  const receiptChains = new WeakMap<HubUser, Promise<void>>();
  hub.offerFeature('RECEIPTS');

  const stored = (reason: string) => (error: Error) => {
    log(`store write failed (${reason}): ${error.message}`);
    throw error;
  };

  const sendReceipts = (sender: HubUser, pending: PendingReceipt[]): void => {
    if (pending.length === 0) return;
    const wants = sender.features.has('RECEIPTS');
    const previous = receiptChains.get(sender) ?? Promise.resolve();
    const next = previous.then(async () => {
      const receipts = await Promise.all(pending);
      if (wants && hub.userByConn(sender.conn) === sender) hub.sendTo(sender, { RECEIPTS: receipts });
    });
    receiptChains.set(sender, next);
  };

  /** A receipt once `write` is on disk; a failed write is told to the sender, who must not believe it saved. */
  const receiptAfter = (sender: HubUser, write: Promise<unknown>, receipt: Receipt): PendingReceipt =>
    write.then(
      () => receipt,
      () => {
        if (hub.userByConn(sender.conn) === sender) {
          hub.error(
            sender,
            'ERR_STORE_FAILED',
            `the server could not save your message to ${receipt.dest} (its disk may be full): it is kept in memory until it can be`,
          );
        }
        return { ...receipt, reason: 'not saved yet: the server could not write it to disk' };
      },
    );

  const publish = (sender: HubUser, run: StoredMessage[], pending: PendingReceipt[]): void => {
    if (run.length === 0) return;
    for (const message of run) {
      const write = store.appendPublic(message).catch(stored('public message'));
      pending.push(receiptAfter(sender, write, { id: message[0], dest: DEST_ALL, status: 'delivered' }));
    }
    hub.broadcast({ MESSAGES: run.map(toChatMessage), IDS: run.map(([id]) => id) });
    log(`${sender.name} -> ALL (${hub.onlineCount} online): delivered ${run.length}`);
  };

  const sendDirect = (
    sender: HubUser,
    [src, dest, , content]: ChatMessage,
    pending: PendingReceipt[],
  ): void => {
    const recipient = hub.userByName(dest);
    const destKey = usernameKey(dest);
    const account = store.account(destKey);
    if (!recipient && !account) {
      const answer = presence.who(dest);
      const code = answer.known ? 'ERR_USER_OFFLINE' : 'ERR_UNKNOWN_USER';
      const why = describePresence(answer, hub.nowSeconds());
      hub.error(sender, code, `${why}: your message was not delivered`);
      pending.push(Promise.resolve({ id: null, dest, status: 'refused', reason: why }));
      log(`${sender.name} -> ${answer.name}: ${answer.known ? 'offline guest' : 'unknown user'}, refused`);
      return;
    }
    const message: StoredMessage = [
      store.takeId(),
      src,
      recipient?.name ?? account!.name,
      hub.nowSeconds(),
      content,
    ];
    const [id, , spelled] = message;
    const write = store.appendPrivate(message, sender.key, destKey).catch(stored('private message'));
    if (!recipient) {
      const queued = store.enqueue(destKey, message).catch(stored('mailbox'));
      const reason = `${spelled} is offline: it waits for their next login`;
      if (!sender.features.has('RECEIPTS')) hub.sendTo(sender, { INFO: `${reason} (message queued)` });
      pending.push(
        receiptAfter(sender, Promise.all([write, queued]), { id, dest: spelled, status: 'queued', reason }),
      );
      log(`${sender.name} -> ${spelled}: offline, queued`);
      return;
    }
    const frame: ServerFrame = { MESSAGES: [toChatMessage(message)], IDS: [id] };
    if (recipient === sender) frame.INFO = 'note to self: only you can see it';
    const queued = hub.sendTo(recipient, frame, () => undelivered(sender, recipient, message));
    if (!queued) undelivered(sender, recipient, message);
    pending.push(receiptAfter(sender, write, { id, dest: spelled, status: 'delivered' }));
    log(`${sender.name} -> ${spelled}: delivered`);
  };

  /** The recipient vanished with the message in flight: a registered one gets it at next login. */
  const undelivered = (sender: HubUser, recipient: HubUser, message: StoredMessage): void => {
    const isSenderHere = hub.userByConn(sender.conn) === sender;
    if (accounts.isRegistered(recipient.key)) {
      store
        .enqueue(recipient.key, message)
        .catch((error: Error) => log(`mailbox write failed: ${error.message}`));
      if (isSenderHere)
        hub.sendTo(sender, {
          INFO: `${recipient.name} left before your message reached them: it waits for their next login`,
        });
      return;
    }
    if (isSenderHere) {
      hub.error(
        sender,
        'ERR_UNDELIVERED',
        `${recipient.name} left before your message reached them: it was not delivered`,
      );
    }
  };

  // MESSAGES [[SRC, DEST, TIMESTAMP, CONTENT], ...]: DEST "ALL" or one user's name
  hub.handle('chat', (sender, { messages }) => {
    const pending: PendingReceipt[] = [];
    // In the frame's order; consecutive public messages still leave as one fan-out frame.
    let run: StoredMessage[] = [];
    for (const message of messages) {
      if (message[1] === DEST_ALL) {
        run.push([store.takeId(), message[0], DEST_ALL, hub.nowSeconds(), message[3]]);
        continue;
      }
      publish(sender, run, pending);
      run = [];
      sendDirect(sender, message, pending);
    }
    publish(sender, run, pending);
    sendReceipts(sender, pending);
  });

  const admission = (request: LoginRequest, identity: Identity): Admission => {
    const { key, credentials, features } = request;
    const waiting = identity.registered ? store.mailbox(key) : [];
    const waitingIds = new Set(waiting.map(([id]) => id));
    const since = features.has('RECEIPTS') ? credentials.since : undefined;
    const history = store.history({
      privateFor: identity.privateHistory === 'own' ? key : undefined,
      addressedTo: identity.privateHistory === 'addressed' ? key : undefined,
      since,
      except: waitingIds,
      // A replay of what was missed may be long: it is split over frames; a plain login gets a tail.
      maxBytes: since === undefined ? maxLoginHistoryBytes : Number.MAX_SAFE_INTEGER,
    });
    const accept: ServerFrame = {
      INFO: identity.welcome,
      IDS: history.map(([id]) => id),
      ACCOUNT: { name: request.name, registered: identity.registered },
    };
    if (identity.resumeToken) accept.RESUME = identity.resumeToken;
    return {
      accepted: true,
      history: history.map(toChatMessage),
      accept,
      afterLogin: (user) => deliverWaiting(user, waiting),
    };
  };

  /** The mailbox, once: cleared as it is handed over, put back if the connection drops with it. */
  const deliverWaiting = (user: HubUser, waiting: StoredMessage[]): void => {
    if (waiting.length === 0) return;
    const ids = new Set(waiting.map(([id]) => id));
    const count = waiting.length;
    const frame: ServerFrame = {
      MESSAGES: waiting.map(toChatMessage),
      IDS: [...ids],
      AWAY: true,
      INFO: `${count} message${count === 1 ? '' : 's'} arrived while you were away`,
    };
    let isLost = false;
    const lost = () => {
      if (isLost) return;
      isLost = true;
      for (const message of waiting) store.enqueue(user.key, message).catch(() => {});
    };
    if (!hub.sendTo(user, frame, lost)) return lost();
    store.clearMailbox(user.key, ids).catch((error: Error) => log(`mailbox clear failed: ${error.message}`));
    log(`${user.name}: ${count} waiting message(s) delivered`);
  };

  return { admission };
}
