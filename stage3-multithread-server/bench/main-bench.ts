// The stage 3 benchmark: `node_modules/.bin/tsx stage3-multithread-server/bench/main-bench.ts
// [--clients 100,1000] [--kinds naive,coalescing,stage3-inline,stage3-workers] [--quick]`.
// Every kind and client count in one run, one server child at a time, loopback only; prints the
// table with ratios to the baseline. Stops by itself (a global deadline) and kills its children on
// every exit path. See README.md for the method.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { benchSettings, formatTable, machineLine, runBench } from './harness.ts';
import {
  commonBenchOptions,
  guardBenchProcess,
  killServerChildren,
  serverProfileArgs,
} from './server-process.ts';
import { DEFAULT_KINDS, loadBenchModules, serverKind } from './server-kinds.ts';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    clients: { type: 'string', default: '100,1000' },
    kinds: { type: 'string', default: DEFAULT_KINDS.join(',') },
    quick: { type: 'boolean', default: false },
    workload: { type: 'string', default: 'broadcast' },
    baseline: { type: 'string' },
    senders: { type: 'string' },
    'window-deliveries': { type: 'string' },
    repeats: { type: 'string' },
    messages: { type: 'string' },
    rate: { type: 'string' },
    ...commonBenchOptions(30),
  },
  strict: true,
});

if (values.help) {
  console.log(`usage: tsx stage3-multithread-server/bench/main-bench.ts [options]
  --clients 100,1000     client counts (each message is fanned out to all of them)
  --kinds a,b,...        server kinds (default ${DEFAULT_KINDS.join(',')})
  --quick                small message counts, short latency phase (a smoke run)
  --workload broadcast   what the clients send (stage 4 registers more)
  --baseline naive       the kind ratios compare against
  --senders 10           clients that send (spread over the N)
  --window-deliveries 100000  deliveries in flight at most (a message to N clients counts N)
  --messages K           throughput messages (default 2e6 / N), --repeats 3 runs (median shown)
  --rate R               latency phase messages/s (default 20000 / N), --latency-ms 3000
  --module path.ts       a module registering more kinds/workloads (repeatable)
  --cpu-prof dir         run the server children with --cpu-prof, profiles into dir
  --max-minutes 30       give up (and kill the children) after this long
  --json                 also print the results as JSON`);
  process.exit(0);
}

function positiveInt(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`--${name} must be a positive integer, got ${text}`);
  return value;
}

const clients = values.clients.split(',').map((each) => positiveInt('clients', each.trim()));
const kinds = values.kinds.split(',').map((each) => each.trim());
const modules = values.module.map((module) => resolve(module));
await loadBenchModules(modules);
for (const kind of kinds) serverKind(kind);
for (const n of clients)
  if (n > 5_000) throw new Error(`--clients ${n}: at most 5000 (file descriptors, ports)`);

guardBenchProcess(positiveInt('max-minutes', values['max-minutes']));
const profileDir = values['cpu-prof'] ? resolve(values['cpu-prof']) : undefined;
const serverNodeArgs = serverProfileArgs(profileDir);

const options = {
  kinds,
  clients,
  quick: values.quick,
  workload: values.workload,
  baseline: values.baseline,
  senders: values.senders === undefined ? undefined : positiveInt('senders', values.senders),
  windowDeliveries:
    values['window-deliveries'] === undefined
      ? undefined
      : positiveInt('window-deliveries', values['window-deliveries']),
  repeats: values.repeats === undefined ? undefined : positiveInt('repeats', values.repeats),
  messages: values.messages === undefined ? undefined : () => positiveInt('messages', values.messages!),
  rate: values.rate === undefined ? undefined : () => positiveInt('rate', values.rate!),
  latencyMs: values['latency-ms'] === undefined ? undefined : positiveInt('latency-ms', values['latency-ms']),
  modules,
  serverNodeArgs,
  log: (line: string) => console.log(`  ${line}`),
};
const settings = benchSettings(options);

console.log(machineLine());
console.log(
  `workload ${settings.workload}, ${settings.senders} senders, CONTENT ${settings.contentBytes} bytes\n` +
    `throughput: ${settings.repeats} run(s) after a 10% warm-up, at most ${settings.windowDeliveries} deliveries in flight; ` +
    clients.map((n) => `N=${n}: ${settings.messages(n)} messages`).join(', ') +
    `\nlatency: ${settings.latencyMs} ms at ${clients.map((n) => `N=${n}: ${settings.rate(n)} msg/s`).join(', ')}`,
);
const started = Date.now();
let failed = false;
try {
  const rows = await runBench(options);
  failed = rows.some((row) => row.error);
  console.log('');
  console.log(formatTable(rows, settings.baseline));
  console.log('');
  console.log(
    `delivered msg/s = messages x clients receiving each / seconds until the last client had the last message ` +
      `(median of the runs); p50/p99 = arrival at ${settings.sampled} sampled clients - scheduled send time, ` +
      `at the latency load shown; CPU = % of one core during the median run.`,
  );
  console.log(`${machineLine()}; bench took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (values.json) console.log(JSON.stringify(rows, null, 2));
  if (profileDir) {
    // For cpuprofile-summary.ts --phases: which child (pid) ran which throughput runs, and when.
    const phases = rows.map((row) => ({
      kind: row.kind,
      clients: row.clients,
      pid: row.pid,
      throughput: row.throughputRuns.map((run) => run.monotonicUs),
    }));
    writeFileSync(join(profileDir, 'phases.json'), `${JSON.stringify(phases, null, 2)}\n`);
    console.log(
      `profiles in ${profileDir}; summarize with cpuprofile-summary.ts --phases ${join(profileDir, 'phases.json')} FILES`,
    );
  }
} finally {
  killServerChildren();
}
process.exit(failed ? 1 : 0);
