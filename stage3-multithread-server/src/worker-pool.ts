import { Worker } from 'node:worker_threads';
import type { SessionHost, SessionHostEvents } from './session-host.ts';
import type {
  ConnId,
  FromWorker,
  HubReply,
  SessionOptions,
  ToWorker,
  WorkerData,
} from './thread-messages.ts';

const BOOTSTRAP = new URL('./worker-bootstrap.mjs', import.meta.url);
const ENTRY = new URL('./session-worker.ts', import.meta.url).href;

interface Slot {
  readonly index: number;
  worker: Worker;
  ready: Promise<void>;
  readonly conns: Set<ConnId>;
  /** Frames posted and not yet answered: how busy the worker is right now. */
  outstanding: number;
  batch: ToWorker[];
  transfer: ArrayBuffer[];
}

/**
 * Sessions on N worker threads. Each connection is pinned to one worker (the least busy when it
 * arrived), so its frames stay in order; everything for a worker in one main-thread turn goes in
 * one postMessage. A worker that dies is replaced; its connections are reported lost.
 */
export class WorkerPool implements SessionHost {
  readonly #slots: Slot[] = [];
  readonly #slotOf = new Map<ConnId, Slot>();
  readonly #inFlight = new Map<ConnId, number>();
  readonly #options: SessionOptions;
  readonly #events: SessionHostEvents;
  readonly #onWorkerEvent: (line: string) => void;
  #flushScheduled = false;
  #stopping = false;

  constructor(
    count: number,
    options: SessionOptions,
    events: SessionHostEvents,
    log: (line: string) => void = () => {},
  ) {
    this.#options = options;
    this.#events = events;
    this.#onWorkerEvent = log;
    for (let index = 0; index < count; index++) this.#slots.push(this.#start(index));
  }

  get size(): number {
    return this.#slots.length;
  }

  async ready(): Promise<void> {
    await Promise.all(this.#slots.map((slot) => slot.ready));
  }

  open(conn: ConnId): void {
    let best = this.#slots[0];
    for (const slot of this.#slots) {
      if (
        slot.outstanding < best.outstanding ||
        (slot.outstanding === best.outstanding && slot.conns.size < best.conns.size)
      ) {
        best = slot;
      }
    }
    best.conns.add(conn);
    this.#slotOf.set(conn, best);
    this.#post(best, { type: 'open', conn });
  }

  frame(conn: ConnId, payload: Buffer): void {
    const slot = this.#slotOf.get(conn);
    if (!slot) return;
    // A copy the size of the frame, moved (not cloned) to the worker: the socket's read buffer
    // behind `payload` may be 64 KiB, and cloning a view clones all of it.
    const own = new Uint8Array(payload);
    slot.outstanding++;
    this.#inFlight.set(conn, (this.#inFlight.get(conn) ?? 0) + 1);
    slot.transfer.push(own.buffer);
    this.#post(slot, { type: 'frame', conn, payload: own });
  }

  hubReply(conn: ConnId, reply: HubReply): void {
    const slot = this.#slotOf.get(conn);
    if (!slot) return;
    // In flight like a frame: the session may still answer frames it held behind the login.
    slot.outstanding++;
    this.#inFlight.set(conn, (this.#inFlight.get(conn) ?? 0) + 1);
    this.#post(slot, { type: 'hub', conn, reply });
  }

  close(conn: ConnId): void {
    const slot = this.#slotOf.get(conn);
    if (!slot) return;
    this.#slotOf.delete(conn);
    this.#inFlight.delete(conn);
    slot.conns.delete(conn);
    this.#post(slot, { type: 'close', conn });
  }

  framesInFlight(conn: ConnId): number {
    return this.#inFlight.get(conn) ?? 0;
  }

  placeOf(conn: ConnId): string {
    const slot = this.#slotOf.get(conn);
    return slot ? `worker ${slot.index} (thread ${slot.worker.threadId})` : 'no worker';
  }

  async shutdown(): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.#slots.map((slot) => slot.worker.terminate()));
  }

  #start(index: number): Slot {
    const workerData: WorkerData & { entry: string } = { entry: ENTRY, options: this.#options };
    const worker = new Worker(BOOTSTRAP, { workerData });
    let markReady!: () => void;
    const slot: Slot = {
      index,
      worker,
      ready: new Promise((resolve) => (markReady = resolve)),
      conns: new Set(),
      outstanding: 0,
      batch: [],
      transfer: [],
    };
    worker.on('message', (message: FromWorker) => {
      if (message.type === 'ready') {
        markReady();
        return;
      }
      slot.outstanding -= message.done.length;
      for (const { conn, intent } of message.items) {
        if (this.#slotOf.get(conn) === slot) this.#events.onIntent(conn, intent);
      }
      // After the intents: a connection drained here has had every answer queued already.
      for (const conn of message.done) {
        if (this.#slotOf.get(conn) !== slot) continue;
        const left = (this.#inFlight.get(conn) ?? 1) - 1;
        this.#inFlight.set(conn, left);
        if (left === 0) this.#events.onDrained(conn);
      }
    });
    let failure: Error | undefined;
    worker.on('error', (error) => (failure = error));
    worker.on('exit', (code) => this.#onExit(slot, code, failure));
    return slot;
  }

  #onExit(slot: Slot, code: number, failure: Error | undefined): void {
    if (this.#stopping || this.#slots[slot.index] !== slot) return;
    const lost = [...slot.conns];
    for (const conn of lost) {
      this.#slotOf.delete(conn);
      this.#inFlight.delete(conn);
    }
    this.#onWorkerEvent(
      `worker ${slot.index} (thread ${slot.worker.threadId}) died (${failure?.message ?? `exit code ${code}`}); ` +
        `${lost.length} connection(s) lost; starting a replacement`,
    );
    this.#slots[slot.index] = this.#start(slot.index);
    this.#events.onLost(lost, failure ?? new Error(`worker exited with code ${code}`));
  }

  #post(slot: Slot, item: ToWorker): void {
    slot.batch.push(item);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#flushScheduled = false;
    for (const slot of this.#slots) {
      if (slot.batch.length === 0) continue;
      slot.worker.postMessage(slot.batch, slot.transfer);
      slot.batch = [];
      slot.transfer = [];
    }
  }
}
