import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { processTree, processTreeCpuMs } from '../bench/process-tree-cpu.ts';
import { LineUi } from '../src/line-ui.ts';
import { fakeTerminal, messageWithText, startChat } from './chat-fixture.ts';

const TSX = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
const CLIENT = fileURLToPath(new URL('../src/main-client.ts', import.meta.url));
const IDLE_MS = 3_000;
/** A polling loop would show here; an idle event loop uses a few ms. Not a speed target. */
const MAX_IDLE_CPU_SHARE = 0.1;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How many of each kind of resource keeps the event loop alive ("Timeout", "TCPSocketWrap"...). */
function countResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

describe('stage 2: less CPU workload (the client waits in epoll, it does not poll)', () => {
  let chat: Awaited<ReturnType<typeof startChat>>;
  beforeEach(async () => {
    chat = await startChat();
  });
  afterEach(() => chat.stop());

  it('an idle, logged-in client holds no timer and no immediate: nothing wakes it but input', async () => {
    await sleep(50); // the same settling as below, so both snapshots are taken in the same state
    const baseline = countResources(); // jest's own timers count too: only what the client adds matters
    const terminal = fakeTerminal();
    const client = await chat.connect();
    const ui = new LineUi({ input: terminal.keyboard, output: terminal.display, client, terminal: true });
    await ui.login('idle');
    const bob = await chat.join('bob');
    bob.sendPublic('traffic first, then silence');
    await messageWithText(client, 'traffic first, then silence');
    await sleep(50); // let the last write's flush (a setImmediate) run; this timer is gone once it fires
    const idle = countResources();
    const show = (counts: Map<string, number>) => JSON.stringify(Object.fromEntries(counts));
    console.log(`stage 2 active resources: before the client ${show(baseline)}, client idle ${show(idle)}`);
    for (const kind of ['Timeout', 'Immediate'])
      expect(idle.get(kind) ?? 0).toBeLessThanOrEqual(baseline.get(kind) ?? 0);
    expect(idle.get('TCPSocketWrap') ?? 0).toBeGreaterThan(baseline.get('TCPSocketWrap') ?? 0); // what it waits on
  });

  it('a logged-in client process uses under 10% CPU while idle (measured from /proc over the process tree)', async () => {
    const child = spawn(TSX, [CLIENT, '--port', String(chat.port), '--name', 'idle'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const output: string[] = [];
    const loggedIn = new Promise<void>((resolve, reject) => {
      readline.createInterface({ input: child.stdout }).on('line', (line) => {
        output.push(line);
        if (line.startsWith('* logged in as idle')) resolve();
      });
      child.on('exit', () => reject(new Error(`the client exited early:\n${output.join('\n')}`)));
    });
    child.stderr.resume();
    try {
      await loggedIn;
      await sleep(200); // past the start-up work (module loading, JIT, the first GC)
      const pid = child.pid!;
      const before = processTreeCpuMs(pid);
      // The instrument sees the real work: tsx and its node child, and their start-up CPU.
      expect(processTree(pid).length).toBeGreaterThanOrEqual(2);
      expect(before).toBeGreaterThan(100);
      const started = performance.now();
      await sleep(IDLE_MS); // stdin is an open pipe with nothing in it, the socket is silent
      const usedMs = processTreeCpuMs(pid) - before;
      const wallMs = performance.now() - started;
      console.log(
        `stage 2 idle client: ${usedMs} ms CPU in ${Math.round(wallMs)} ms idle ` +
          `(${((usedMs / wallMs) * 100).toFixed(2)}%; ${before} ms to start; ${processTree(pid).length} processes)`,
      );
      expect(usedMs).toBeLessThan(wallMs * MAX_IDLE_CPU_SHARE);
    } finally {
      child.stdin.end(); // the end of input: the client leaves on its own
    }
    expect(await exited).toBe(0);
  }, 15_000);
});
