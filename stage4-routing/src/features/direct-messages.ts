import { DEST_ALL, quoteInput, type ChatMessage } from '#shared';
import { broadcastToRoom } from '#stage3/features/room';
import type { Hub, HubUser } from '#stage3/hub';
import { describePresence, type Presence } from './presence.ts';

/**
 * Stage 4 routing: DEST "ALL" goes to the room, any other DEST to that one user. Every message to
 * someone who cannot get it is answered, so nothing is lost silently: never here, gone (with when
 * they were last seen), gone while the message was in flight, or dropped for not keeping up.
 */
export function registerDirectMessages(hub: Hub, presence: Presence): void {
  // MESSAGES [[SRC, DEST, TIMESTAMP, CONTENT], ...]: DEST is "ALL" or one user's name
  hub.handle('chat', (sender, { messages }) => {
    // In the frame's order; consecutive public messages still leave as one fan-out frame.
    let run: ChatMessage[] = [];
    for (const message of messages) {
      if (message[1] === DEST_ALL) {
        run.push(message);
        continue;
      }
      broadcastToRoom(hub, run);
      run = [];
      sendDirect(hub, presence, sender, message);
    }
    broadcastToRoom(hub, run);
  });
}

function sendDirect(
  hub: Hub,
  presence: Presence,
  sender: HubUser,
  [src, dest, , content]: ChatMessage,
): void {
  const recipient = hub.userByName(dest);
  if (!recipient) {
    const answer = presence.who(dest);
    const code = answer.known ? 'ERR_USER_OFFLINE' : 'ERR_UNKNOWN_USER';
    hub.error(sender, code, `${describePresence(answer, hub.nowSeconds())}: your message was not delivered`);
    return;
  }
  // The recipient's own spelling of their name, and the server's clock.
  const message: ChatMessage = [src, recipient.name, hub.nowSeconds(), content];
  hub.remember(message);
  const frame =
    recipient === sender
      ? { MESSAGES: [message], INFO: 'note to self: only you can see it' }
      : { MESSAGES: [message] };
  // An unnamed arrow as an argument: a named `const f = () => ...` costs a defineProperty per DM
  // under tsx's keepNames (measured: 5% of a DM's CPU).
  const queued = hub.sendTo(recipient, frame, () => reportUndelivered(hub, sender, recipient, content));
  if (!queued) reportUndelivered(hub, sender, recipient, content);
}

/** The receipt of a DM that never reached its recipient: tell the sender, if still here. */
function reportUndelivered(hub: Hub, sender: HubUser, recipient: HubUser, content: string): void {
  if (hub.userByConn(sender.conn) !== sender) return;
  // The first 40 characters of the content, made inert (the sender's own text, but a client may
  // print an ERROR as it is).
  const text = `${recipient.name} left before your message reached them: "${quoteInput(content)}" was not delivered`;
  hub.error(sender, 'ERR_UNDELIVERED', text);
}
