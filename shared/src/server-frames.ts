import { HEADER_BYTES } from './frame-decoder.ts';
import { MAX_FRAME_BYTES } from './limits.ts';
import { encodeFrameText, stringifyAscii } from './payload-codec.ts';
import type { ChatMessage, ServerFrame } from './protocol.ts';

/** List keys a frame can be cut along; the rest of a USER_LIST goes on as USERS_JOINED. */
const SPLITTABLE = ['MESSAGES', 'USER_LIST', 'USERS_JOINED', 'USERS_LEFT'] as const;

/**
 * Encodes a server frame as one frame or, when its JSON would exceed `maxFrameBytes`, as several:
 * list keys are cut in halves until every part fits. Escaping makes output up to 6x its input (an
 * emoji is 4 bytes in, 12 out), so a frame of valid messages can outgrow the limit; splitting keeps
 * every frame within what any peer accepts. The first part keeps the scalar keys (INFO, ...).
 */
export function encodeServerFrames(frame: ServerFrame, maxFrameBytes = MAX_FRAME_BYTES): Buffer[] {
  const text = stringifyAscii(frame);
  if (text.length <= maxFrameBytes) return [encodeFrameText(text)];
  const key = SPLITTABLE.find((each) => (frame[each]?.length ?? 0) > 1);
  if (!key) throw new RangeError(`a single item of ${text.length - HEADER_BYTES} bytes cannot fit a frame`);
  const list = frame[key] as unknown[];
  const half = Math.ceil(list.length / 2);
  const first: ServerFrame = { ...frame, [key]: list.slice(0, half) };
  const restKey = key === 'USER_LIST' ? 'USERS_JOINED' : key;
  const rest: ServerFrame = { [restKey]: list.slice(half) };
  // IDS (and AWAY) describe MESSAGES item by item: they are cut along with them.
  if (key === 'MESSAGES' && frame.IDS) {
    first.IDS = frame.IDS.slice(0, half);
    rest.IDS = frame.IDS.slice(half);
  }
  if (key === 'MESSAGES' && frame.AWAY !== undefined) rest.AWAY = frame.AWAY;
  return [...encodeServerFrames(first, maxFrameBytes), ...encodeServerFrames(rest, maxFrameBytes)];
}

// Printable ASCII other than `"` and `\`: what JSON writes as it is, one byte a character.
const PLAIN_JSON_TEXT = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function stringBytesAtMost(text: string): number {
  // Two quotes, then one byte a character, or at most six (a \uXXXX escape) when not plain.
  return 2 + (PLAIN_JSON_TEXT.test(text) ? text.length : 6 * text.length);
}

/**
 * Bytes a message takes inside a frame's MESSAGES, as sent (escaped), separating comma included:
 * exact for plain ASCII text, an upper bound otherwise. Cheap (no encoding): history bookkeeping
 * runs it on every stored message, and encoding each one a second time cost 10% of a DM's CPU.
 */
export function encodedMessageBytes([src, dest, timestamp, content]: ChatMessage): number {
  const stamp = String(timestamp).length;
  return 4 + stamp + stringBytesAtMost(src) + stringBytesAtMost(dest) + stringBytesAtMost(content);
}
