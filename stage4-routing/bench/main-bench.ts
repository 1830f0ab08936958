// The stage 4 benchmark: `node_modules/.bin/tsx stage4-routing/bench/main-bench.ts [--quick]`.
// Direct messages and broadcast fan-out, the stage 4 server (inline and on workers) against the two
// raw `net` baselines (naive, coalescing), in one run, one server child at a time, loopback only;
// one table per workload with ratios to both baselines. It uses the stage 3 harness
// (stage3-multithread-server/bench/), stops by itself (a global deadline) and kills its children on
// every exit path. See README.md for the method.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  benchSettings,
  formatRate,
  formatTable,
  machineLine,
  runBench,
  type BenchOptions,
  type BenchRow,
} from '../../stage3-multithread-server/bench/harness.ts';
import {
  commonBenchOptions,
  guardBenchProcess,
  killServerChildren,
  serverProfileArgs,
} from '../../stage3-multithread-server/bench/server-process.ts';
import { loadBenchModules, serverKind } from '../../stage3-multithread-server/bench/server-kinds.ts';
import { DIRECT_BURST, workloadNamed } from '../../stage3-multithread-server/bench/workloads.ts';
import { STAGE4_DEFAULT_KINDS, STAGE4_KINDS_MODULE } from './stage4-kinds.ts';

const WORKLOADS = ['direct', 'broadcast'] as const;
type WorkloadName = (typeof WORKLOADS)[number];

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    workloads: { type: 'string', default: WORKLOADS.join(',') },
    kinds: { type: 'string', default: STAGE4_DEFAULT_KINDS.join(',') },
    'direct-clients': { type: 'string' },
    'broadcast-clients': { type: 'string' },
    quick: { type: 'boolean', default: false },
    repeats: { type: 'string' },
    'direct-messages': { type: 'string' },
    'direct-window': { type: 'string' },
    'direct-rate': { type: 'string' },
    'broadcast-rate': { type: 'string' },
    ...commonBenchOptions(15),
  },
  strict: true,
});

if (values.help) {
  console.log(`usage: tsx stage4-routing/bench/main-bench.ts [options]
  --workloads direct,broadcast   what to run (one table each)
  --kinds a,b,...                server kinds (default ${STAGE4_DEFAULT_KINDS.join(',')})
  --direct-clients 1000          client counts for direct messages (every client sends and receives)
  --broadcast-clients 100,1000   client counts for broadcast
  --quick                        small counts, N=20, short latency phases (a smoke run)
  --repeats 3                    throughput runs per row (the median is shown)
  --direct-messages 400000       DMs per throughput run; --direct-window 20000 DMs in flight at most
  --direct-rate 20000            latency phase offered load, DMs/s (spread over all senders)
  --broadcast-rate R             latency phase broadcasts/s (default 20000 / N = 20000 deliveries/s)
  --latency-ms 3000              length of each latency phase
  --module path.ts               a module registering more kinds (repeatable)
  --cpu-prof dir                 run the server children with --cpu-prof, profiles into dir
  --max-minutes 15               give up (and kill the children) after this long
  --json                         also print the results as JSON`);
  process.exit(0);
}

function positiveInt(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`--${name} must be a positive integer, got ${text}`);
  return value;
}

function optionalInt(name: keyof typeof values): number | undefined {
  const text = values[name];
  return typeof text === 'string' ? positiveInt(name, text) : undefined;
}

function clientCounts(name: 'direct-clients' | 'broadcast-clients', fallback: string): number[] {
  const counts = (values[name] ?? fallback).split(',').map((each) => positiveInt(name, each.trim()));
  for (const n of counts)
    if (n > 5_000) throw new Error(`--${name} ${n}: at most 5000 (file descriptors, ports)`);
  return counts;
}

const quick = values.quick;
const workloads = values.workloads.split(',').map((each) => each.trim()) as WorkloadName[];
for (const name of workloads)
  if (!WORKLOADS.includes(name))
    throw new Error(`--workloads: ${name} is not one of ${WORKLOADS.join(', ')}`);
const kinds = values.kinds.split(',').map((each) => each.trim());
const modules = [STAGE4_KINDS_MODULE, ...values.module.map((module) => resolve(module))];
await loadBenchModules(modules);
for (const kind of kinds) serverKind(kind);
const baselines = ['naive', 'coalescing'].filter((kind) => kinds.includes(kind));

guardBenchProcess(positiveInt('max-minutes', values['max-minutes']));
const profileDir = values['cpu-prof'] ? resolve(values['cpu-prof']) : undefined;
const serverNodeArgs = serverProfileArgs(profileDir);

const latencyMs = optionalInt('latency-ms');
const common = {
  kinds,
  quick,
  repeats: optionalInt('repeats'),
  latencyMs,
  modules,
  serverNodeArgs,
  log: (line: string) => console.log(`  ${line}`),
};

/** Direct messages: every client sends (bursts of DIRECT_BURST) and receives; fan-out 1. */
function directOptions(): BenchOptions {
  const clients = clientCounts('direct-clients', quick ? '20' : '1000');
  const messages = optionalInt('direct-messages') ?? (quick ? 200 : 400_000);
  const rate = optionalInt('direct-rate') ?? (quick ? 1_000 : 20_000);
  return {
    ...common,
    workload: 'direct',
    clients,
    senders: Math.max(...clients), // every client (the harness caps it at N)
    windowDeliveries: optionalInt('direct-window') ?? (quick ? 100 : 20_000),
    messages: () => messages,
    rate: () => rate,
    // A sampled client sees 1/N of the DMs: in the latency phase every client decodes and is checked.
    latencyDecodeAll: true,
  };
}

/** Broadcast: stage 3's workload and defaults (10 senders, 2e6 deliveries a run, 20 000 deliveries/s). */
function broadcastOptions(): BenchOptions {
  const clients = clientCounts('broadcast-clients', quick ? '20' : '100,1000');
  const rate = optionalInt('broadcast-rate');
  return {
    ...common,
    workload: 'broadcast',
    clients,
    rate: rate === undefined ? undefined : () => rate,
  };
}

function describe(name: WorkloadName, options: BenchOptions): string {
  const settings = benchSettings(options);
  const workload = workloadNamed(name);
  const perN = (each: (n: number) => string) => options.clients.map((n) => `N=${n}: ${each(n)}`).join(', ');
  const senders = (n: number) => (name === 'direct' ? n : Math.min(settings.senders, n));
  return [
    `workload ${name}: ${workload.description}`,
    `  senders: ${perN((n) => String(senders(n)))}${name === 'direct' ? ` (bursts of ${DIRECT_BURST})` : ''}; CONTENT ${settings.contentBytes} bytes`,
    `  throughput: ${settings.repeats} run(s) after a 10% warm-up, at most ${settings.windowDeliveries} deliveries in flight; ` +
      perN((n) => `${settings.messages(n)} messages`),
    `  latency (offered load): ${settings.latencyMs} ms at ` +
      perN((n) => {
        const rate = settings.rate(n);
        const deliveries = name === 'direct' ? rate : rate * n;
        return `${rate} msg/s = ${formatRate(deliveries)} deliveries/s`;
      }),
  ].join('\n');
}

console.log(machineLine());
const started = Date.now();
const results: { workload: WorkloadName; options: BenchOptions; rows: BenchRow[] }[] = [];
let failed = false;
try {
  for (const name of workloads) {
    const options = name === 'direct' ? directOptions() : broadcastOptions();
    console.log(`\n${describe(name, options)}`);
    const rows = await runBench(options);
    results.push({ workload: name, options, rows });
    failed ||= rows.some((row) => row.error);
  }
  console.log('');
  for (const { workload, options, rows } of results) {
    console.log(
      `${workload === 'direct' ? 'Direct messages' : 'Broadcast fan-out'}: ${describe(workload, options)}`,
    );
    console.log(formatTable(rows, baselines));
    console.log('');
  }
  console.log(
    'delivered msg/s = messages x receivers of each / seconds until the last client had the last message ' +
      '(median of the runs); p50/p99 = arrival at a receiver - scheduled send time (in CONTENT), at the ' +
      'latency load shown (msg/s x receivers of each), over every receiver for direct and 8 sampled ' +
      'clients for broadcast; CPU = % of one core during the median run.',
  );
  console.log(`${machineLine()}; bench took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (values.json)
    console.log(
      JSON.stringify(
        results.map(({ workload, rows }) => ({ workload, rows })),
        null,
        2,
      ),
    );
  if (profileDir) {
    // For cpuprofile-summary.ts --phases: which child (pid) ran which throughput runs, and when.
    const phases = results.flatMap(({ workload, rows }) =>
      rows.map((row) => ({
        kind: `${row.kind} ${workload}`,
        clients: row.clients,
        pid: row.pid,
        throughput: row.throughputRuns.map((run) => run.monotonicUs),
      })),
    );
    writeFileSync(join(profileDir, 'phases.json'), `${JSON.stringify(phases, null, 2)}\n`);
    console.log(
      `profiles in ${profileDir}; summarize with tsx stage3-multithread-server/bench/cpuprofile-summary.ts ` +
        `--phases ${join(profileDir, 'phases.json')} FILES`,
    );
  }
} finally {
  killServerChildren();
}
process.exit(failed ? 1 : 0);
