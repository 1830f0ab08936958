import { quoteInput, usernameKey, type WhoAnswer } from '#shared';
import type { Hub } from '#stage3/hub';

/** Names remembered for "last seen"; the oldest departure is forgotten first. */
const MAX_REMEMBERED = 100_000;
/** Memory of the last-seen table (estimated by rememberedBytes); the oldest departure goes first. */
export const MAX_REMEMBERED_BYTES = 8 * 1024 * 1024;

/**
 * An upper estimate of one entry's heap cost: both strings as two-byte strings plus a fixed 128 for
 * the string headers, the value object (its `at` is a heap number) and the Map's slot. Measured on
 * Node 20: 109 bytes for a 10-character ASCII name, 129 for 32 ASCII, 241 for 32 CJK characters.
 */
export function rememberedBytes(key: string, name: string): number {
  return 128 + 2 * (key.length + name.length);
}

export interface Presence {
  /** Online, or when last seen, or never seen. */
  who(name: string): WhoAnswer;
}

/**
 * Who is online and when the others were last seen. Registers the WHO extension:
 * `{"WHO": "bob"}` -> `{"WHO": {"name": "bob", "online": false, "lastSeen": 1732233600, "known": true}}`.
 */
export function registerPresence(
  hub: Hub,
  /** Budget of the last-seen table (rememberedBytes per name). */
  maxBytes = MAX_REMEMBERED_BYTES,
): Presence {
  const departures = new Map<string, { name: string; at: number; bytes: number }>();
  let bytes = 0;
  const forget = (key: string) => {
    const gone = departures.get(key);
    if (!gone) return;
    departures.delete(key);
    bytes -= gone.bytes;
  };

  hub.onLeave((user, at) => {
    forget(user.key); // re-insert: Map order is then oldest departure first
    const entry = { name: user.name, at, bytes: rememberedBytes(user.key, user.name) };
    departures.set(user.key, entry);
    bytes += entry.bytes;
    while (departures.size > MAX_REMEMBERED || bytes > maxBytes) forget(departures.keys().next().value!);
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
