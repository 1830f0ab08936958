/**
 * What the load generator sends: for message number `seq`, which client sends it, to which DEST,
 * and which clients must receive it. Stage 3 has one workload (broadcast); stage 4 registers a
 * direct-message one with registerWorkload from a --module.
 */
export interface Route {
  /** Index of the sending client. */
  from: number;
  /** DEST on the wire: 'ALL', or the index of the client addressed. */
  dest: 'ALL' | number;
  /** Indices of the clients that receive it, or 'all' (every client, the sender included). */
  receivers: 'all' | readonly number[];
}

export interface Workload {
  name: string;
  description: string;
  /** `senders`: the indices of the clients chosen to send (--senders of them, spread evenly). */
  route(seq: number, clients: number, senders: readonly number[]): Route;
}

// On globalThis, like the server kinds, so that every module instance shares one table.
const registryKey = Symbol.for('msg.bench.workloads');
const registry: Map<string, Workload> = ((globalThis as Record<symbol, unknown>)[registryKey] ??=
  new Map()) as Map<string, Workload>;

export function registerWorkload(workload: Workload): void {
  if (registry.has(workload.name)) throw new Error(`workload ${workload.name} is already registered`);
  registry.set(workload.name, workload);
}

export function workloadNamed(name: string): Workload {
  const workload = registry.get(name);
  if (!workload)
    throw new Error(`unknown workload ${JSON.stringify(name)} (known: ${[...registry.keys()].join(', ')})`);
  return workload;
}

if (!registry.has('broadcast')) {
  registerWorkload({
    name: 'broadcast',
    description: 'every message to ALL, fanned out to every client (the sender included); senders take turns',
    route: (seq, _clients, senders) => ({
      from: senders[seq % senders.length],
      dest: 'ALL',
      receivers: 'all',
    }),
  });
}

/**
 * The receivers' offsets for the direct workload: client i sends to (i + k) mod N, k cycling over
 * these message by message, so every client sends and receives, each from a few senders (order is
 * checked per sender), and never to itself.
 */
export function directOffsets(clients: number): number[] {
  return [...new Set([1, Math.floor(clients / 2), clients - 1])].filter((k) => k > 0 && k < clients);
}

/**
 * Private messages. Senders take turns in bursts of `burst` consecutive messages (a client
 * pipelining a few DMs, which the load generator writes as one chunk); message m of sender i goes to
 * client (i + k) mod N, k = directOffsets(N)[m % 3] (1, N/2, N-1). With every client a sender
 * (--senders >= N), each client sends and receives the same number. Nothing is echoed to the sender.
 */
export function directWorkload(name: string, burst: number): Workload {
  if (!Number.isInteger(burst) || burst < 1)
    throw new Error(`burst must be a positive integer, got ${burst}`);
  // Routes repeat (a sender x an offset): built once per phase (senders is a new array each phase).
  let cache: { clients: number; senders: readonly number[]; offsets: number; routes: Route[] } | undefined;
  return {
    name,
    description:
      `private messages, ${burst} in a row from each sender in turn; sender i's m-th to client (i + k) mod N, ` +
      'k cycling over 1, N/2, N-1; not echoed',
    route(seq, clients, senders) {
      if (clients < 2) throw new Error(`the ${name} workload needs at least 2 clients`);
      if (cache?.clients !== clients || cache.senders !== senders) {
        const offsets = directOffsets(clients);
        const routes: Route[] = [];
        for (const k of offsets) {
          for (const from of senders) {
            const to = (from + k) % clients;
            routes.push({ from, dest: to, receivers: [to] });
          }
        }
        cache = { clients, senders, offsets: offsets.length, routes };
      }
      const s = senders.length;
      const burstNo = Math.floor(seq / burst);
      const slot = burstNo % s;
      // The sender's own message count: whole bursts before this one, plus the place in this one.
      const m = Math.floor(burstNo / s) * burst + (seq % burst);
      return cache.routes[(m % cache.offsets) * s + slot];
    },
  };
}

/** Messages each sender pipelines in the direct workload (see directWorkload). */
export const DIRECT_BURST = 10;

if (!registry.has('direct')) registerWorkload(directWorkload('direct', DIRECT_BURST));
