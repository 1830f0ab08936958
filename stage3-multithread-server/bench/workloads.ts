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
