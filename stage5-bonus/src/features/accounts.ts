import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isLoopbackAddress, type ErrorCode } from '#shared';
import type { Hub, HubUser, LoginRequest, PeerInfo } from '#stage3/hub';
import type { ConnId } from '#stage3/thread-messages';
import { ACCOUNT_THROTTLE, ADDRESS_THROTTLE, LoginThrottle, describeWait } from '../login-throttle.ts';
import type { PasswordHasher } from '../password-hasher.ts';
import type { ChatStore } from '../store/chat-store.ts';

/** How long a guest's name stays reserved for its last address after it leaves. */
export const GUEST_HOLD_MS = 10 * 60_000;
export const MIN_PASSWORD_CHARS = 8;

export interface AccountsOptions {
  store: ChatStore;
  hasher: PasswordHasher;
  guestHoldMs?: number;
  /** Whether passwords may travel unencrypted from this address (default: loopback only). */
  isTrustedAddress?: (address: string) => boolean;
  now?: () => number;
  log?: (line: string) => void;
}

/** Who a login turned out to be, for what it may see again. */
export interface Identity {
  registered: boolean;
  /**
   * own: their private conversations (a registered owner, or a guest who proved it with RESUME);
   * addressed: the base rule, private messages whose DEST is the name (base-protocol guests);
   * none: public history only (a Msg guest without a valid token: maybe a new person).
   */
  privateHistory: 'own' | 'addressed' | 'none';
  /** A guest's token for RESUME next time (Msg clients only). */
  resumeToken?: string;
  /** The accept frame's INFO. */
  welcome: string;
}

export type LoginDecision = { ok: true; identity: Identity } | { ok: false; code: ErrorCode; info: string };

export interface Accounts {
  /** Decides on a login that passed the Hub's checks: passwords, registrations, held guest names. */
  decide(request: LoginRequest): Promise<LoginDecision>;
  isRegistered(key: string): boolean;
}

const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

function sameToken(token: string | undefined, tokenHash: string): boolean {
  if (!token || !tokenHash) return false;
  const actual = Buffer.from(hashToken(token), 'hex');
  const expected = Buffer.from(tokenHash, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * Accounts: registered names with scrypt passwords, guests with resume tokens, and the hold that
 * keeps a guest's name for its last address a while (PROTOCOL-BASE's suggested enhancement). Plain
 * base-protocol logins of free names keep working exactly as before.
 */
export function registerAccounts(hub: Hub, options: AccountsOptions): Accounts {
  const { store, hasher } = options;
  const now = options.now ?? Date.now;
  const log = options.log ?? (() => {});
  const guestHoldMs = options.guestHoldMs ?? GUEST_HOLD_MS;
  const isTrusted = options.isTrustedAddress ?? isLoopbackAddress;
  const byAccount = new LoginThrottle(ACCOUNT_THROTTLE, now);
  const byAddress = new LoginThrottle(ADDRESS_THROTTLE, now);
  const peers = new Map<ConnId, PeerInfo>();
  hub.offerFeature('ACCOUNTS');

  const refuse = (code: ErrorCode, info: string): LoginDecision => ({ ok: false, code, info });
  const canSendPassword = (peer: PeerInfo) => peer.isSecure || isTrusted(peer.address);
  const insecure = () =>
    refuse(
      'ERR_INSECURE_PASSWORD',
      'passwords are accepted only over TLS or from the server machine itself: connect with TLS (TLS=1) so nobody on the network can read yours',
    );
  const throttled = (key: string, address: string): LoginDecision | undefined => {
    const wait = Math.max(byAccount.waitMs(key), byAddress.waitMs(address));
    if (wait === 0) return undefined;
    return refuse('ERR_AUTH_THROTTLED', `too many failed attempts: try again in ${describeWait(wait)}`);
  };
  const weak = (password: string) =>
    [...password].length < MIN_PASSWORD_CHARS
      ? refuse('ERR_WEAK_PASSWORD', `a password needs at least ${MIN_PASSWORD_CHARS} characters`)
      : undefined;

  const decide = async (request: LoginRequest): Promise<LoginDecision> => {
    const { name, key, credentials, peer, features } = request;
    peers.set(request.conn, peer);
    const account = store.account(key);
    const isMsgClient = features.has('ACCOUNTS');
    if (
      (credentials.password !== undefined || credentials.register !== undefined) &&
      !canSendPassword(peer)
    ) {
      return insecure();
    }
    if (credentials.register !== undefined) {
      if (account)
        return refuse(
          'ERR_NAME_REGISTERED',
          `${account.name} is already registered: log in with its password`,
        );
      const refusal = heldRefusal(name, key, peer, credentials.resume) ?? weak(credentials.register);
      if (refusal) return refusal;
      const verifier = await hasher.create(credentials.register);
      if (store.account(key)) return refuse('ERR_NAME_REGISTERED', `${name} was registered a moment ago`);
      await store.putAccount({ name, key, ...verifier, createdAt: Math.floor(now() / 1000), lastSeen: null });
      await store.forgetGuest(key);
      log(`${name} registered`);
      return {
        ok: true,
        identity: { registered: true, privateHistory: 'own', welcome: `${name} is now registered: welcome` },
      };
    }
    if (credentials.password !== undefined) {
      const wait = throttled(key, peer.address);
      if (wait) return wait;
      // Unknown names are checked against a decoy: the same answer, after the same time.
      const ok = await hasher.verify(credentials.password, account);
      if (!ok || !account) {
        byAccount.fail(key);
        byAddress.fail(peer.address);
        log(`failed login for a registered name from ${peer.address}`);
        return refuse('ERR_AUTH_FAILED', 'wrong name or password');
      }
      byAccount.succeed(key);
      return {
        ok: true,
        identity: { registered: true, privateHistory: 'own', welcome: `welcome back, ${account.name}` },
      };
    }
    if (account) {
      return refuse(
        'ERR_AUTH_REQUIRED',
        `${account.name} is a registered name: log in with its password (or pick another name to chat as a guest)`,
      );
    }
    const refusal = heldRefusal(name, key, peer, credentials.resume);
    if (refusal) return refusal;
    const guest = store.guest(key);
    const resumed = isMsgClient && sameToken(credentials.resume, guest?.tokenHash ?? '');
    const token = isMsgClient
      ? resumed
        ? credentials.resume!
        : randomBytes(24).toString('base64url')
      : undefined;
    if (token && !resumed) {
      // Not awaited: a lost token only costs its guest the private history, not the login.
      store
        .putGuest({ name, key, tokenHash: hashToken(token), address: peer.address, leftAt: null })
        .catch((error: Error) => log(`could not save the guest token of ${name}: ${error.message}`));
    }
    if (!isMsgClient) {
      return {
        ok: true,
        identity: {
          registered: false,
          privateHistory: 'addressed',
          welcome: `welcome, ${name}: you are a guest; a Msg client can register your name, so only you see your private messages`,
        },
      };
    }
    return {
      ok: true,
      identity: {
        registered: false,
        privateHistory: resumed ? 'own' : 'none',
        resumeToken: token,
        welcome: resumed
          ? `welcome back, ${name} (guest)`
          : `welcome, ${name}: you are a guest (/register keeps your name)`,
      },
    };
  };

  /** A guest name that left recently is kept for its last address (or whoever has its token). */
  function heldRefusal(
    name: string,
    key: string,
    peer: PeerInfo,
    resume: string | undefined,
  ): LoginDecision | undefined {
    const guest = store.guest(key);
    if (!guest || guest.leftAt === null || guest.address === peer.address) return undefined;
    if (sameToken(resume, guest.tokenHash)) return undefined;
    const left = now() - guest.leftAt * 1000;
    if (left >= guestHoldMs) return undefined;
    return refuse(
      'ERR_NAME_HELD',
      `${name} was used from another address until recently and is kept for that user for ${describeWait(guestHoldMs - left)} more: pick another name, or register one to keep it`,
    );
  }

  hub.onLeave((user, at) => {
    const peer = peers.get(user.conn);
    peers.delete(user.conn);
    const done = store.account(user.key)
      ? store.touchAccount(user.key, at)
      : store.putGuest({
          ...(store.guest(user.key) ?? { name: user.name, key: user.key, tokenHash: '' }),
          address: peer?.address ?? '',
          leftAt: at,
        });
    done.catch((error: Error) => log(`could not save that ${user.name} left: ${error.message}`));
  });

  /** Runs an async handler; a failure costs one ERROR, never an unhandled rejection. */
  const guarded = (user: HubUser, what: string, run: () => Promise<void>) => {
    run().catch((error: Error) => {
      log(`${what} for ${user.name} failed: ${error.message}`);
      if (hub.userByConn(user.conn) === user)
        hub.error(user, 'ERR_STORE_FAILED', `${what} could not be saved: try again later`);
    });
  };

  // REGISTER "password": registers the name you are logged in with
  hub.handle('register', (user, { password }) => {
    if (store.account(user.key))
      return hub.error(user, 'ERR_NAME_REGISTERED', `${user.name} is already registered`);
    const peer = peers.get(user.conn);
    if (!peer || !canSendPassword(peer)) return hub.error(user, 'ERR_INSECURE_PASSWORD', insecureText());
    const tooWeak = weak(password);
    if (tooWeak && !tooWeak.ok) return hub.error(user, tooWeak.code, tooWeak.info);
    guarded(user, 'the registration', async () => {
      const verifier = await hasher.create(password);
      if (store.account(user.key))
        return hub.error(user, 'ERR_NAME_REGISTERED', `${user.name} is already registered`);
      await store.putAccount({
        name: user.name,
        key: user.key,
        ...verifier,
        createdAt: Math.floor(now() / 1000),
        lastSeen: null,
      });
      await store.forgetGuest(user.key);
      log(`${user.name} registered`);
      if (hub.userByConn(user.conn) !== user) return;
      hub.sendTo(user, {
        ACCOUNT: { name: user.name, registered: true },
        INFO: `${user.name} is now registered: log in with your password next time; only you will see your private messages`,
      });
    });
  });

  // PASSWD {"old": "...", "new": "..."}
  hub.handle('passwd', (user, { change }) => {
    const account = store.account(user.key);
    if (!account)
      return hub.error(user, 'ERR_NOT_REGISTERED', `${user.name} is a guest name: /register it first`);
    const peer = peers.get(user.conn);
    if (!peer || !canSendPassword(peer)) return hub.error(user, 'ERR_INSECURE_PASSWORD', insecureText());
    const wait = throttled(user.key, peer.address);
    if (wait && !wait.ok) return hub.error(user, wait.code, wait.info);
    const tooWeak = weak(change.new);
    if (tooWeak && !tooWeak.ok) return hub.error(user, tooWeak.code, tooWeak.info);
    guarded(user, 'the new password', async () => {
      if (!(await hasher.verify(change.old, account))) {
        byAccount.fail(user.key);
        byAddress.fail(peer.address);
        return hub.error(user, 'ERR_AUTH_FAILED', 'the old password is wrong: nothing changed');
      }
      await store.putAccount({ ...account, ...(await hasher.create(change.new)) });
      log(`${user.name} changed their password`);
      if (hub.userByConn(user.conn) === user) hub.sendTo(user, { INFO: 'your password is changed' });
    });
  });

  function insecureText(): string {
    const refusal = insecure();
    return refusal.ok ? '' : refusal.info;
  }

  return { decide, isRegistered: (key) => store.account(key) !== undefined };
}
