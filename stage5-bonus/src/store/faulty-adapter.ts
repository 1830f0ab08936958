import { constants } from 'node:os';
import type { Adapter } from 'lowdb';
import { JSONFile } from 'lowdb/node';
import type { Envelope } from './lowdb-document-store.ts';

/**
 * A lowdb adapter for tests: a real JSONFile behind a switch. `failWith('ENOSPC')` makes every write
 * throw an fs-shaped error (code, errno, syscall, path) as a full disk does; `slowBy(ms)` delays each
 * write, so a test can write while a write is in flight. It also counts writes and the most that ran at once.
 */
export class FaultyAdapter<T> implements Adapter<T> {
  readonly file: string;
  readonly #inner: Adapter<T>;
  #failCode: string | undefined;
  #delayMs = 0;
  #active = 0;
  writes = 0;
  failures = 0;
  maxConcurrentWrites = 0;

  constructor(file: string, inner: Adapter<T> = new JSONFile<T>(file)) {
    this.file = file;
    this.#inner = inner;
  }

  /** Every write fails with this error code (e.g. 'ENOSPC', 'EIO') until called with undefined. */
  failWith(code: string | undefined): void {
    this.#failCode = code;
  }

  /** Every write waits this long before it starts. */
  slowBy(ms: number): void {
    this.#delayMs = ms;
  }

  read(): Promise<T | null> {
    return this.#inner.read();
  }

  async write(data: T): Promise<void> {
    this.#active++;
    this.maxConcurrentWrites = Math.max(this.maxConcurrentWrites, this.#active);
    try {
      if (this.#delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.#delayMs));
      if (this.#failCode !== undefined) {
        this.failures++;
        throw fsError(this.#failCode, this.file);
      }
      await this.#inner.write(data);
      this.writes++;
    } finally {
      this.#active--;
    }
  }
}

/** One switch for every file of a store: pass `disk.adapterFor` as the store's `adapterFor` option. */
export class FaultyDisk {
  readonly adapters = new Map<string, FaultyAdapter<Envelope>>();
  #failCode: string | undefined;
  #delayMs = 0;

  readonly adapterFor = (file: string): Adapter<Envelope> => {
    const adapter = new FaultyAdapter<Envelope>(file);
    adapter.failWith(this.#failCode);
    adapter.slowBy(this.#delayMs);
    this.adapters.set(file, adapter);
    return adapter;
  };

  failWith(code: string | undefined): void {
    this.#failCode = code;
    for (const adapter of this.adapters.values()) adapter.failWith(code);
  }

  slowBy(ms: number): void {
    this.#delayMs = ms;
    for (const adapter of this.adapters.values()) adapter.slowBy(ms);
  }

  /** The most writes of any one file that ran at once (1 = never two concurrent writes of a file). */
  get maxConcurrentWritesPerFile(): number {
    return Math.max(0, ...[...this.adapters.values()].map((adapter) => adapter.maxConcurrentWrites));
  }

  get writes(): number {
    return [...this.adapters.values()].reduce((sum, adapter) => sum + adapter.writes, 0);
  }
}

function fsError(code: string, file: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`${code}: simulated fault, write '${file}'`);
  error.code = code;
  const errno = (constants.errno as Record<string, number | undefined>)[code];
  if (errno !== undefined) error.errno = -errno;
  error.syscall = 'write';
  error.path = file;
  return error;
}
