import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { encodeFrame, encodeFrameText, stringifyAscii } from '#shared';
import { FrameTap } from './frame-tap.ts';
import { BENCH_HOST } from './server-kinds.ts';
import type { Route, Workload } from './workloads.ts';

/**
 * The load generator (runs in the bench's own process; the server runs in a child). It opens N
 * connections to 127.0.0.1, logs each in, waits for the join notices to settle, then runs phases:
 *  - throughput: a closed loop, at most `windowDeliveries` deliveries in flight (a message to N
 *    clients counts N), timed until every client has received every message it should (delivered
 *    messages/s = deliveries / seconds);
 *  - latency: a fixed offered load (messages/s) for a while; latency = arrival at a sampled client
 *    minus the time the message was scheduled to be sent (so a late generator counts against the
 *    result instead of hiding it), read from CONTENT (the server restamps TIMESTAMP).
 * Receivers are cheap: most clients only read length headers (FrameTap) and count frames; a few
 * sampled clients decode every frame, check it, and take latency samples.
 * It assumes one frame per message (each message is sent in its own frame; servers fan out frames).
 */

export interface LoadOptions {
  port: number;
  clients: number;
  /** Clients that decode every frame (latency samples, exact per-message checks); 'all' in tests. */
  sampled?: number | 'all';
  /** Connections opened at once (a batch is logged in before the next one starts). */
  connectBatch?: number;
  /** Silence that counts as "the join notices have settled". */
  settleQuietMs?: number;
  setupTimeoutMs?: number;
  /** Usernames are `${namePrefix}${index}`. */
  namePrefix?: string;
}

/** Did every client get exactly what it should have? */
export interface DeliveryCheck {
  clients: number;
  /** Clients that received exactly the frames they should have. */
  clientsComplete: number;
  expectedDeliveries: number;
  /** Frames counted at all clients during the phase (and a short quiet period after it). */
  deliveries: number;
  missing: number;
  extra: number;
  /** What the sampled (decoding) clients found wrong: strays, duplicates, misrouting, reordering. */
  problems: string[];
  ok: boolean;
}

export interface SetupResult {
  clients: number;
  connectMs: number;
  /** From the last login accepted until no frame arrived for settleQuietMs. */
  settleMs: number;
  /** Frames received during login and settling (join notices etc.). */
  setupFrames: number;
}

export interface ThroughputOptions {
  workload: Workload;
  messages: number;
  senders: number;
  /**
   * At most this many deliveries in flight (sent, not yet counted at a receiver): with a broadcast
   * to N clients, windowDeliveries / N messages.
   */
  windowDeliveries: number;
  contentBytes?: number;
  timeoutMs?: number;
}

export interface ThroughputResult {
  messages: number;
  deliveries: number;
  seconds: number;
  deliveredPerSecond: number;
  frameBytes: number;
  check: DeliveryCheck;
}

export interface LatencyOptions {
  workload: Workload;
  /** Offered load, messages per second (each fanned out as the workload says). */
  rate: number;
  durationMs: number;
  senders: number;
  contentBytes?: number;
  timeoutMs?: number;
  /**
   * Every client decodes every frame during this phase (not only the sampled ones): latency samples
   * and the exact per-message checks at every receiver. For workloads where a sampled client sees few
   * of the messages (direct). Default false.
   */
  decodeAll?: boolean;
}

export interface LatencyResult {
  messages: number;
  rate: number;
  durationMs: number;
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  check: DeliveryCheck;
}

interface Client {
  readonly index: number;
  readonly name: string;
  /** The name as a JSON string literal (ASCII, escaped once): message frames are built as text. */
  readonly nameJson: string;
  readonly socket: net.Socket;
  readonly tap: FrameTap;
  readonly sampled: boolean;
  accepted: boolean;
  frames: number;
  /** frames value at which the current phase is complete for this client. */
  target: number;
  complete: boolean;
  /** Sampled clients: seqs of the current phase's messages, in arrival order. */
  seqs: number[];
}

interface Phase {
  readonly id: number;
  readonly routes: Route[];
  readonly expected: Int32Array;
  readonly base: Float64Array;
  readonly recordLatency: boolean;
  /** Every client decodes (and is checked message by message), not only the sampled ones. */
  readonly decodeAll: boolean;
  readonly latencies: number[];
  readonly problems: string[];
  remaining: number;
  delivered: number;
  doneAt: number;
  onData: (() => void) | undefined;
  resolve: () => void;
  reject: (error: Error) => void;
  readonly done: Promise<void>;
}

const CONTENT_TAG = 'bench';
const MAX_PROBLEMS = 10;
const AFTER_PHASE_QUIET_MS = 200;

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** `count` indices spread evenly over [0, n). */
export function spread(count: number, n: number, offset = 0): number[] {
  const picked = new Set<number>();
  for (let j = 0; j < Math.min(count, n); j++)
    picked.add(Math.min(n - 1, Math.floor(((j + offset) * n) / count)));
  return [...picked];
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class LoadClients {
  readonly #clients: Client[] = [];
  readonly #port: number;
  readonly #settleQuietMs: number;
  #phase: Phase | undefined;
  #phaseCount = 0;
  #lastDataAt = performance.now();
  /** performance.now() when the chunk being parsed arrived (latency samples use it). */
  #chunkAt = 0;
  #closing = false;
  #failure: Error | undefined;
  #onFailure: ((error: Error) => void) | undefined;

  private constructor(options: LoadOptions) {
    this.#port = options.port;
    this.#settleQuietMs = options.settleQuietMs ?? 300;
  }

  get clients(): number {
    return this.#clients.length;
  }

  /** Connects and logs in every client, then waits until the join notices have settled. */
  static async open(options: LoadOptions): Promise<{ load: LoadClients; setup: SetupResult }> {
    const load = new LoadClients(options);
    try {
      const setup = await load.#setup(options);
      return { load, setup };
    } catch (error) {
      load.close();
      throw error;
    }
  }

  async #setup(options: LoadOptions): Promise<SetupResult> {
    const n = options.clients;
    const batch = options.connectBatch ?? 100;
    const deadline = performance.now() + (options.setupTimeoutMs ?? 120_000);
    const sampled = new Set(options.sampled === 'all' ? spread(n, n) : spread(options.sampled ?? 8, n, 0.5));
    const prefix = options.namePrefix ?? 'b';
    const started = performance.now();
    for (let first = 0; first < n; first += batch) {
      const logins: Promise<void>[] = [];
      for (let index = first; index < Math.min(n, first + batch); index++) {
        logins.push(this.#connect(index, `${prefix}${index}`, sampled.has(index)));
      }
      await this.#within(Promise.all(logins), deadline - performance.now(), `logging in clients ${first}..`);
    }
    const connectMs = performance.now() - started;
    const settleStart = performance.now();
    await this.#quiet(this.#settleQuietMs, deadline);
    const setupFrames = this.#clients.reduce((sum, client) => sum + client.frames, 0);
    return { clients: n, connectMs, settleMs: performance.now() - settleStart, setupFrames };
  }

  #connect(index: number, name: string, sampled: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const socket = net.connect({ host: BENCH_HOST, port: this.#port });
      socket.setNoDelay(true);
      const client: Client = {
        index,
        name,
        nameJson: stringifyAscii(name),
        socket,
        sampled,
        tap: new FrameTap((payload) => this.#onPayload(client, payload, resolve, reject)),
        accepted: false,
        frames: 0,
        target: 0,
        complete: true,
        seqs: [],
      };
      this.#clients[index] = client;
      socket.on('connect', () => socket.write(encodeFrame({ USERNAME: name })));
      socket.on('data', (chunk: Buffer) => this.#onData(client, chunk));
      socket.on('error', (error) => {
        if (!client.accepted) reject(new Error(`${name}: ${error.message}`));
      });
      socket.on('close', () => {
        if (this.#closing) return;
        const error = new Error(`${name}: the server closed the connection`);
        if (!client.accepted) reject(error);
        this.#fail(error);
      });
    });
  }

  #onData(client: Client, chunk: Buffer): void {
    const now = performance.now();
    this.#lastDataAt = now;
    this.#chunkAt = now;
    const frames = client.tap.push(chunk);
    client.frames += frames;
    const phase = this.#phase;
    if (!phase) return;
    phase.delivered += frames;
    if (!client.complete && client.frames >= client.target) {
      client.complete = true;
      if (--phase.remaining === 0) {
        phase.doneAt = performance.now();
        phase.resolve();
      }
    }
    phase.onData?.();
  }

  #onPayload(client: Client, payload: Buffer, resolve: () => void, reject: (error: Error) => void): void {
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
    } catch {
      this.#problem(`${client.name}: a frame that is not JSON`);
      return;
    }
    if (!client.accepted) {
      if (frame.USERNAME_ACCEPTED === true) {
        client.accepted = true;
        if (!client.sampled) client.tap.decodeBodies = false; // from the next frame on: count only
        resolve();
      } else if (frame.USERNAME_ACCEPTED === false) {
        reject(new Error(`${client.name} refused: ${String(frame.INFO)}`));
      }
      return;
    }
    const phase = this.#phase;
    if (!phase) return; // join notices while settling
    const messages = frame.MESSAGES;
    if (!Array.isArray(messages) || Object.keys(frame).length !== 1) {
      this.#problem(`${client.name}: an unexpected frame ${payload.toString('utf8').slice(0, 120)}`);
      return;
    }
    for (const message of messages as unknown[]) {
      const content = Array.isArray(message) ? message[3] : undefined;
      const [tag, phaseId, seq, sentAt] = typeof content === 'string' ? content.split(' ', 4) : [];
      if (tag !== CONTENT_TAG || Number(phaseId) !== phase.id) {
        this.#problem(`${client.name}: a message from elsewhere ${JSON.stringify(message).slice(0, 120)}`);
        continue;
      }
      client.seqs.push(Number(seq));
      if (phase.recordLatency) phase.latencies.push(this.#chunkAt - Number(sentAt));
    }
  }

  #problem(text: string): void {
    const problems = this.#phase?.problems;
    if (problems && problems.length < MAX_PROBLEMS) problems.push(text);
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    this.#phase?.reject(error);
    this.#onFailure?.(error);
  }

  /** Resolves once no frame has arrived for `quietMs`; rejects at the deadline. */
  async #quiet(quietMs: number, deadline: number): Promise<void> {
    for (;;) {
      if (this.#failure) throw this.#failure;
      const now = performance.now();
      const silentFor = now - this.#lastDataAt;
      if (silentFor >= quietMs) return;
      if (now > deadline)
        throw new Error(`frames still arriving at the deadline (no ${quietMs} ms of silence)`);
      await sleep(Math.min(quietMs - silentFor + 1, 100));
    }
  }

  async #within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const failed = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what}: timed out after ${Math.round(ms)} ms`)),
        Math.max(0, ms),
      );
      this.#onFailure = reject;
    });
    try {
      return await Promise.race([promise, failed]);
    } finally {
      clearTimeout(timer);
      this.#onFailure = undefined;
    }
  }

  #senders(count: number): number[] {
    return spread(Math.max(1, Math.min(count, this.#clients.length)), this.#clients.length);
  }

  #beginPhase(
    workload: Workload,
    messages: number,
    senders: number[],
    recordLatency: boolean,
    decodeAll = false,
  ): Phase {
    if (this.#failure) throw this.#failure;
    const n = this.#clients.length;
    const routes: Route[] = [];
    const expected = new Int32Array(n);
    let toAll = 0;
    for (let seq = 0; seq < messages; seq++) {
      const route = workload.route(seq, n, senders);
      routes.push(route);
      if (route.receivers === 'all') toAll++;
      else for (const index of route.receivers) expected[index]++;
    }
    const base = new Float64Array(n);
    let remaining = 0;
    for (const client of this.#clients) {
      expected[client.index] += toAll;
      base[client.index] = client.frames;
      client.target = client.frames + expected[client.index];
      client.complete = expected[client.index] === 0;
      client.seqs = [];
      // From the next frame on (none is in flight between phases).
      client.tap.decodeBodies = client.sampled || decodeAll;
      if (!client.complete) remaining++;
    }
    let resolve!: () => void;
    let reject!: (error: Error) => void;
    const done = new Promise<void>((yes, no) => {
      resolve = yes;
      reject = no;
    });
    done.catch(() => {}); // awaited later; a failure before then must not count as unhandled
    const phase: Phase = {
      id: ++this.#phaseCount,
      routes,
      expected,
      base,
      recordLatency,
      decodeAll,
      latencies: [],
      problems: [],
      remaining,
      delivered: 0,
      doneAt: 0,
      onData: undefined,
      resolve,
      reject,
      done,
    };
    this.#phase = phase;
    if (remaining === 0) {
      phase.doneAt = performance.now();
      resolve();
    }
    return phase;
  }

  /** One message frame; CONTENT carries the phase, the seq and the (scheduled) send time. */
  #frame(phase: Phase, seq: number, sentAt: number, contentBytes: number): { from: Client; frame: Buffer } {
    const route = phase.routes[seq];
    const from = this.#clients[route.from];
    const dest = route.dest === 'ALL' ? '"ALL"' : this.#clients[route.dest].nameJson;
    // CONTENT is printable ASCII without quotes or backslashes, so it needs no escaping; the frame is
    // the same JSON encodeFrame would write, without its generic (and costly) escaping pass.
    const content = `${CONTENT_TAG} ${phase.id} ${seq} ${sentAt.toFixed(3)} `.padEnd(contentBytes, 'x');
    const frame = encodeFrameText(
      `{"MESSAGES":[[${from.nameJson},${dest},${Math.floor(Date.now() / 1000)},"${content}"]]}`,
    );
    return { from, frame };
  }

  static #deliveriesOf(route: Route, clients: number): number {
    return route.receivers === 'all' ? clients : route.receivers.length;
  }

  /** Waits for the phase (with a timeout), a quiet period for late extras, then checks it. */
  async #finishPhase(phase: Phase, timeoutMs: number, what: string): Promise<DeliveryCheck> {
    try {
      await this.#within(phase.done, timeoutMs, what);
    } catch (error) {
      if (this.#failure) throw error;
      // timed out: still report what arrived
    }
    await this.#quiet(AFTER_PHASE_QUIET_MS, performance.now() + 30_000).catch(() => {});
    this.#phase = undefined;
    if (phase.decodeAll) for (const client of this.#clients) client.tap.decodeBodies = client.sampled;
    return this.#check(phase);
  }

  #check(phase: Phase): DeliveryCheck {
    let clientsComplete = 0;
    let expectedDeliveries = 0;
    let deliveries = 0;
    let missing = 0;
    let extra = 0;
    const problems = [...phase.problems];
    for (const client of this.#clients) {
      const want = phase.expected[client.index];
      const got = client.frames - phase.base[client.index];
      expectedDeliveries += want;
      deliveries += got;
      if (got === want) clientsComplete++;
      else if (got < want) missing += want - got;
      else extra += got - want;
      if ((client.sampled || phase.decodeAll) && problems.length < MAX_PROBLEMS) {
        const trouble = this.#checkSeqs(phase, client);
        if (trouble) problems.push(`${client.name}: ${trouble}`);
      }
    }
    if (missing > 0)
      problems.unshift(
        `${missing} deliveries missing (${this.#clients.length - clientsComplete} clients incomplete)`,
      );
    if (extra > 0) problems.unshift(`${extra} frames more than expected`);
    return {
      clients: this.#clients.length,
      clientsComplete,
      expectedDeliveries,
      deliveries,
      missing,
      extra,
      problems,
      ok: problems.length === 0,
    };
  }

  /** A sampled client's messages: each one meant for it, exactly once, each sender's in order. */
  #checkSeqs(phase: Phase, client: Client): string | undefined {
    const seen = new Uint8Array(phase.routes.length);
    const lastFrom = new Map<number, number>();
    for (const seq of client.seqs) {
      const route = phase.routes[seq];
      if (!route) return `unknown seq ${seq}`;
      if (route.receivers !== 'all' && !route.receivers.includes(client.index))
        return `seq ${seq} was not addressed to it`;
      if (seen[seq]) return `seq ${seq} twice`;
      seen[seq] = 1;
      const last = lastFrom.get(route.from);
      if (last !== undefined && last > seq) return `seq ${seq} after ${last} from the same sender`;
      lastFrom.set(route.from, seq);
    }
    if (client.seqs.length !== phase.expected[client.index]) {
      return `${client.seqs.length} messages decoded, ${phase.expected[client.index]} expected`;
    }
    return undefined;
  }

  /** Closed loop: send as fast as the window allows; time until every client has everything. */
  async throughput(options: ThroughputOptions): Promise<ThroughputResult> {
    const n = this.#clients.length;
    const senders = this.#senders(options.senders);
    const phase = this.#beginPhase(options.workload, options.messages, senders, false);
    const contentBytes = options.contentBytes ?? 64;
    const total = phase.routes.reduce((sum, route) => sum + LoadClients.#deliveriesOf(route, n), 0);
    // At least one message may always be in flight, whatever its fan-out.
    const windowDeliveries = Math.max(options.windowDeliveries, total / Math.max(1, options.messages));
    let next = 0;
    let sentDeliveries = 0;
    let frameBytes = 0;
    const pump = (): void => {
      let batch: Map<Client, Buffer[]> | undefined;
      while (next < options.messages && sentDeliveries - phase.delivered < windowDeliveries) {
        const { from, frame } = this.#frame(phase, next, performance.now(), contentBytes);
        frameBytes = frame.length;
        batch ??= new Map();
        const frames = batch.get(from);
        if (frames) frames.push(frame);
        else batch.set(from, [frame]);
        sentDeliveries += LoadClients.#deliveriesOf(phase.routes[next], n);
        next++;
      }
      if (!batch) return;
      for (const [from, frames] of batch)
        from.socket.write(frames.length === 1 ? frames[0] : Buffer.concat(frames));
    };
    const started = performance.now();
    phase.onData = pump;
    pump();
    const check = await this.#finishPhase(phase, options.timeoutMs ?? 120_000, 'throughput phase');
    const seconds = ((phase.doneAt || performance.now()) - started) / 1000;
    return {
      messages: options.messages,
      deliveries: check.deliveries,
      seconds,
      deliveredPerSecond: check.missing === 0 ? check.expectedDeliveries / seconds : Number.NaN,
      frameBytes,
      check,
    };
  }

  /** Open loop: messages sent on a fixed schedule; latency from the schedule to each arrival. */
  async latency(options: LatencyOptions): Promise<LatencyResult> {
    const senders = this.#senders(options.senders);
    const messages = Math.max(1, Math.round((options.rate * options.durationMs) / 1000));
    const phase = this.#beginPhase(options.workload, messages, senders, true, options.decodeAll);
    const contentBytes = options.contentBytes ?? 64;
    const interval = 1000 / options.rate;
    const start = performance.now() + 5;
    let next = 0;
    let timer: NodeJS.Timeout | undefined;
    const tick = (): void => {
      const now = performance.now();
      while (next < messages && start + next * interval <= now) {
        const { from, frame } = this.#frame(phase, next, start + next * interval, contentBytes);
        from.socket.write(frame);
        next++;
      }
      if (next < messages) timer = setTimeout(tick, Math.max(0, start + next * interval - performance.now()));
    };
    timer = setTimeout(tick, 5);
    let check: DeliveryCheck;
    try {
      check = await this.#finishPhase(
        phase,
        options.durationMs + (options.timeoutMs ?? 60_000),
        'latency phase',
      );
    } finally {
      clearTimeout(timer);
    }
    const sorted = phase.latencies.sort((a, b) => a - b);
    return {
      messages,
      rate: options.rate,
      durationMs: options.durationMs,
      samples: sorted.length,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      maxMs: sorted.length > 0 ? sorted[sorted.length - 1] : Number.NaN,
      check,
    };
  }

  close(): void {
    this.#closing = true;
    for (const client of this.#clients) client?.socket.destroy();
  }
}
