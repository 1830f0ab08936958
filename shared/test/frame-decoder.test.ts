import { describe, expect, it } from '@jest/globals';
import { FrameDecoder, MAX_FRAME_BYTES, ProtocolError } from '#shared';

/** Hex to bytes; spaces are ignored so frames read `00000002 7b7d`. */
function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

function collect(maxFrameBytes?: number) {
  const payloads: Buffer[] = [];
  const errors: ProtocolError[] = [];
  const decoder = new FrameDecoder({
    maxFrameBytes,
    onFrame: (payload) => payloads.push(payload),
    onError: (error) => errors.push(error),
  });
  const texts = () => payloads.map((payload) => payload.toString('utf8'));
  return { decoder, payloads, errors, texts };
}

/** Pushes `bytes` split at the given offsets. */
function pushSplit(decoder: FrameDecoder, bytes: Buffer, ...cuts: number[]): void {
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    decoder.push(bytes.subarray(start, cut));
    start = cut;
  }
}

describe('shared: FrameDecoder', () => {
  it('decodes one frame given in one write', () => {
    const { decoder, texts } = collect();
    decoder.push(hex('00000002 7b7d'));
    expect(texts()).toEqual(['{}']);
  });

  it('decodes many frames given in one write, in order', () => {
    const { decoder, texts, errors } = collect();
    decoder.push(hex('00000002 7b7d' + '00000007 7b2261223a317d' + '00000000' + '00000002 5b5d'));
    expect(texts()).toEqual(['{}', '{"a":1}', '', '[]']);
    expect(errors).toEqual([]);
    expect(decoder.isMidFrame).toBe(false);
  });

  it.each([
    ['1+3', 1],
    ['2+2', 2],
    ['3+1', 3],
  ])('decodes a frame whose header is split %s', (_name, cut) => {
    const { decoder, texts } = collect();
    pushSplit(decoder, hex('00000007 7b2261223a317d'), cut);
    expect(texts()).toEqual(['{"a":1}']);
  });

  it('decodes a frame whose body is split, and a header that arrives with the end of the previous body', () => {
    const { decoder, texts } = collect();
    // frame 1 = 00000007 7b2261223a317d, frame 2 = 00000002 7b7d; cut inside body 1 and inside header 2
    pushSplit(decoder, hex('00000007 7b2261223a317d 00000002 7b7d'), 6, 13);
    expect(texts()).toEqual(['{"a":1}', '{}']);
  });

  it('decodes a frame trickled one byte per write, a multi-byte UTF-8 character split too', () => {
    const { decoder, texts, payloads } = collect();
    const body = Buffer.from('{"a":"é😀ж"}', 'utf8'); // é = c3 a9, 😀 = f0 9f 98 80, ж = d0 b6
    const frame = Buffer.concat([hex(body.length.toString(16).padStart(8, '0')), body]);
    for (let i = 0; i < frame.length; i++) {
      expect(payloads).toHaveLength(0);
      decoder.push(frame.subarray(i, i + 1));
    }
    expect(texts()).toEqual(['{"a":"é😀ж"}']);
    expect(payloads[0].equals(body)).toBe(true);
  });

  it('yields an empty payload for a frame of length 0', () => {
    const { decoder, payloads, errors } = collect();
    decoder.push(hex('00000000'));
    expect(payloads).toHaveLength(1);
    expect(payloads[0].length).toBe(0);
    expect(errors).toEqual([]);
  });

  it('ignores an empty push', () => {
    const { decoder, payloads } = collect();
    decoder.push(Buffer.alloc(0));
    expect(payloads).toHaveLength(0);
    expect(decoder.isMidFrame).toBe(false);
    expect(decoder.framesStarted).toBe(0);
  });

  it('accepts a frame of exactly the limit', () => {
    const { decoder, texts, errors } = collect(8);
    decoder.push(hex('00000008 3132333435363738'));
    expect(texts()).toEqual(['12345678']);
    expect(errors).toEqual([]);
  });

  it('refuses limit+1 with ERR_FRAME_TOO_LARGE as soon as the header is read, before the body arrives', () => {
    const { decoder, payloads, errors } = collect(8);
    decoder.push(hex('00000009')); // the header only
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ProtocolError);
    expect(errors[0].code).toBe('ERR_FRAME_TOO_LARGE');
    expect(errors[0].fatal).toBe(true);
    expect(errors[0].message).toContain('9 > 8');
    expect(payloads).toHaveLength(0);
    expect(decoder.hasFailed).toBe(true);
  });

  it('has a default limit of MAX_FRAME_BYTES (1 MiB): exactly it is accepted, one more is refused', () => {
    const atLimit = collect();
    atLimit.decoder.push(hex('00100000'));
    atLimit.decoder.push(Buffer.alloc(MAX_FRAME_BYTES, 0x20));
    expect(atLimit.payloads.map((payload) => payload.length)).toEqual([MAX_FRAME_BYTES]);
    const over = collect();
    over.decoder.push(hex('00100001'));
    expect(over.errors.map((error) => error.code)).toEqual(['ERR_FRAME_TOO_LARGE']);
  });

  it('refuses a length of 0xFFFFFFFF', () => {
    const { decoder, errors } = collect();
    decoder.push(hex('ffffffff'));
    expect(errors.map((error) => error.code)).toEqual(['ERR_FRAME_TOO_LARGE']);
    expect(errors[0].message).toContain('4294967295');
  });

  it('refuses an HTTP request as too large ("GET " = 0x47455420 > 1 MiB)', () => {
    const { decoder, payloads, errors } = collect();
    decoder.push(Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n', 'latin1'));
    expect(errors.map((error) => error.code)).toEqual(['ERR_FRAME_TOO_LARGE']);
    expect(errors[0].message).toContain(String(0x47455420));
    expect(payloads).toHaveLength(0);
  });

  it('ignores all input after a failure, and end() adds no second error', () => {
    const { decoder, payloads, errors } = collect(8);
    decoder.push(hex('00000009'));
    decoder.push(hex('00000002 7b7d'));
    decoder.end();
    expect(payloads).toHaveLength(0);
    expect(errors).toHaveLength(1);
    expect(decoder.isMidFrame).toBe(false);
  });

  it('delivers the frames before a failure in the same write, and nothing after it', () => {
    const { decoder, texts, errors } = collect(8);
    decoder.push(hex('00000002 7b7d 00000009 000000 00000002 7b7d'));
    expect(texts()).toEqual(['{}']);
    expect(errors.map((error) => error.code)).toEqual(['ERR_FRAME_TOO_LARGE']);
  });

  it.each([
    ['in the header', '0000'],
    ['after the header, before any body byte', '00000002'],
    ['in the body', '00000002 7b'],
  ])('gives ERR_TRUNCATED when the stream ends %s', (_name, bytes) => {
    const { decoder, errors } = collect();
    decoder.push(hex(bytes));
    expect(decoder.isMidFrame).toBe(true);
    decoder.end();
    expect(errors.map((error) => error.code)).toEqual(['ERR_TRUNCATED']);
    expect(errors[0].fatal).toBe(true);
  });

  it('gives nothing when the stream ends between frames, or before any', () => {
    const fresh = collect();
    fresh.decoder.end();
    expect(fresh.errors).toEqual([]);
    const { decoder, texts, errors } = collect();
    decoder.push(hex('00000002 7b7d'));
    decoder.end();
    expect(texts()).toEqual(['{}']);
    expect(errors).toEqual([]);
  });

  it('counts frames started: once per frame, however it is split or coalesced', () => {
    const { decoder, payloads } = collect();
    expect(decoder.framesStarted).toBe(0);
    decoder.push(hex('0000'));
    expect(decoder.framesStarted).toBe(1);
    decoder.push(hex('0002 7b'));
    expect(decoder.framesStarted).toBe(1);
    decoder.push(hex('7d'));
    expect(decoder.framesStarted).toBe(1);
    expect(decoder.isMidFrame).toBe(false);
    // two whole frames and the first half of a header in one write: three frames begun
    decoder.push(hex('00000002 7b7d 00000002 7b7d 0000'));
    expect(decoder.framesStarted).toBe(4);
    expect(decoder.isMidFrame).toBe(true);
    decoder.push(hex('0002 7b7d'));
    expect(decoder.framesStarted).toBe(4);
    // a zero-length frame is a frame too
    decoder.push(hex('00000000'));
    expect(decoder.framesStarted).toBe(5);
    expect(payloads).toHaveLength(5);
    expect(decoder.isMidFrame).toBe(false);
  });

  it('hands out a view of the input, not a copy, when a frame lies in one chunk', () => {
    const { decoder, payloads } = collect();
    const chunk = hex('00000002 7b7d');
    decoder.push(chunk);
    expect(payloads[0].buffer).toBe(chunk.buffer);
  });

  it('keeps frame order when onFrame pushes more bytes (re-entrant push)', () => {
    const seen: string[] = [];
    const decoder: FrameDecoder = new FrameDecoder({
      onFrame: (payload) => {
        seen.push(payload.toString());
        if (seen.length === 1) decoder.push(hex('00000001 33'));
      },
      onError: (error) => seen.push(error.code),
    });
    decoder.push(hex('00000001 31 00000001 32'));
    expect(seen).toEqual(['1', '2', '3']);
  });
});
