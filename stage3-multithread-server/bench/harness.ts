import os from 'node:os';
import { LoadClients, type LatencyResult, type SetupResult, type ThroughputResult } from './load.ts';
import { processIo, startServerChild, type ServerChild } from './server-process.ts';
import { DEFAULT_BASELINE, serverKind } from './server-kinds.ts';
import { workloadNamed } from './workloads.ts';

/**
 * Runs every (clients, server kind) pair in turn, one server child at a time: start the child,
 * connect and settle the clients, warm up, measure throughput (`repeats` times, the median is
 * reported), measure latency, stop the child. main-bench.ts is its command line; stage 4 calls it
 * with its own kinds (registered from a module) and workload.
 */
export interface BenchOptions {
  kinds: readonly string[];
  clients: readonly number[];
  workload?: string;
  /** The kind the ratios compare against (must be in `kinds` for ratios to appear). */
  baseline?: string;
  /** Small message counts, one repeat, a short latency phase: a smoke run. */
  quick?: boolean;
  senders?: number;
  /** Deliveries in flight at most in the throughput phase (a broadcast to N counts N); default 100 000. */
  windowDeliveries?: number;
  /** Throughput messages for N clients; default: 2e6 deliveries (2e6 / N messages). */
  messages?: (clients: number) => number;
  /** Throughput runs per (kind, N); the median is reported. Default 3 (1 with quick). */
  repeats?: number;
  /** Latency phase offered load for N clients, messages/s; default 20 000 / N (20 000 deliveries/s). */
  rate?: (clients: number) => number;
  latencyMs?: number;
  contentBytes?: number;
  /** Clients that decode every frame; 'all' checks every message at every client (tests). */
  sampled?: number | 'all';
  /**
   * In the latency phase every client decodes: samples and exact checks at every receiver (for
   * workloads where the sampled clients see few messages, e.g. direct). Default false.
   */
  latencyDecodeAll?: boolean;
  /** Modules registering extra kinds or workloads (absolute paths), passed on to the children. */
  modules?: readonly string[];
  /** Extra node flags for the server children (e.g. --cpu-prof). */
  serverNodeArgs?: readonly string[];
  log?: (line: string) => void;
}

export interface ThroughputRun extends ThroughputResult {
  /** When the run went on, in CLOCK_MONOTONIC microseconds (process.hrtime; V8 profiles use it too). */
  monotonicUs: [from: number, to: number];
  /** CPU used during the run, in % of one core (100 = one core busy the whole time). */
  serverCpuPct?: number;
  loadgenCpuPct?: number;
  /** Write-like system calls the server made during the run (Linux /proc/PID/io). */
  serverWrites?: number;
  /** Server CPU time (all threads) per delivered frame, ns. */
  serverCpuNsPerDelivery?: number;
  /** Read-like system calls the load generator made during the run. */
  loadgenReads?: number;
}

export interface BenchRow {
  kind: string;
  clients: number;
  /** The server child's pid (its --cpu-prof files are named after it). */
  pid?: number;
  setup?: SetupResult;
  /** Write-like system calls the server made while the clients logged in and the join notices settled. */
  setupServerWrites?: number;
  /** Every throughput run, in order. */
  throughputRuns: ThroughputRun[];
  /** The median run (by delivered msg/s). */
  throughput?: ThroughputRun;
  latency?: LatencyResult;
  /** Set when the run failed (the child died, a phase timed out, a check failed). */
  error?: string;
}

export interface BenchSettings {
  workload: string;
  baseline: string;
  senders: number;
  windowDeliveries: number;
  contentBytes: number;
  latencyMs: number;
  repeats: number;
  messages: (clients: number) => number;
  rate: (clients: number) => number;
  sampled: number | 'all';
  latencyDecodeAll: boolean;
  /** How long a phase may take before it is reported as incomplete. */
  phaseTimeoutMs: number;
}

export function benchSettings(options: BenchOptions): BenchSettings {
  const quick = options.quick ?? false;
  return {
    workload: options.workload ?? 'broadcast',
    baseline: options.baseline ?? DEFAULT_BASELINE,
    senders: options.senders ?? 10,
    windowDeliveries: options.windowDeliveries ?? 100_000,
    contentBytes: options.contentBytes ?? 64,
    latencyMs: options.latencyMs ?? (quick ? 500 : 3_000),
    repeats: options.repeats ?? (quick ? 1 : 3),
    messages: options.messages ?? ((n) => (quick ? 100 : Math.max(100, Math.round(2_000_000 / n)))),
    rate: options.rate ?? ((n) => Math.max(1, Math.round((quick ? 4_000 : 20_000) / n))),
    sampled: options.sampled ?? 8,
    latencyDecodeAll: options.latencyDecodeAll ?? false,
    phaseTimeoutMs: quick ? 20_000 : 120_000,
  };
}

function median<T>(items: readonly T[], by: (item: T) => number): T | undefined {
  const sorted = [...items].sort((a, b) => (by(a) || 0) - (by(b) || 0));
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

export async function runBench(options: BenchOptions): Promise<BenchRow[]> {
  const settings = benchSettings(options);
  const log = options.log ?? (() => {});
  const workload = workloadNamed(settings.workload);
  for (const kind of options.kinds) serverKind(kind); // unknown names fail before anything starts
  const rows: BenchRow[] = [];
  for (const clients of options.clients) {
    for (const kind of options.kinds) {
      const row: BenchRow = { kind, clients, throughputRuns: [] };
      rows.push(row);
      const say = (line: string) => log(`${kind} N=${clients}: ${line}`);
      let child: ServerChild | undefined;
      let load: LoadClients | undefined;
      try {
        child = await startServerChild({ kind, modules: options.modules, nodeArgs: options.serverNodeArgs });
        row.pid = child.pid;
        const setupIo = child.io();
        const opened = await LoadClients.open({
          port: child.port,
          clients,
          sampled: settings.sampled,
          namePrefix: `u${clients}x`,
        });
        load = opened.load;
        row.setup = opened.setup;
        const setupIoAfter = child.io();
        if (setupIo && setupIoAfter) row.setupServerWrites = setupIoAfter.syscw - setupIo.syscw;
        say(
          `${clients} logged in in ${opened.setup.connectMs.toFixed(0)} ms; ${opened.setup.setupFrames} setup frames ` +
            `(join notices) settled ${opened.setup.settleMs.toFixed(0)} ms later ` +
            `(${perCall(opened.setup.setupFrames, row.setupServerWrites)} frames per server write)`,
        );
        const messages = settings.messages(clients);
        const common = { workload, senders: settings.senders, contentBytes: settings.contentBytes };
        const tp = {
          ...common,
          windowDeliveries: settings.windowDeliveries,
          timeoutMs: settings.phaseTimeoutMs,
        };
        const warmup = await load.throughput({ ...tp, messages: Math.max(10, Math.round(messages / 10)) });
        if (!warmup.check.ok) throw new Error(`warm-up: ${warmup.check.problems.join('; ')}`);
        for (let run = 0; run < settings.repeats; run++) {
          const serverCpu = child.cpuSeconds();
          const loadgenCpu = process.cpuUsage();
          const serverIo = child.io();
          const loadgenIo = processIo('self');
          const fromUs = Number(process.hrtime.bigint() / 1000n);
          const measured = await load.throughput({ ...tp, messages });
          const result: ThroughputRun = {
            ...measured,
            monotonicUs: [fromUs, fromUs + Math.round(measured.seconds * 1e6)],
          };
          const serverCpuAfter = child.cpuSeconds();
          const loadgenCpuUsed = process.cpuUsage(loadgenCpu);
          const serverIoAfter = child.io();
          const loadgenIoAfter = processIo('self');
          if (serverIo && serverIoAfter) result.serverWrites = serverIoAfter.syscw - serverIo.syscw;
          if (loadgenIo && loadgenIoAfter) result.loadgenReads = loadgenIoAfter.syscr - loadgenIo.syscr;
          const wall = result.seconds;
          if (serverCpu !== undefined && serverCpuAfter !== undefined) {
            result.serverCpuPct = ((serverCpuAfter - serverCpu) / wall) * 100;
            result.serverCpuNsPerDelivery =
              ((serverCpuAfter - serverCpu) * 1e9) / Math.max(1, result.check.deliveries);
          }
          result.loadgenCpuPct = ((loadgenCpuUsed.user + loadgenCpuUsed.system) / 1e6 / wall) * 100;
          row.throughputRuns.push(result);
          say(
            `throughput run ${run + 1}: ${messages} messages -> ${result.check.deliveries} deliveries in ${wall.toFixed(2)} s = ` +
              `${formatRate(result.deliveredPerSecond)}/s (CPU: server ${pct(result.serverCpuPct)}, ` +
              `load generator ${pct(result.loadgenCpuPct)} of a core; server ${ns(result.serverCpuNsPerDelivery)} CPU ` +
              `per delivery; ${perCall(result.check.deliveries, result.serverWrites)} ` +
              `frames per server write, ${perCall(result.check.deliveries, result.loadgenReads)} per client read)` +
              `${result.check.ok ? '' : ` CHECK FAILED: ${result.check.problems[0]}`}`,
          );
          if (!result.check.ok) break;
        }
        row.throughput = median(row.throughputRuns, (run) => run.deliveredPerSecond);
        row.latency = await load.latency({
          ...common,
          rate: settings.rate(clients),
          durationMs: settings.latencyMs,
          timeoutMs: settings.phaseTimeoutMs,
          decodeAll: settings.latencyDecodeAll,
        });
        say(
          `latency at ${row.latency.rate} msg/s: p50 ${row.latency.p50Ms.toFixed(2)} ms, p99 ${row.latency.p99Ms.toFixed(2)} ms, ` +
            `max ${row.latency.maxMs.toFixed(2)} ms (${row.latency.samples} samples)`,
        );
        const problems = [
          ...row.throughputRuns.flatMap((run) => run.check.problems),
          ...row.latency.check.problems,
        ];
        if (problems.length > 0) row.error = problems.slice(0, 3).join('; ');
      } catch (error) {
        row.error = (error as Error).message;
        const stderr = child?.stderr().trim();
        if (stderr) row.error += ` [server stderr: ${stderr.slice(-500)}]`;
        say(`FAILED: ${row.error}`);
      } finally {
        load?.close();
        await child?.stop();
      }
    }
  }
  return rows;
}

export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '-';
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)}M`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)}k`;
  return perSecond.toFixed(0);
}

function ns(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '-' : `${value.toFixed(0)} ns`;
}

function perCall(frames: number, calls: number | undefined): string {
  return calls ? (frames / calls).toFixed(1) : '-';
}

function pct(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '-' : `${value.toFixed(0)}%`;
}

function ms(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(2);
}

export function machineLine(): string {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  const load = os
    .loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
  return `machine: ${os.availableParallelism()} cores (${cpu}), Node ${process.version}, ${os.platform()} ${os.release()}, load average ${load}`;
}

/**
 * The result table: server | N | delivered msg/s (median run) | ratio to each baseline | p50 | p99,
 * then the spread of the throughput runs, the latency phase's offered load (messages/s x receivers of
 * each), and for the median throughput run: the CPU both processes used, the server's CPU per
 * delivered frame, frames per server write. `baseline`: one kind or several (a ratio column each).
 */
export function formatTable(rows: readonly BenchRow[], baseline: string | readonly string[]): string {
  const baselines = typeof baseline === 'string' ? [baseline] : baseline;
  const header = [
    'server',
    'N',
    'delivered msg/s',
    ...baselines.map((each) => `ratio to ${each}`),
    'p50 ms',
    'p99 ms',
    'runs min-max',
    'latency load',
    'CPU server/loadgen',
    'server CPU/delivery',
    'frames/write',
    'check',
  ];
  const numeric = new Set(Array.from({ length: 4 + baselines.length }, (_, column) => column + 1));
  const lines = rows.map((row) => {
    const rate = row.throughput?.deliveredPerSecond;
    const ratios = baselines.map((name) => {
      const base = rows.find((each) => each.kind === name && each.clients === row.clients)?.throughput
        ?.deliveredPerSecond;
      return base && rate && Number.isFinite(base) && Number.isFinite(rate)
        ? `${(rate / base).toFixed(2)}x`
        : '-';
    });
    const rates = row.throughputRuns.map((run) => run.deliveredPerSecond).filter(Number.isFinite);
    // Receivers of each message: N for a broadcast, 1 for a private message.
    const fanOut = row.latency
      ? Math.round(row.latency.check.expectedDeliveries / Math.max(1, row.latency.messages))
      : 0;
    return [
      row.kind,
      String(row.clients),
      formatRate(rate ?? Number.NaN),
      ...ratios,
      ms(row.latency?.p50Ms),
      ms(row.latency?.p99Ms),
      rates.length > 1 ? `${formatRate(Math.min(...rates))}-${formatRate(Math.max(...rates))}` : '-',
      row.latency ? `${row.latency.rate} msg/s x ${fanOut}` : '-',
      `${pct(row.throughput?.serverCpuPct)} / ${pct(row.throughput?.loadgenCpuPct)}`,
      ns(row.throughput?.serverCpuNsPerDelivery),
      perCall(row.throughput?.check.deliveries ?? 0, row.throughput?.serverWrites),
      row.error ? `FAILED: ${row.error.slice(0, 200)}` : 'ok',
    ];
  });
  const widths = header.map((title, column) =>
    Math.max(title.length, ...lines.map((line) => line[column].length)),
  );
  const format = (cells: string[]) =>
    `| ${cells.map((cell, column) => (numeric.has(column) ? cell.padStart(widths[column]) : cell.padEnd(widths[column]))).join(' | ')} |`;
  return [
    format(header),
    `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`,
    ...lines.map(format),
  ].join('\n');
}
