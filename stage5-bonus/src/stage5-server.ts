import { createChatServer, type ChatServer, type ChatServerOptions } from '#stage3/chat-server';
import { registerPresence } from '#stage4/features/presence';
import { registerAccounts, type AccountsOptions } from './features/accounts.ts';
import { registerMessaging } from './features/messaging.ts';
import { PasswordHasher, type ScryptCost } from './password-hasher.ts';
import { ChatStore } from './store/chat-store.ts';

/** Joins and leaves within this window go out as one list per recipient. */
export const PRESENCE_BATCH_MS = 25;

export interface Stage5ServerOptions extends Omit<ChatServerOptions, 'features'> {
  /** The chat's durable state (a lowdb store in production, a memory store in tests); opened here. */
  store: ChatStore;
  scryptCost?: ScryptCost;
  guestHoldMs?: number;
  isTrustedAddress?: AccountsOptions['isTrustedAddress'];
}

export interface Stage5Server extends ChatServer {
  readonly store: ChatStore;
}

/**
 * The stage 5 server: the stage 3/4 core (sessions inline by default: measured faster on 2 cores),
 * stage 4's presence, and stage 5's accounts and durable messaging over a ChatStore. Opens the store
 * (a locked or damaged data directory refuses to start); close() tells everyone, then flushes it.
 */
export async function createStage5Server(options: Stage5ServerOptions): Promise<Stage5Server> {
  const { store } = options;
  const log = options.log ?? ((line: string) => console.log(line));
  await store.open();
  const hasher = new PasswordHasher(options.scryptCost);
  const server = createChatServer({
    title: 'Msg stage 5 server',
    ...options,
    workers: options.workers ?? 0,
    log,
    hub: { presenceBatchMs: PRESENCE_BATCH_MS, ...options.hub },
    features: [
      (hub) => {
        const presence = registerPresence(hub);
        const accounts = registerAccounts(hub, {
          store,
          hasher,
          guestHoldMs: options.guestHoldMs,
          isTrustedAddress: options.isTrustedAddress,
          now: options.now,
          log,
        });
        const messaging = registerMessaging(hub, { store, presence, accounts, log });
        hub.setLoginGate(async (request) => {
          const decision = await accounts.decide(request);
          if (!decision.ok) return { accepted: false, info: decision.info, code: decision.code };
          return messaging.admission(request, decision.identity);
        });
      },
    ],
  });
  return {
    ...server,
    store,
    hub: server.hub,
    get connectionCount() {
      return server.connectionCount;
    },
    async close() {
      await server.close();
      await store.close();
    },
  };
}
