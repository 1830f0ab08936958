import { DEST_ALL, type ChatMessage } from '#shared';
import type { Hub, HubUser } from '../hub.ts';

/**
 * Stage 3's one room: every message goes to everyone (the sender included, so all see one order),
 * stamped with the server's time and kept in the history.
 */
export function broadcastToRoom(hub: Hub, messages: ChatMessage[]): void {
  if (messages.length === 0) return;
  const stamp = hub.nowSeconds();
  const stamped = messages.map(([src, dest, , content]): ChatMessage => [src, dest, stamp, content]);
  for (const message of stamped) hub.remember(message);
  hub.broadcast({ MESSAGES: stamped });
}

export function registerRoom(hub: Hub): void {
  // MESSAGES [[SRC, "ALL", TIMESTAMP, CONTENT], ...]
  hub.handle('chat', (user: HubUser, { messages }) => {
    if (messages.some(([, dest]) => dest !== DEST_ALL)) {
      hub.error(
        user,
        'ERR_DEST_UNSUPPORTED',
        'this server delivers to ALL only: private messages arrive in stage 4',
      );
      return;
    }
    broadcastToRoom(hub, messages);
  });
}
