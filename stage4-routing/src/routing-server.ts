import { createChatServer, type ChatServer, type ChatServerOptions } from '#stage3/chat-server';
import type { Hub } from '#stage3/hub';
import { registerDirectMessages } from './features/direct-messages.ts';
import { registerPresence } from './features/presence.ts';

export interface RoutingOptions {
  /** Bytes of the last-seen table (default MAX_REMEMBERED_BYTES). */
  presenceMaxBytes?: number;
}

/** Stage 4's features on the Hub: presence (WHO, last seen) and routing to ALL or to one user. */
export function registerRouting(hub: Hub, options: RoutingOptions = {}): void {
  registerDirectMessages(hub, registerPresence(hub, options.presenceMaxBytes));
}

/**
 * The stage 4 server: stage 3's concurrent server (main-thread I/O, sessions on workers, one Hub)
 * with client-to-client routing. Only the features differ.
 */
export function createRoutingServer(
  options: Omit<ChatServerOptions, 'features'> & RoutingOptions = {},
): ChatServer {
  const { presenceMaxBytes, ...chat } = options;
  return createChatServer({
    title: 'Msg stage 4 routing server',
    ...chat,
    features: [(hub) => registerRouting(hub, { presenceMaxBytes })],
  });
}
