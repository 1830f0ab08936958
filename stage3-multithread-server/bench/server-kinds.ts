import type net from 'node:net';
import os from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createChatServer, type ChatServerOptions } from '../src/chat-server.ts';
import { createBaselineServer } from './baselines.ts';

/** Loopback only: the bench never listens or connects anywhere else. */
export const BENCH_HOST = '127.0.0.1';

export interface RunningServer {
  port: number;
  close(): Promise<void>;
}

/**
 * One kind of server the bench can start in a child process (bench-server.ts --kind NAME).
 * Stage 4 adds kinds by calling registerServerKind from a module passed with --module.
 */
export interface ServerKind {
  name: string;
  description: string;
  start(port: number): Promise<RunningServer>;
}

/** Options every bench server built with createChatServer gets: measure throughput, not limits. */
export const BENCH_CHAT_OPTIONS: ChatServerOptions = {
  rateLimit: null,
  maxQueuedBytes: 64 * 1024 * 1024,
  maxConnections: 20_000,
  loginTimeoutMs: 120_000,
  log: () => {},
};

// On globalThis so that a --module loaded as a separate module instance (e.g. as CommonJS from
// outside the repository) still registers into the same table.
const registryKey = Symbol.for('msg.bench.serverKinds');
const registry: Map<string, ServerKind> = ((globalThis as Record<symbol, unknown>)[registryKey] ??=
  new Map()) as Map<string, ServerKind>;

export function registerServerKind(kind: ServerKind): void {
  if (registry.has(kind.name)) throw new Error(`server kind ${kind.name} is already registered`);
  registry.set(kind.name, kind);
}

function registerBuiltIn(kind: ServerKind): void {
  if (!registry.has(kind.name)) registry.set(kind.name, kind);
}

export function serverKind(name: string): ServerKind {
  const kind = registry.get(name);
  if (!kind)
    throw new Error(
      `unknown server kind ${JSON.stringify(name)} (known: ${[...registry.keys()].join(', ')})`,
    );
  return kind;
}

export function serverKindNames(): string[] {
  return [...registry.keys()];
}

/** Imports modules that register more kinds (or workloads): paths (relative to the cwd) or file URLs. */
export async function loadBenchModules(modules: readonly string[]): Promise<void> {
  for (const module of modules)
    await import(module.startsWith('file:') ? module : pathToFileURL(resolve(module)).href);
}

function listenRaw(server: net.Server, port: number): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: BENCH_HOST, port }, () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}

/** A chat server built with createChatServer (stage 3's; stage 4 passes its own features). */
export async function startChatServer(options: ChatServerOptions, port: number): Promise<RunningServer> {
  const server = createChatServer({ ...BENCH_CHAT_OPTIONS, ...options });
  const address = await server.listen(BENCH_HOST, port);
  return { port: address.port, close: () => server.close() };
}

registerBuiltIn({
  name: 'naive',
  description: 'raw net broadcast, one socket.write per frame per socket (the baseline)',
  start: (port) => listenRaw(createBaselineServer('per-frame'), port),
});

registerBuiltIn({
  name: 'coalescing',
  description: 'raw net broadcast, frames queued per socket and written once per event-loop turn',
  start: (port) => listenRaw(createBaselineServer('coalesced'), port),
});

registerBuiltIn({
  name: 'stage3-inline',
  description: 'stage 3 createChatServer, sessions on the main thread (workers: 0)',
  start: (port) => startChatServer({ workers: 0 }, port),
});

registerBuiltIn({
  name: 'stage3-workers',
  description: `stage 3 createChatServer, sessions on os.availableParallelism() = ${os.availableParallelism()} worker threads`,
  start: (port) => startChatServer({ workers: os.availableParallelism() }, port),
});

/** The kinds main-bench runs by default, and the one the ratios compare against. */
export const DEFAULT_KINDS = ['naive', 'coalescing', 'stage3-inline', 'stage3-workers'];
export const DEFAULT_BASELINE = 'naive';
