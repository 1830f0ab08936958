// The stage 4 server kinds for the stage 3 bench harness. Loaded with `--module` (by the bench and
// by every server child): `tsx stage3-multithread-server/bench/main-bench.ts --module
// stage4-routing/bench/stage4-kinds.ts --kinds naive,stage4-inline --workload direct`, or through
// stage4-routing/bench/main-bench.ts, which passes it on by itself.
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { ChatServerOptions } from '#stage3/chat-server';
import {
  BENCH_CHAT_OPTIONS,
  BENCH_HOST,
  registerServerKind,
  serverKindNames,
  type RunningServer,
} from '../../stage3-multithread-server/bench/server-kinds.ts';
import { createRoutingServer } from '../src/routing-server.ts';

/** This module's absolute path: what the children get with --module. */
export const STAGE4_KINDS_MODULE = fileURLToPath(import.meta.url);

/** The stage 4 server with the bench options (no rate limit, 64 MiB queues, silent log). */
export async function startRoutingServer(
  options: Omit<ChatServerOptions, 'features'>,
  port: number,
): Promise<RunningServer> {
  const server = createRoutingServer({ ...BENCH_CHAT_OPTIONS, ...options });
  const address = await server.listen(BENCH_HOST, port);
  return { port: address.port, close: () => server.close() };
}

// Registered once even if this module is imported twice (e.g. by path and by URL).
if (!serverKindNames().includes('stage4-inline')) {
  registerServerKind({
    name: 'stage4-inline',
    description: 'stage 4 createRoutingServer, sessions on the main thread (workers: 0)',
    start: (port) => startRoutingServer({ workers: 0 }, port),
  });
  registerServerKind({
    name: 'stage4-workers',
    description: `stage 4 createRoutingServer, sessions on os.availableParallelism() = ${os.availableParallelism()} worker threads`,
    start: (port) => startRoutingServer({ workers: os.availableParallelism() }, port),
  });
}

/** The kinds the stage 4 bench runs by default. */
export const STAGE4_DEFAULT_KINDS = ['naive', 'coalescing', 'stage4-inline', 'stage4-workers'];
