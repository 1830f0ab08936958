// A hostile storm against the stage 4 server, to see where its memory goes and whether it comes back:
// `node_modules/.bin/tsx stage4-routing/bench/storm.ts [--hostile-s 60] [--load-s 45] [--quiet-s 60]
// [--snapshot-dir /tmp/storm]` (or `make storm`). Loopback only, bounded in count and time, one server
// child (storm-server.ts: the product defaults). Phases: a baseline; hostile connections (random
// bytes, invalid UTF-8, wrong shapes, huge and deep JSON, oversize lengths, truncated and trickled
// frames, slowloris, idle, readers that never read, floods, 64 KiB history fillers, name churn); 200
// clients at 5 DMs/s with slow readers and flooders beside them; then quiet with two users online.
// Two users exchange a DM and a broadcast every second throughout. It prints the server's RSS
// (VmRSS) at start, at the peak, at the end of the load and 30/60 s later, the server's own memory
// breakdown before and after a full GC, and (with --snapshot-dir) a heap snapshot summary.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FrameDecoder, decodePayload, encodeFrame, frameBytes } from '#shared';
import {
  guardBenchProcess,
  killServerChildren,
  startServerChild,
  type ServerChild,
} from '../../stage3-multithread-server/bench/server-process.ts';
import { summarizeHeapSnapshot } from './heapsnapshot-summary.ts';
import { STORM_KIND } from './storm-server.ts';

const STORM_SERVER_MODULE = fileURLToPath(new URL('./storm-server.ts', import.meta.url));
const HOST = '127.0.0.1';
const MiB = 1024 * 1024;

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    'hostile-s': { type: 'string', default: '60' },
    'load-s': { type: 'string', default: '45' },
    'quiet-s': { type: 'string', default: '60' },
    concurrency: { type: 'string', default: '40' },
    'load-clients': { type: 'string', default: '200' },
    'snapshot-dir': { type: 'string' },
    workers: { type: 'string' },
    'max-minutes': { type: 'string', default: '10' },
  },
  strict: true,
});
const hostileMs = Number(values['hostile-s']) * 1000;
const loadMs = Number(values['load-s']) * 1000;
const quietMs = Number(values['quiet-s']) * 1000;
const concurrency = Number(values.concurrency);
const loadClients = Math.min(1_000, Number(values['load-clients']));
guardBenchProcess(Number(values['max-minutes']));

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)];

/** The server's resident set (VmRSS) in MiB, from /proc. */
function rssMiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

/** The server's open file descriptors (sockets among them), from /proc. */
function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

/**
 * The server's resident memory by kind of mapping, in MiB, from /proc/PID/smaps: the main malloc
 * arena ([heap]), glibc's per-thread arenas (anonymous mappings reserved in 64 MiB units), V8's
 * heap pages and other anonymous memory (the rest), and file-backed (code, libraries).
 */
function residentByMapping(pid: number): Record<string, number> {
  const totals: Record<string, number> = {};
  let kind = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) {
      const bytes = parseInt(header[2], 16) - parseInt(header[1], 16);
      const path = header[3];
      if (path === '[heap]') kind = 'main malloc arena ([heap])';
      else if (path.startsWith('[')) kind = `other ${path}`;
      else if (path) kind = 'file-backed';
      else if (bytes === 64 * MiB || bytes === 128 * MiB) kind = 'thread malloc arenas (64 MiB units)';
      else kind = 'other anonymous (V8 heaps, large buffers, stacks)';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB$/.exec(line);
    if (rss) totals[kind] = (totals[kind] ?? 0) + Number(rss[1]) / 1024;
  }
  return totals;
}

// ---- a light client: counts frames and ERROR codes, keeps nothing ------------------------------

class StormClient {
  readonly socket: net.Socket;
  frames = 0;
  readonly errors = new Map<string, number>();
  accepted: boolean | undefined;
  /** The name logged in with: every message's SRC (the server refuses any other). */
  name = '';
  isClosed = false;
  #onAccept: (() => void) | undefined;

  constructor(socket: net.Socket, { reading = true } = {}) {
    this.socket = socket;
    const decoder = new FrameDecoder({
      maxFrameBytes: 64 * MiB,
      onFrame: (payload) => {
        this.frames++;
        // Only small frames are parsed: the big ones are history and fan-out we do not need to read.
        if (payload.length > 4096 && this.accepted !== undefined) return;
        let frame: Record<string, unknown>;
        try {
          frame = decodePayload(payload);
        } catch {
          return;
        }
        if (typeof frame.USERNAME_ACCEPTED === 'boolean') {
          this.accepted = frame.USERNAME_ACCEPTED;
          this.#onAccept?.();
        }
        if (frame.ERROR !== undefined) {
          const code = typeof frame.CODE === 'string' ? frame.CODE : 'ERROR';
          this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
        }
      },
      onError: () => this.socket.destroy(),
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.isClosed = true;
      this.#onAccept?.();
    });
    if (reading) socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    else socket.pause();
  }

  static connect(options: { reading?: boolean } = {}): Promise<StormClient> {
    return new Promise((resolve) => {
      const socket = net.connect({ host: HOST, port: server.port });
      const client = new StormClient(socket, options);
      socket.once('connect', () => resolve(client));
      socket.once('close', () => resolve(client));
    });
  }

  /** Logs in; false if refused or closed within 10 s. */
  async login(name: string): Promise<boolean> {
    this.name = name;
    this.send({ USERNAME: name, FEATURES: ['CODE'] });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 10_000);
      this.#onAccept = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#onAccept = undefined;
    return this.accepted === true;
  }

  send(message: object): void {
    this.write(encodeFrame(message));
  }

  write(bytes: Uint8Array): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(bytes);
  }

  async closedWithin(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.isClosed && Date.now() < deadline) await sleep(50);
    this.socket.destroy();
  }
}

// ---- the attacks: each one connection, bounded in time -----------------------------------------

let nameCounter = 0;
const uniqueName = (prefix: string) =>
  `${prefix}${(nameCounter++).toString(36)}${randomBytes(3).toString('hex')}`;
const counts = new Map<string, number>();
const stats = { connections: 0 };

const onePayloadAttacks: Record<string, () => Buffer> = {
  'random bytes': () => randomBytes(1 + Math.floor(Math.random() * 8192)),
  'invalid UTF-8': () => frameBytes(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d])),
  'wrong shapes': () =>
    Buffer.concat(
      [
        '42',
        '[1,2,3]',
        '"x"',
        'null',
        '{"USERNAME":5}',
        '{"__proto__":{"x":1}}',
        '{"MESSAGES":"x"}',
        '\ufeff{}',
        '{"NOPE":1}',
      ].map((text) => frameBytes(text)),
    ),
  'huge JSON': () => frameBytes(`{"USERNAME":"${'x'.repeat(MiB - 20)}"}`),
  'huge array': () => frameBytes(`{"MESSAGES":[${Array.from({ length: 150_000 }, () => '1').join(',')}]}`),
  'deep JSON': () => frameBytes(`{"MESSAGES":${'['.repeat(400_000)}${']'.repeat(400_000)}}`),
  'oversize length': () => Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff]), randomBytes(64)]),
  'truncated frame': () => Buffer.from([0, 0, 0, 100, 0x7b, 0x22]),
};

async function onePayload(kind: string): Promise<void> {
  const client = await StormClient.connect();
  client.write(onePayloadAttacks[kind]());
  if (kind === 'truncated frame') client.socket.end();
  await client.closedWithin(2_000);
}

/** A login trickled a byte every 20 ms, then a message the same way, then goodbye. */
async function trickle(): Promise<void> {
  const client = await StormClient.connect();
  const name = uniqueName('t');
  const bytes = Buffer.concat([
    encodeFrame({ USERNAME: name, FEATURES: ['CODE'] }),
    encodeFrame({ MESSAGES: [[name, 'ALL', 0, 'trickled é😀']] }),
  ]);
  for (const byte of bytes) {
    if (client.isClosed) break;
    client.write(Buffer.of(byte));
    await sleep(20);
  }
  client.socket.end();
  await client.closedWithin(2_000);
}

/** Slowloris: a frame started and fed a byte every 5 s; the server's frame deadline must close it. */
async function slowloris(): Promise<void> {
  const client = await StormClient.connect();
  client.write(Buffer.from([0, 0, 0, 200, 0x7b]));
  const deadline = Date.now() + 40_000;
  while (!client.isClosed && Date.now() < deadline) {
    await sleep(5_000);
    client.write(Buffer.from(' '));
  }
  client.socket.destroy();
}

/** Connects and says nothing: the login deadline must close it. */
async function idle(): Promise<void> {
  const client = await StormClient.connect();
  await client.closedWithin(40_000);
}

/** Logs in, never reads again: dropped at the send-queue cap by the fan-out. */
async function neverReader(untilMs: number): Promise<void> {
  const client = await StormClient.connect();
  if (await client.login(uniqueName('sleeper'))) client.socket.pause();
  await client.closedWithin(Math.max(0, untilMs - Date.now()));
}

/** Logs in and sends 60 broadcasts at once (the rate limiter holds them), then leaves. */
async function flooder(contentBytes = 60 * 1024): Promise<void> {
  const client = await StormClient.connect();
  if (await client.login(uniqueName('flood'))) {
    const big = 'f'.repeat(contentBytes);
    for (let i = 0; i < 60; i++) client.send({ MESSAGES: [[client.name, 'ALL', 0, `${i} ${big}`]] });
    await sleep(3_000);
  }
  client.socket.end();
  await client.closedWithin(3_000);
}

/** Logs in under a fresh name, stores ten 64 KiB messages in the history, leaves (a last-seen entry). */
async function historyFiller(): Promise<void> {
  const client = await StormClient.connect();
  if (await client.login(uniqueName('h'))) {
    const content = 'é'.repeat(32 * 1024 - 8); // 64 KiB of UTF-8
    // One message a frame: sent escaped (\u00e9, 6 bytes each), ten would pass the 1 MiB frame limit.
    for (let i = 0; i < 10; i++) client.send({ MESSAGES: [[client.name, 'ALL', 0, `${i}${content}`]] });
    await sleep(500);
  }
  client.socket.end();
  await client.closedWithin(2_000);
}

/** Logs in under a fresh 32-character name and leaves at once: the last-seen table grows. */
async function nameChurn(): Promise<void> {
  const client = await StormClient.connect();
  await client.login(`${uniqueName('n')}${'名'.repeat(20)}`.slice(0, 32));
  client.socket.end();
  await client.closedWithin(2_000);
}

const longLived = { slowloris: 0, idle: 0, neverReader: 0, flooder: 0 };
/** Caps on the long-lived attacks at any one time (each pool of them is bounded). */
const LONG_LIVED_CAP = { slowloris: 60, idle: 60, neverReader: 30, flooder: 4 };

async function oneAttack(untilMs: number): Promise<void> {
  const roll = Math.random();
  let kind: string;
  let run: () => Promise<void>;
  const capped = (name: keyof typeof longLived, attack: () => Promise<void>) => async () => {
    longLived[name]++;
    try {
      await attack();
    } finally {
      longLived[name]--;
    }
  };
  if (roll < 0.5) {
    kind = pick(Object.keys(onePayloadAttacks));
    run = () => onePayload(kind);
  } else if (roll < 0.6) [kind, run] = ['trickle', trickle];
  else if (roll < 0.7) [kind, run] = ['history filler', historyFiller];
  else if (roll < 0.85) [kind, run] = ['name churn', nameChurn];
  else {
    const name = pick(Object.keys(longLived) as (keyof typeof longLived)[]);
    if (longLived[name] >= LONG_LIVED_CAP[name]) {
      kind = 'name churn';
      run = nameChurn;
    } else {
      kind = name;
      const attacks = { slowloris, idle, neverReader: () => neverReader(untilMs), flooder: () => flooder() };
      run = capped(name, attacks[name]);
    }
  }
  counts.set(kind, (counts.get(kind) ?? 0) + 1);
  stats.connections++;
  await run().catch(() => {});
}

async function hostilePhase(durationMs: number): Promise<void> {
  const until = Date.now() + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < until) await oneAttack(until);
    }),
  );
}

/** `n` clients each sending 5 DMs/s to random others, with slow readers and flooders beside them. */
async function loadPhase(n: number, durationMs: number): Promise<void> {
  const until = Date.now() + durationMs;
  const names = Array.from({ length: n }, (_, i) => `load${i}`);
  const clients = await Promise.all(
    names.map(async (name) => {
      const client = await StormClient.connect();
      await client.login(name);
      stats.connections++;
      return client;
    }),
  );
  const beside = Promise.all([
    ...Array.from({ length: 10 }, () => neverReader(until)),
    // Flooders of 4 KiB broadcasts: bigger ones to 200 readers outrun this one process reading them.
    ...Array.from({ length: 5 }, async () => {
      while (Date.now() < until) await flooder(4 * 1024);
    }),
  ]);
  await Promise.all(
    clients.map(async (client, i) => {
      await sleep(Math.random() * 200);
      while (Date.now() < until) {
        client.send({ MESSAGES: [[names[i], pick(names), 0, `dm from ${names[i]} ${'d'.repeat(200)}`]] });
        await sleep(200);
      }
    }),
  );
  await beside;
  for (const client of clients) client.socket.end();
  await Promise.all(clients.map((client) => client.closedWithin(3_000)));
}

// ---- the run ---------------------------------------------------------------------------------

const snapshotDir = values['snapshot-dir'];
if (snapshotDir) mkdirSync(snapshotDir, { recursive: true });
const nodeArgs = ['--expose-gc'];
const previousEnv = process.env.MSG_HEAPSNAPSHOT_DIR;
if (snapshotDir) process.env.MSG_HEAPSNAPSHOT_DIR = snapshotDir;
if (values.workers !== undefined) process.env.MSG_STORM_WORKERS = values.workers;
const server: ServerChild = await startServerChild({
  kind: STORM_KIND,
  modules: [STORM_SERVER_MODULE],
  nodeArgs,
});
process.env.MSG_HEAPSNAPSHOT_DIR = previousEnv;
let peak = 0;
const sampler = setInterval(() => {
  const rss = rssMiB(server.pid);
  if (rss > peak) peak = rss;
}, 250);
const samples: Record<string, number> = {};
const sample = (label: string) => {
  samples[label] = rssMiB(server.pid);
  console.log(`  ${label}: RSS ${samples[label].toFixed(0)} MiB (peak so far ${peak.toFixed(0)} MiB)`);
};

try {
  await sleep(2_000);
  sample('start');
  const fdsAtStart = openFds(server.pid);
  // Two users talk all along: a DM and a broadcast each second; they must never be dropped.
  const alice = await StormClient.connect();
  const bob = await StormClient.connect();
  if (!(await alice.login('alice')) || !(await bob.login('bob')))
    throw new Error('alice and bob must log in');
  let talking = true;
  const talk = (async () => {
    for (let i = 0; talking; i++) {
      alice.send({ MESSAGES: [['alice', 'bob', 0, `dm ${i}`]] });
      bob.send({ MESSAGES: [['bob', 'ALL', 0, `hello ${i}`]] });
      await sleep(1_000);
    }
  })();
  console.log(`hostile phase: ${hostileMs / 1000} s, ${concurrency} connections at a time`);
  await hostilePhase(hostileMs);
  sample('after hostile');
  console.log(
    `load phase: ${loadClients} clients at 5 DMs/s for ${loadMs / 1000} s, slow readers and flooders beside`,
  );
  await loadPhase(loadClients, loadMs);
  sample('end of load');
  await sleep(quietMs / 2);
  sample('+30 s');
  await sleep(quietMs / 2);
  sample('+60 s');
  talking = false;
  await talk;
  console.log(
    `alice and bob: ${alice.isClosed || bob.isClosed ? 'DROPPED' : 'still online'}; errors alice ${JSON.stringify(Object.fromEntries(alice.errors))} bob ${JSON.stringify(Object.fromEntries(bob.errors))}`,
  );
  console.log(
    `connections made: ${stats.connections}; by kind: ${JSON.stringify(Object.fromEntries(counts))}`,
  );
  console.log(`server file descriptors: start ${fdsAtStart}, now ${openFds(server.pid)}`);

  // The server's own account (process.memoryUsage, before and after a full GC), then the snapshot.
  const before = server.stderr().length;
  process.kill(server.pid, 'SIGUSR2');
  const deadline = Date.now() + 120_000;
  const done = () => {
    const text = server.stderr().slice(before);
    return snapshotDir ? /^heapsnapshot /m.test(text) : /after gc/.test(text);
  };
  while (!done() && Date.now() < deadline) await sleep(200);
  const report = server.stderr().slice(before);
  for (const line of report.split('\n').filter((each) => each.startsWith('memory '))) {
    const usage = JSON.parse(line.slice('memory '.length)) as Record<string, number | object>;
    const mib = (key: string) => `${key} ${((usage[key] as number) / MiB).toFixed(1)}`;
    console.log(
      `  server ${String(usage.label)}: ${['rss', 'heapTotal', 'heapUsed', 'external', 'arrayBuffers'].map(mib).join(', ')} MiB`,
    );
  }
  sample('after gc (and snapshot)');
  for (const [kind, mib] of Object.entries(residentByMapping(server.pid)).sort((a, b) => b[1] - a[1]))
    console.log(`  resident ${mib.toFixed(1).padStart(6)} MiB  ${kind}`);
  console.log(
    `RSS MiB: start ${samples.start.toFixed(0)}, peak ${peak.toFixed(0)}, end of load ${samples['end of load'].toFixed(0)}, ` +
      `+30 s ${samples['+30 s'].toFixed(0)}, +60 s ${samples['+60 s'].toFixed(0)}`,
  );
  const file = /^heapsnapshot (.+)$/m.exec(report)?.[1];
  if (file) {
    console.log(`heap snapshot ${file}:`);
    for (const line of summarizeHeapSnapshot(file)) console.log(`  ${line}`);
  }
} finally {
  clearInterval(sampler);
  await server.stop();
  killServerChildren();
}
process.exit(0);
