// Idle CPU of the stage 2 client (one event loop, sleeping in epoll_wait) against a deliberately
// polling client (a 1 ms timer and non-blocking reads), both logged in to the same server and
// measured over the same seconds. Usage: tsx stage2-select-client/bench/idle-cpu.ts [--seconds N]
import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createBroadcastServer } from '../src/broadcast-server.ts';
import { CLOCK_TICKS_PER_SECOND, processTree, processTreeCpuMs } from './process-tree-cpu.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' } } });
const seconds = Number(values.seconds);
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const TSX = here('../../node_modules/.bin/tsx');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts a client under tsx (stdin an open, empty pipe) and resolves once it has logged in. */
async function startClient(entry: string, port: number, name: string): Promise<ChildProcess> {
  const child = spawn(TSX, [entry, '--port', String(port), '--name', name], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith(`* logged in as ${name}`)) resolve();
    });
    child.on('exit', (code) => reject(new Error(`${entry} exited with ${code} before logging in`)));
  });
  return child;
}

const server = createBroadcastServer({ log: () => {} });
const { port } = await server.listen('127.0.0.1', 0);
const clients = {
  'stage 2 client (epoll)': await startClient(here('../src/main-client.ts'), port, 'selecting'),
  'polling client (1 ms)': await startClient(here('./polling-client.ts'), port, 'polling'),
};
await sleep(500); // past start-up work

const before = Object.values(clients).map((child) => processTreeCpuMs(child.pid!));
const started = performance.now();
await sleep(seconds * 1000);
const wallMs = performance.now() - started;
const used = Object.values(clients).map((child, i) => processTreeCpuMs(child.pid!) - before[i]);

console.log(
  `idle CPU over ${(wallMs / 1000).toFixed(1)} s, both clients logged in, nothing typed or received:`,
);
Object.entries(clients).forEach(([label, child], i) => {
  const share = ((used[i] / wallMs) * 100).toFixed(2);
  console.log(
    `  ${label.padEnd(24)} ${String(used[i]).padStart(6)} ms CPU (${share}% of one core, ${processTree(child.pid!).length} processes)`,
  );
});
const [selecting, polling] = used;
// Below one clock tick the stage 2 figure reads 0: the ratio is then a lower bound.
const tickMs = 1000 / CLOCK_TICKS_PER_SECOND;
const ratio = polling / Math.max(selecting, tickMs);
console.log(`  ratio polling / stage 2: ${selecting > 0 ? '' : 'at least '}${ratio.toFixed(1)}x`);

clients['stage 2 client (epoll)'].stdin!.end();
clients['polling client (1 ms)'].kill();
await Promise.all(
  Object.values(clients).map((child) => new Promise((resolve) => child.once('exit', resolve))),
);
await server.close();
