import { describe, expect, it } from '@jest/globals';
import { FrameDecoder, type ProtocolError } from '#shared';

function collect(maxFrameBytes?: number) {
  const frames: string[] = [];
  const errors: ProtocolError[] = [];
  const decoder = new FrameDecoder({
    maxFrameBytes,
    onFrame: (payload) => frames.push(payload.toString('utf8')),
    onError: (error) => errors.push(error),
  });
  return { decoder, frames, errors };
}

describe('shared: FrameDecoder', () => {
  it('decodes one frame given in one write', () => {
    const { decoder, frames } = collect();
    decoder.push(Buffer.from('000000027b7d', 'hex'));
    expect(frames).toEqual(['{}']);
  });
});
