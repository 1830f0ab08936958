import { quoteInput, usernameKey, type WhoAnswer } from '#shared';
import type { Hub } from '#stage3/hub';

/** Names remembered for "last seen"; the oldest departure is forgotten first. */
const MAX_REMEMBERED = 100_000;

export interface Presence {
  /** Online, or when last seen, or never seen. */
  who(name: string): WhoAnswer;
}

/**
 * Who is online and when the others were last seen. Registers the WHO extension:
 * `{"WHO": "bob"}` -> `{"WHO": {"name": "bob", "online": false, "lastSeen": 1732233600, "known": true}}`.
 */
export function registerPresence(hub: Hub): Presence {
  const departures = new Map<string, { name: string; at: number }>();

  hub.onLeave((user, at) => {
    departures.delete(user.key); // re-insert: Map order is then oldest departure first
    departures.set(user.key, { name: user.name, at });
    if (departures.size > MAX_REMEMBERED) departures.delete(departures.keys().next().value!);
  });

  const presence: Presence = {
    who(name) {
      const online = hub.userByName(name);
      if (online) return { name: online.name, online: true, lastSeen: null, known: true };
      const gone = departures.get(usernameKey(name));
      return {
        // An unknown name is the asker's input: quoted, since a client may print it as it is.
        name: gone?.name ?? quoteInput(name),
        online: false,
        lastSeen: gone?.at ?? null,
        known: gone !== undefined,
      };
    },
  };

  hub.offerFeature('WHO');
  // WHO "name"
  hub.handle('who', (user, { name }) => {
    const answer = presence.who(name);
    if (user.features.has('WHO')) hub.sendTo(user, { WHO: answer });
    else hub.sendTo(user, { INFO: describePresence(answer, hub.nowSeconds()) });
  });
  return presence;
}

/** "bob is online" / "bob was last seen 5 minutes ago (12:03 UTC)" / "nobody called bob has been here". */
export function describePresence(answer: WhoAnswer, nowSeconds: number): string {
  const name = quoteInput(answer.name); // idempotent: a name quoted by who() stays as it is
  if (answer.online) return `${name} is online`;
  if (answer.lastSeen === null) return `nobody called ${name} has been here since the server started`;
  return `${name} is not online: last seen ${describeAgo(nowSeconds - answer.lastSeen)} (${new Date(answer.lastSeen * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC)`;
}

function describeAgo(seconds: number): string {
  if (seconds < 60) return 'less than a minute ago';
  if (seconds < 3600) return `${Math.floor(seconds / 60)} minute(s) ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} hour(s) ago`;
  return `${Math.floor(seconds / 86_400)} day(s) ago`;
}
