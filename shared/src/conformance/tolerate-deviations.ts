import { BASE_SERVER_KEYS } from '../protocol.ts';

/** A server frame as the kit reads it: any JSON object. */
type Frame = Record<string, unknown>;

/**
 * A departure from PROTOCOL-BASE.md that does not stop a conversation (a tolerant client chats on):
 * the kit reads past it, reports it once, and fails on it only in strict mode.
 */
export interface Deviation {
  /** Stable identifier, one per kind of deviation (`USERNAME_ACCEPTED-string`, `key-case:Info`). */
  kind: string;
  /** What the server did and what the protocol says, as a sentence. */
  description: string;
  /** The frame as the server sent it (shortened). */
  example: string;
}

const EXAMPLE_CHARS = 160;

function example(frame: Frame): string {
  const text = JSON.stringify(frame);
  return text.length > EXAMPLE_CHARS ? `${text.slice(0, EXAMPLE_CHARS)}...(${text.length} chars)` : text;
}

/**
 * Rewrites, in place, what a tolerant client would read past in a server frame, and returns what it
 * rewrote: a base key in the wrong letter case (`Info` for `INFO`, when `INFO` is absent), and
 * USERNAME_ACCEPTED as the string "true" or "false". Anything else is left for the checks to refuse.
 */
export function tolerateDeviations(frame: Frame): Deviation[] {
  const deviations: Deviation[] = [];
  const raw = example(frame);
  for (const key of Object.keys(frame)) {
    const base = key.toUpperCase(); // the base keys are all upper case
    if (!BASE_SERVER_KEYS.has(base) || base === key || Object.hasOwn(frame, base)) continue;
    frame[base] = frame[key];
    delete frame[key];
    deviations.push({
      kind: `key-case:${key}`,
      description: `the key ${JSON.stringify(key)} should be ${JSON.stringify(base)} (key names are case-sensitive)`,
      example: raw,
    });
  }
  const accepted = frame.USERNAME_ACCEPTED;
  if (accepted === 'true' || accepted === 'false') {
    frame.USERNAME_ACCEPTED = accepted === 'true';
    deviations.push({
      kind: 'USERNAME_ACCEPTED-string',
      description: `USERNAME_ACCEPTED is the string ${JSON.stringify(accepted)}, not the JSON boolean ${accepted}`,
      example: raw,
    });
  }
  return deviations;
}
