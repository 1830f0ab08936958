// The server kind the storm attacks (loaded with --module by bench-server.ts in the child): the stage 4
// server with the product's defaults (rate limit, 4 MiB send queues, 10 000 connections, default
// workers, or MSG_STORM_WORKERS), logging nothing. On SIGUSR2 it prints its memory on stderr as one `memory {json}` line,
// runs a full GC (when started with --expose-gc) and prints it again, then writes a heap snapshot if
// MSG_HEAPSNAPSHOT_DIR is set.
import { join } from 'node:path';
import v8 from 'node:v8';
import {
  BENCH_HOST,
  registerServerKind,
  serverKindNames,
} from '../../stage3-multithread-server/bench/server-kinds.ts';
import { createRoutingServer } from '../src/routing-server.ts';

export const STORM_KIND = 'stage4-product';

function memoryLine(label: string): string {
  const usage = process.memoryUsage();
  const heap = v8.getHeapSpaceStatistics().map((space) => [space.space_name, space.space_used_size]);
  return `memory ${JSON.stringify({ label, ...usage, spaces: Object.fromEntries(heap) })}\n`;
}

if (!serverKindNames().includes(STORM_KIND)) {
  registerServerKind({
    name: STORM_KIND,
    description: 'stage 4 createRoutingServer with the product defaults (what main-server.ts runs)',
    async start(port) {
      const workers = process.env.MSG_STORM_WORKERS;
      const server = createRoutingServer({ log: () => {}, workers: workers ? Number(workers) : undefined });
      const address = await server.listen(BENCH_HOST, port);
      process.on('SIGUSR2', () => {
        process.stderr.write(memoryLine('before gc'));
        const gc = (globalThis as { gc?: () => void }).gc;
        if (gc) {
          gc();
          process.stderr.write(memoryLine('after gc'));
        }
        const dir = process.env.MSG_HEAPSNAPSHOT_DIR;
        if (dir) {
          const file = v8.writeHeapSnapshot(join(dir, `storm-${process.pid}.heapsnapshot`));
          process.stderr.write(`heapsnapshot ${file}\n`);
        }
      });
      return { port: address.port, close: () => server.close() };
    },
  });
}
