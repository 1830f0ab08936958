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
  return [...encodeServerFrames(first, maxFrameBytes), ...encodeServerFrames(rest, maxFrameBytes)];
}

/** Bytes a message takes inside a frame's MESSAGES, as sent (escaped), with its separating comma. */
export function encodedMessageBytes(message: ChatMessage): number {
  return stringifyAscii(message).length + 1;
}
