import net from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { FrameDecoder, encodeFrame } from '#shared';
import { runBench } from '../../stage3-multithread-server/bench/harness.ts';
import { LoadClients } from '../../stage3-multithread-server/bench/load.ts';
import { BENCH_HOST } from '../../stage3-multithread-server/bench/server-kinds.ts';
import { directOffsets, workloadNamed } from '../../stage3-multithread-server/bench/workloads.ts';
import { STAGE4_DEFAULT_KINDS, STAGE4_KINDS_MODULE } from '../bench/stage4-kinds.ts';

// Correctness of the stage 4 benchmark only: no timing is asserted (the machine is shared).

const N = 20;

describe('the direct workload: every client sends and receives, never to itself', () => {
  it.each([2, 3, 20, 1000])('N = %i, every client a sender', (clients) => {
    const direct = workloadNamed('direct');
    const senders = Array.from({ length: clients }, (_, index) => index);
    const rounds = 3 * 10; // three offsets, bursts of 10: whole cycles
    const sent = new Array<number>(clients).fill(0);
    const received = new Array<number>(clients).fill(0);
    for (let seq = 0; seq < rounds * clients; seq++) {
      const route = direct.route(seq, clients, senders);
      expect(route.receivers).toEqual([route.dest]);
      expect(route.dest).not.toBe(route.from);
      sent[route.from]++;
      received[route.dest as number]++;
    }
    expect(new Set(sent)).toEqual(new Set([rounds]));
    expect(new Set(received)).toEqual(new Set([rounds]));
    expect(directOffsets(clients).length).toBe(Math.min(3, clients - 1));
  });
});

describe('stage 4 benchmark (--quick, N = 20, direct): every DM reaches its recipient only, once, in order', () => {
  it('runs each kind in a child process and checks every message at every client', async () => {
    const rows = await runBench({
      kinds: STAGE4_DEFAULT_KINDS,
      clients: [N],
      workload: 'direct',
      quick: true,
      senders: N,
      windowDeliveries: 50,
      messages: () => 300,
      rate: () => 1_000,
      sampled: 'all',
      latencyDecodeAll: true,
      modules: [STAGE4_KINDS_MODULE],
    });
    expect(rows.map((row) => row.kind)).toEqual(STAGE4_DEFAULT_KINDS);
    for (const row of rows) {
      expect({ kind: row.kind, error: row.error }).toEqual({ kind: row.kind, error: undefined });
      expect(row.setup?.clients).toBe(N);
      for (const phase of [...row.throughputRuns, row.latency!]) {
        const { check } = phase;
        // problems lists any DM seen twice, at a client it was not addressed to, or out of its sender's order.
        expect({ kind: row.kind, problems: check.problems }).toEqual({ kind: row.kind, problems: [] });
        expect(check.clientsComplete).toBe(N);
        expect(check.missing).toBe(0);
        expect(check.extra).toBe(0);
        // One delivery per DM: nothing echoed to the sender, nothing to anyone else.
        expect(check.expectedDeliveries).toBe(phase.messages);
        expect(check.deliveries).toBe(phase.messages);
      }
      expect(row.latency!.samples).toBe(row.latency!.messages);
    }
  }, 180_000);
});

describe('the check catches misrouted DMs', () => {
  let server: net.Server | undefined;
  let load: LoadClients | undefined;
  afterEach(async () => {
    load?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  it('a server that fans every message out to everyone fails with extras and "not addressed to it"', async () => {
    // Ignores DEST: what the direct workload must not accept.
    const sockets = new Set<net.Socket>();
    server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
      const decoder = new FrameDecoder({
        onFrame: (payload) => {
          const frame = JSON.parse(payload.toString()) as { USERNAME?: string; MESSAGES?: unknown };
          if (frame.USERNAME !== undefined) socket.write(encodeFrame({ USERNAME_ACCEPTED: true }));
          if (frame.MESSAGES !== undefined) {
            const out = encodeFrame({ MESSAGES: frame.MESSAGES });
            for (const each of sockets) each.write(out);
          }
        },
        onError: () => socket.destroy(),
      });
      socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    });
    await new Promise<void>((resolve) => server!.listen(0, BENCH_HOST, resolve));
    const { port } = server.address() as net.AddressInfo;
    ({ load } = await LoadClients.open({ port, clients: 4, sampled: 'all', settleQuietMs: 50 }));
    const result = await load.throughput({
      workload: workloadNamed('direct'),
      messages: 20,
      senders: 4,
      windowDeliveries: 1_000,
      timeoutMs: 5_000,
    });
    expect(result.check.ok).toBe(false);
    expect(result.check.extra).toBe(20 * 3);
    expect(result.check.problems.join('\n')).toMatch(/was not addressed to it/);
  }, 30_000);
});
