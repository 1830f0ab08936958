import { ProtocolError } from './error-codes.ts';
import { HEADER_BYTES } from './frame-decoder.ts';
import { MAX_FRAME_BYTES } from './limits.ts';

// fatal: invalid UTF-8 is an error, not U+FFFD; ignoreBOM: keep a BOM so JSON.parse refuses it.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const NON_ASCII = /[\u007f-\uffff]/g;

function escapeNonAscii(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * JSON text with everything outside printable ASCII written as \u escapes: still valid JSON, and safe
 * for naive peers that mishandle raw UTF-8 or count characters instead of bytes.
 */
export function stringifyAscii(value: unknown): string {
  return JSON.stringify(value).replace(NON_ASCII, escapeNonAscii);
}

/** Payload bytes -> a JSON object, strictly: UTF-8, JSON, and an object at the top level. */
export function decodePayload(payload: Uint8Array): Record<string, unknown> {
  if (payload.length === 0) throw new ProtocolError('ERR_EMPTY_FRAME');
  let text: string;
  try {
    text = strictUtf8.decode(payload);
  } catch {
    throw new ProtocolError('ERR_BAD_UTF8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ProtocolError('ERR_BAD_JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
    throw new ProtocolError('ERR_NOT_OBJECT', `got ${got}`);
  }
  return value as Record<string, unknown>;
}

/** A JSON object -> one frame: a 4-byte big-endian byte length, then the payload. */
export function encodeFrame(message: object, maxFrameBytes = MAX_FRAME_BYTES): Buffer {
  const text = stringifyAscii(message);
  // ASCII only after escaping, so the string length is the byte length.
  if (text.length > maxFrameBytes) throw new ProtocolError('ERR_FRAME_TOO_LARGE', `${text.length} bytes`);
  return encodeFrameText(text);
}

/** Frames JSON text that is already ASCII (from stringifyAscii), e.g. composed on another thread. */
export function encodeFrameText(asciiJson: string): Buffer {
  const frame = Buffer.allocUnsafe(HEADER_BYTES + asciiJson.length);
  frame.writeUInt32BE(asciiJson.length, 0);
  frame.write(asciiJson, HEADER_BYTES, 'latin1');
  return frame;
}

/** Frames raw payload bytes as they are (tests and probes that must send exact, even invalid, bytes). */
export function frameBytes(payload: Uint8Array | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload);
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}
