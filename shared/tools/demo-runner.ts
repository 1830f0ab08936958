import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import readline from 'node:readline';

/** Scripted demos (`make stageN`): processes whose output is shown as labelled "windows". */

const TSX = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
const COLOURS = ['\x1b[36m', '\x1b[33m', '\x1b[35m', '\x1b[32m', '\x1b[34m', '\x1b[31m'];
let nextColour = 0;

export interface DemoProcess {
  readonly label: string;
  readonly child: ChildProcess;
  readonly lines: string[];
  /** Resolves with the first output line (past or future) matching `pattern`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Types one line into the process's standard input. */
  type(line: string): void;
  endInput(): void;
  /** Resolves with the exit code. */
  exited: Promise<number>;
}

/** Starts a TypeScript entry point under tsx; its output lines are printed as `[label] line`. */
export function startDemoProcess(
  label: string,
  entry: string,
  args: string[],
  print = defaultPrint,
): DemoProcess {
  const colour = process.stdout.isTTY ? COLOURS[nextColour++ % COLOURS.length] : '';
  const reset = colour ? '\x1b[0m' : '';
  const child = spawn(TSX, [entry, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (match: RegExpMatchArray) => void }[] = [];
  const onLine = (line: string) => {
    lines.push(line);
    print(`${colour}${`[${label}]`.padEnd(10)}${reset} ${line}`);
    for (const waiter of [...waiters]) {
      const match = line.match(waiter.pattern);
      if (match) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(match);
      }
    }
  };
  readline.createInterface({ input: child.stdout! }).on('line', onLine);
  readline.createInterface({ input: child.stderr! }).on('line', onLine);
  const exited = new Promise<number>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))),
  );
  return {
    label,
    child,
    lines,
    exited,
    waitFor(pattern, timeoutMs = 15_000) {
      for (const line of lines) {
        const match = line.match(pattern);
        if (match) return Promise.resolve(match);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`[${label}] no line matching ${pattern} within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          pattern,
          resolve: (match) => {
            clearTimeout(timer);
            resolve(match);
          },
        });
      });
    },
    type(line) {
      print(`${colour}${`[${label}]`.padEnd(10)}${reset} > ${line}`);
      child.stdin!.write(`${line}\n`);
    },
    endInput() {
      child.stdin!.end();
    },
  };
}

function defaultPrint(line: string): void {
  console.log(line);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Starts a server entry point on a free port and resolves once it says where it listens. */
export async function startDemoServer(
  label: string,
  entry: string,
  args: string[] = [],
): Promise<{ server: DemoProcess; port: number }> {
  const server = startDemoProcess(label, entry, ['--port', '0', ...args]);
  const match = await server.waitFor(/listening on .*:(\d+)/);
  return { server, port: Number(match[1]) };
}

/** Stops a demo server with SIGTERM and checks it exits cleanly. */
export async function stopDemoServer(server: DemoProcess): Promise<boolean> {
  server.child.kill('SIGTERM');
  return (await server.exited) === 0;
}

/** A port that was free a moment ago (for demos whose windows must know it before they start). */
export async function findFreePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
