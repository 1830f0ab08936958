import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root (where node_modules/tsx is): children run from there. */
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BENCH_SERVER_ENTRY = fileURLToPath(new URL('./bench-server.ts', import.meta.url));

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const LISTENING = /^listening on 127\.0\.0\.1:(\d+)$/m;

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Linux: user + system CPU seconds of a process (all its threads), from /proc/PID/stat. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": state is field 3, utime 14 and stime 15 (clock ticks, 100 a second).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

export interface IoCounters {
  /** read-like and write-like system calls (read, recvmsg, ... / write, writev, sendmsg, ...). */
  syscr: number;
  syscw: number;
}

/** Linux: a process's system call counters from /proc/PID/io (all its threads), or undefined. */
export function processIo(pid: number | 'self'): IoCounters | undefined {
  try {
    const fields = new Map(
      readFileSync(`/proc/${pid}/io`, 'utf8')
        .trim()
        .split('\n')
        .map((line) => line.split(': ') as [string, string]),
    );
    return { syscr: Number(fields.get('syscr')), syscw: Number(fields.get('syscw')) };
  } catch {
    return undefined;
  }
}

/** Kills every server child still running (SIGKILL): for exit paths. Safe to call twice. */
export function killServerChildren(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

export interface ServerChild {
  readonly kind: string;
  readonly port: number;
  readonly pid: number;
  /** What the child wrote to stderr so far (for error reports). */
  readonly stderr: () => string;
  /** CPU seconds the child has used so far (all threads), or undefined where /proc is missing. */
  cpuSeconds(): number | undefined;
  /** System call counters of the child so far, or undefined where /proc is missing. */
  io(): IoCounters | undefined;
  /** SIGTERM, then SIGKILL if it has not exited within 10 s. */
  stop(): Promise<void>;
}

export interface StartServerOptions {
  kind: string;
  /** Modules registering extra kinds (absolute paths). */
  modules?: readonly string[];
  /** Extra node flags for the child, e.g. ['--cpu-prof', '--cpu-prof-dir', dir]. */
  nodeArgs?: readonly string[];
}

/** Starts bench-server.ts in a child process and waits for its `listening on` line. */
export async function startServerChild(options: StartServerOptions): Promise<ServerChild> {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', killServerChildren);
  }
  const args = [
    ...(options.nodeArgs ?? []),
    '--import',
    'tsx',
    BENCH_SERVER_ENTRY,
    '--kind',
    options.kind,
    '--port',
    '0',
    ...(options.modules ?? []).flatMap((module) => ['--module', module]),
  ];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  live.add(child);
  let stdout = '';
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    if (stderr.length < 64 * 1024) stderr += text;
  });
  child.stdin!.on('error', () => {});
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => live.delete(child));

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${options.kind}: no "listening on" within ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    );
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
      const match = LISTENING.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(
        new Error(
          `${options.kind}: server child exited (${signal ?? `code ${code}`}) before listening:\n${stderr.trim()}`,
        ),
      );
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  }).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });

  return {
    kind: options.kind,
    port,
    pid: child.pid!,
    stderr: () => stderr,
    cpuSeconds: () => processCpuSeconds(child.pid!),
    io: () => processIo(child.pid!),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * For a bench's main: gives up after `maxMinutes`, and on Ctrl-C, SIGTERM or a crash, kills the server
 * children before exiting, so no run leaves a server behind.
 */
export function guardBenchProcess(maxMinutes: number): void {
  setTimeout(() => {
    console.error(`main-bench: still running after ${maxMinutes} minutes: giving up`);
    killServerChildren();
    process.exit(2);
  }, maxMinutes * 60_000).unref();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killServerChildren();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (error) => {
    console.error(error);
    killServerChildren();
    process.exit(1);
  });
}

/** Node flags that make every server child write a CPU profile into `dir` (none without a dir). */
export function serverProfileArgs(dir: string | undefined): string[] {
  if (!dir) return [];
  mkdirSync(dir, { recursive: true });
  return ['--cpu-prof', '--cpu-prof-dir', dir];
}

/** The command-line options every bench main takes (spread into its parseArgs options). */
export function commonBenchOptions(defaultMaxMinutes: number) {
  return {
    'latency-ms': { type: 'string' },
    module: { type: 'string', multiple: true, default: [] as string[] },
    'cpu-prof': { type: 'string' },
    'max-minutes': { type: 'string', default: String(defaultMaxMinutes) },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  } as const;
}
