import { assertDocumentName, StoreError, type DocumentStore, type StoreStats } from './document-store.ts';

export const DEFAULT_COMMIT_DELAY_MS = 2;
export const DEFAULT_MAX_PARALLEL_WRITES = 8;
export const DEFAULT_RETRY_DELAY_MS = 1000;

export interface GroupCommitOptions {
  /** Writes within this long of the first one (and all writes of one event-loop turn) form one commit. */
  commitDelayMs?: number;
  /** Documents of one commit written at once, at most. */
  maxParallelWrites?: number;
  /** After a failed commit, the documents it could not write go out again this long later (or sooner, with the next write). */
  retryDelayMs?: number;
  log?: (line: string) => void;
}

type Op = 'write' | 'remove';

interface Waiter {
  resolve: () => void;
  reject: (error: StoreError) => void;
}

/** A document waiting for a commit: the last operation asked for it, and the callers waiting on that. */
interface Pending {
  op: Op;
  waiters: Waiter[];
}

interface CommitResult {
  /** The first document failure of the commit, if any. */
  failure?: StoreError;
}

type State = 'new' | 'opening' | 'open' | 'closing' | 'closed';

/**
 * The group commit both stores share, so the in-memory store has exactly the lowdb store's timing and
 * promise semantics. Commits run one at a time: whatever is written while a commit is in flight waits
 * for the next one, so one document is never written twice at once, and its last data wins. Subclasses
 * say how a document reaches the disk (`persist`, `erase`) and what opening and closing take.
 */
export abstract class GroupCommitStore implements DocumentStore {
  readonly #commitDelayMs: number;
  readonly #maxParallelWrites: number;
  readonly #retryDelayMs: number;
  protected readonly log: (line: string) => void;
  #docs = new Map<string, unknown>();
  /** Documents to go out with the next commit. */
  #dirty = new Map<string, Pending>();
  #state: State = 'new';
  #timer: NodeJS.Timeout | undefined;
  #isRetryTimer = false;
  #committing: Promise<CommitResult> | undefined;
  #closing: Promise<void> | undefined;
  #isFailing = false;
  readonly #stats = { commits: 0, documentWrites: 0, bytesWritten: 0, lastCommitMs: 0 };

  constructor(options: GroupCommitOptions = {}) {
    this.#commitDelayMs = options.commitDelayMs ?? DEFAULT_COMMIT_DELAY_MS;
    this.#maxParallelWrites = Math.max(1, options.maxParallelWrites ?? DEFAULT_MAX_PARALLEL_WRITES);
    this.#retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    this.log = options.log ?? (() => {});
  }

  /** Takes whatever guards the data (the lock) and returns every stored document. */
  protected abstract openStorage(): Promise<Map<string, unknown>>;
  /** Writes one document; returns the bytes it now takes on disk. */
  protected abstract persist(name: string, data: unknown): Promise<number>;
  /** Deletes one document's file; a missing file is not an error. */
  protected abstract erase(name: string): Promise<void>;
  /** Releases what openStorage took; everything is already on disk. */
  protected abstract closeStorage(): Promise<void>;

  async open(): Promise<void> {
    if (this.#state === 'open') return;
    if (this.#state !== 'new') throw this.#closedError();
    this.#state = 'opening';
    try {
      this.#docs = await this.openStorage();
      this.#state = 'open';
    } catch (error) {
      this.#state = 'new';
      throw error;
    }
  }

  list(prefix: string): string[] {
    this.#assertOpen();
    const names: string[] = [];
    for (const name of this.#docs.keys()) if (name.startsWith(prefix)) names.push(name);
    return names.sort();
  }

  read<T>(name: string): T | undefined {
    this.#assertOpen();
    assertDocumentName(name);
    return this.#docs.get(name) as T | undefined;
  }

  write<T>(name: string, data: T): Promise<void> {
    try {
      this.#assertOpen();
      assertDocumentName(name);
      // JSON has no undefined: the file would lose its `data` and refuse the next start
      if (data === undefined)
        throw new TypeError(`write(${name}, undefined): use remove() to delete a document`);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#docs.set(name, data);
    return this.#enqueue(name, 'write');
  }

  remove(name: string): Promise<void> {
    try {
      this.#assertOpen();
      assertDocumentName(name);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#docs.delete(name);
    return this.#enqueue(name, 'remove');
  }

  async flush(): Promise<void> {
    if (this.#state !== 'open' && this.#state !== 'closing') throw this.#closedError();
    // the commit in flight, then one commit (now, not after the delay) of everything dirty
    while (this.#committing) await this.#committing;
    if (this.#dirty.size === 0) return;
    const { failure } = await this.#startCommit();
    if (failure) throw failure;
  }

  close(): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(this.#closedError());
    if (this.#closing) return this.#closing; // a close already under way
    this.#closing = this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#state === 'new' || this.#state === 'opening') {
      this.#state = 'closed';
      return;
    }
    this.#state = 'closing';
    try {
      await this.flush();
    } catch (error) {
      // nothing is lost yet: the store stays open, and close() can be called again once the disk has room
      this.#state = 'open';
      this.#closing = undefined;
      throw error;
    }
    this.#clearTimer();
    this.#state = 'closed';
    this.#docs = new Map();
    await this.closeStorage();
  }

  get stats(): StoreStats {
    return { documents: this.#docs.size, ...this.#stats };
  }

  #assertOpen(): void {
    if (this.#state !== 'open') throw this.#closedError();
  }

  #closedError(): StoreError {
    const what = this.#state === 'closed' || this.#state === 'closing' ? 'closed' : 'not open yet';
    return new StoreError('CLOSED', `the store is ${what}`);
  }

  #enqueue(name: string, op: Op): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const pending = this.#dirty.get(name);
      if (pending) {
        pending.op = op;
        pending.waiters.push({ resolve, reject });
      } else {
        this.#dirty.set(name, { op, waiters: [{ resolve, reject }] });
      }
      this.#schedule(this.#commitDelayMs, false);
    });
  }

  #schedule(delayMs: number, isRetry: boolean): void {
    if (this.#committing) return; // the running commit schedules the next one when it ends
    if (this.#timer) {
      if (!this.#isRetryTimer || isRetry) return;
      this.#clearTimer(); // new work does not wait for the retry
    }
    this.#isRetryTimer = isRetry;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#startCommit();
    }, delayMs);
    // a retry alone must not keep the process alive
    if (isRetry) this.#timer.unref();
  }

  #clearTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Starts a commit of everything dirty; the promise never rejects (failures are in the result). */
  #startCommit(): Promise<CommitResult> {
    this.#clearTimer();
    const batch = this.#dirty;
    this.#dirty = new Map();
    const commit = this.#runCommit(batch).then((result) => {
      this.#committing = undefined;
      this.#afterCommit(result);
      return result;
    });
    this.#committing = commit;
    return commit;
  }

  #afterCommit(result: CommitResult): void {
    if (this.#state !== 'open' && this.#state !== 'closing') return;
    if (result.failure && !this.#isFailing) {
      this.#isFailing = true;
      this.log(`store: ${result.failure.message}; the data is kept in memory and will be written again`);
    } else if (!result.failure && this.#isFailing) {
      this.#isFailing = false;
      this.log('store: writes succeed again');
    }
    if (this.#dirty.size === 0) return;
    const hasWaiters = [...this.#dirty.values()].some((pending) => pending.waiters.length > 0);
    if (hasWaiters) this.#schedule(this.#commitDelayMs, false);
    else this.#schedule(this.#retryDelayMs, true);
  }

  async #runCommit(batch: Map<string, Pending>): Promise<CommitResult> {
    const startedAt = performance.now();
    // the data as of the commit's start: a later remove() must not turn a write into a write of nothing
    const jobs = [...batch].map(([name, pending]) => ({ name, pending, data: this.#docs.get(name) }));
    const failures = new Map<string, StoreError>();
    let next = 0;
    const worker = async () => {
      while (next < jobs.length) {
        const { name, pending, data } = jobs[next++];
        try {
          if (pending.op === 'write') this.#stats.bytesWritten += await this.persist(name, data);
          else await this.erase(name);
          this.#stats.documentWrites++;
        } catch (error) {
          failures.set(name, writeFailed(name, pending.op, error));
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#maxParallelWrites, jobs.length) }, worker));
    this.#stats.commits++;
    this.#stats.lastCommitMs = performance.now() - startedAt;
    // settle only now: a caller's acknowledgement means its whole commit is done
    for (const { name, pending } of jobs) {
      const failure = failures.get(name);
      if (!failure) {
        for (const waiter of pending.waiters) waiter.resolve();
        continue;
      }
      // still dirty, unless a newer write or remove already supersedes it
      if (!this.#dirty.has(name)) this.#dirty.set(name, { op: pending.op, waiters: [] });
      for (const waiter of pending.waiters) waiter.reject(failure);
    }
    return { failure: failures.values().next().value };
  }
}

function writeFailed(name: string, op: Op, cause: unknown): StoreError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  const verb = op === 'write' ? 'write' : 'remove';
  return new StoreError('WRITE_FAILED', `could not ${verb} document ${name}: ${reason}`, { cause });
}
