import { describe, expect, it } from '@jest/globals';
import { encodeFrame } from '#shared';
import { FrameTap } from '../bench/frame-tap.ts';
import { runBench } from '../bench/harness.ts';
import { DEFAULT_KINDS } from '../bench/server-kinds.ts';

// Correctness of the benchmark harness only: no timing is asserted (the machine is shared).

describe('bench FrameTap: counts frames from headers, however the bytes are split', () => {
  const frames = [
    encodeFrame({ USERNAME_ACCEPTED: true }),
    encodeFrame({ MESSAGES: [['a', 'ALL', 1, 'x'.repeat(300)]] }),
    Buffer.from([0, 0, 0, 0]),
  ];
  const stream = Buffer.concat([...frames, ...frames]);

  it.each([1, 2, 3, 5, 7, 64, stream.length])(
    'in chunks of %i bytes, decoding the first frame and counting the rest',
    (size) => {
      const decoded: string[] = [];
      const tap = new FrameTap((payload) => {
        decoded.push(payload.toString());
        tap.decodeBodies = false;
      });
      let counted = 0;
      for (let at = 0; at < stream.length; at += size) counted += tap.push(stream.subarray(at, at + size));
      expect(counted).toBe(6);
      expect(decoded).toEqual(['{"USERNAME_ACCEPTED":true}']);
    },
  );

  it('decodes every payload while decodeBodies stays true', () => {
    const decoded: Buffer[] = [];
    const tap = new FrameTap((payload) => decoded.push(Buffer.from(payload)));
    let counted = 0;
    for (let at = 0; at < stream.length; at += 3) counted += tap.push(stream.subarray(at, at + 3));
    expect(counted).toBe(6);
    expect(decoded.map((payload) => payload.length)).toEqual(
      [...frames, ...frames].map((frame) => frame.length - 4),
    );
  });
});

describe('stage 3 benchmark harness (--quick, N = 20): every message reaches every client', () => {
  it('runs each server kind in a child process and checks every delivery at every client', async () => {
    const rows = await runBench({ kinds: DEFAULT_KINDS, clients: [20], quick: true, sampled: 'all' });
    expect(rows.map((row) => row.kind)).toEqual(DEFAULT_KINDS);
    for (const row of rows) {
      const summary = { kind: row.kind, error: row.error };
      expect(summary).toEqual({ kind: row.kind, error: undefined });
      expect(row.setup?.clients).toBe(20);
      for (const phase of [...row.throughputRuns, row.latency!]) {
        const { check } = phase;
        expect({ kind: row.kind, problems: check.problems }).toEqual({ kind: row.kind, problems: [] });
        expect(check.clientsComplete).toBe(20);
        expect(check.missing).toBe(0);
        expect(check.extra).toBe(0);
        expect(check.deliveries).toBe(phase.messages * 20);
      }
      expect(row.latency!.samples).toBe(row.latency!.messages * 20);
    }
  }, 180_000);
});
