import { describe, expect, it } from '@jest/globals';
import {
  FrameDecoder,
  decodePayload,
  encodeFrame,
  frameBytes,
  parseServerFrame,
  stringifyAscii,
  type ProtocolError,
} from '#shared';
import { expectProtocolError } from './expect-protocol-error.ts';

/** Hex to bytes; spaces are ignored. */
function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

/** `{"a":"<bytes>"}` with the given raw bytes inside the string. */
function objectWithRawString(bytes: string): Buffer {
  return Buffer.concat([Buffer.from('{"a":"'), hex(bytes), Buffer.from('"}')]);
}

/** Runs frames through a FrameDecoder and decodePayload, as a receiver does. */
function receive(bytes: Buffer): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const errors: ProtocolError[] = [];
  const decoder = new FrameDecoder({
    onFrame: (payload) => out.push(decodePayload(payload)),
    onError: (e) => errors.push(e),
  });
  decoder.push(bytes);
  expect(errors).toEqual([]);
  return out;
}

describe('shared: payload-codec decodePayload', () => {
  it('decodes a JSON object', () => {
    expect(decodePayload(hex('7b2255534552 4e414d45223a22616c696365227d'))).toEqual({ USERNAME: 'alice' });
  });

  it('decodes raw (unescaped) UTF-8 from other implementations', () => {
    expect(decodePayload(Buffer.from('{"INFO":"héllo мир 😀"}', 'utf8'))).toEqual({ INFO: 'héllo мир 😀' });
  });

  it('refuses an empty payload with ERR_EMPTY_FRAME', () => {
    const error = expectProtocolError(() => decodePayload(Buffer.alloc(0)), 'ERR_EMPTY_FRAME');
    expect(error.fatal).toBe(false);
  });

  it.each([
    ['a byte that never occurs in UTF-8 (ff)', 'ff'],
    ['a lone continuation byte (80)', '80'],
    ['a truncated sequence (c3 then the closing quote)', 'c3'],
    ['an overlong "/" (c0 af)', 'c0af'],
    ['an overlong three-byte "/" (e0 80 af)', 'e080af'],
    ['an encoded surrogate U+D800 (ed a0 80)', 'eda080'],
    ['a code point above U+10FFFF (f4 90 80 80)', 'f4908080'],
  ])('refuses %s with ERR_BAD_UTF8 (strict decoding, no U+FFFD)', (_name, bytes) => {
    expectProtocolError(() => decodePayload(objectWithRawString(bytes)), 'ERR_BAD_UTF8');
  });

  it('refuses BOM-prefixed JSON (ef bb bf) rather than skipping the BOM', () => {
    expectProtocolError(() => decodePayload(hex('efbbbf 7b7d')), 'ERR_BAD_JSON');
  });

  it.each([['{'], ["{'a':1}"], ['{"a":1}x'], ['{"a":1,}'], ['undefined'], [' ']])(
    'refuses %j with ERR_BAD_JSON',
    (text) => {
      expectProtocolError(() => decodePayload(Buffer.from(text)), 'ERR_BAD_JSON');
    },
  );

  it.each([['1'], ['"text"'], ['true'], ['null'], ['[]'], ['[{"USERNAME":"alice"}]']])(
    'refuses the top-level value %s with ERR_NOT_OBJECT',
    (text) => {
      expectProtocolError(() => decodePayload(Buffer.from(text)), 'ERR_NOT_OBJECT');
    },
  );

  it.each([
    ['null', 'got null'],
    ['[]', 'got an array'],
    ['1', 'got number'],
    ['"text"', 'got string'],
    ['true', 'got boolean'],
  ])('says what the top-level value %s was', (text, said) => {
    const error = expectProtocolError(() => decodePayload(Buffer.from(text)), 'ERR_NOT_OBJECT');
    expect(error.message).toBe(`payload must be a JSON object: ${said}`);
  });

  it('keeps a "__proto__" key as plain data: nothing is polluted', () => {
    const object = decodePayload(Buffer.from('{"__proto__":{"polluted":true},"INFO":"x"}'));
    expect(Object.keys(object)).toEqual(['__proto__', 'INFO']);
    expect(Object.getPrototypeOf(object)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((object as Record<string, unknown>).polluted).toBeUndefined();
    expect(parseServerFrame(object)).toEqual({ INFO: 'x' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('shared: payload-codec encodeFrame', () => {
  it('writes a 4-byte big-endian byte length, then the JSON', () => {
    expect(encodeFrame({})).toEqual(hex('00000002 7b7d'));
    expect(encodeFrame({ USERNAME: 'alice' }).toString('hex')).toBe(
      '00000014' + Buffer.from('{"USERNAME":"alice"}').toString('hex'),
    );
  });

  it('escapes everything outside printable ASCII as \\u sequences: every byte < 0x80', () => {
    const frame = encodeFrame({ INFO: 'héllo мир 😀 \u007f' });
    expect([...frame.subarray(4)].every((byte) => byte < 0x80)).toBe(true);
    const text = frame.subarray(4).toString('latin1');
    expect(text).toBe('{"INFO":"h\\u00e9llo \\u043c\\u0438\\u0440 \\ud83d\\ude00 \\u007f"}');
  });

  it('sets the length prefix to the byte length of the payload', () => {
    for (const message of [
      {},
      { INFO: 'é' },
      { INFO: '😀'.repeat(100) },
      { MESSAGES: [['a', 'ALL', 1, 'x\ny']] },
    ]) {
      const frame = encodeFrame(message);
      expect(frame.readUInt32BE(0)).toBe(frame.length - 4);
    }
  });

  it('round-trips through FrameDecoder and decodePayload, emoji (surrogate pairs) included', () => {
    const messages = [
      { USERNAME: 'émile' },
      { INFO: 'héllo мир 😀👍🏽 𝄞 \u0000\u001b\u007f\u0085 "quoted" \\ back' },
      { MESSAGES: [['борис', 'ALL', 1732233600, '🎉'.repeat(1000)]], USERS_JOINED: ['ζωή'] },
    ];
    const received = receive(Buffer.concat(messages.map((message) => encodeFrame(message))));
    expect(received).toEqual(messages);
  });

  it('accepts exactly maxFrameBytes and refuses one more with ERR_FRAME_TOO_LARGE', () => {
    // {"a":"<n chars>"} is 8 + n bytes
    expect(encodeFrame({ a: 'x'.repeat(10) }, 18)).toHaveLength(4 + 18);
    const error = expectProtocolError(() => encodeFrame({ a: 'x'.repeat(11) }, 18), 'ERR_FRAME_TOO_LARGE');
    expect(error.fatal).toBe(true);
  });

  it('counts the escaped bytes against the limit, not the characters', () => {
    // "é" is written \u00e9: 6 bytes, so {"a":"é"} is 14 bytes
    expect(encodeFrame({ a: 'é' }, 14)).toHaveLength(4 + 14);
    expectProtocolError(() => encodeFrame({ a: 'é' }, 13), 'ERR_FRAME_TOO_LARGE');
  });

  it('stringifyAscii is valid JSON that parses back to the same value', () => {
    const value = { a: ['😀', 'é', '\u2028\u2029', '\ufeff'] };
    const text = stringifyAscii(value);
    expect(/^[\x20-\x7e]*$/.test(text)).toBe(true);
    expect(JSON.parse(text)).toEqual(value);
  });
});

describe('shared: payload-codec frameBytes', () => {
  it('frames exact bytes, even invalid ones, and strings as UTF-8', () => {
    expect(frameBytes(hex('ff'))).toEqual(hex('00000001 ff'));
    expect(frameBytes('é')).toEqual(hex('00000002 c3a9'));
    expect(frameBytes('')).toEqual(hex('00000000'));
  });
});
