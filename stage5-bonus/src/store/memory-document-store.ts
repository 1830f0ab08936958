import { GroupCommitStore, type GroupCommitOptions } from './group-commit-store.ts';

export type MemoryDocumentStoreOptions = GroupCommitOptions;

/**
 * The DocumentStore for sans-I/O tests: nothing touches the disk and no lock is taken, but commits
 * happen on the same timer and promises settle exactly as the lowdb store's do. `failWrites` plays a
 * full disk. Data is kept by reference (no deep copies), as the lowdb store keeps its live objects.
 */
export class MemoryDocumentStore extends GroupCommitStore {
  #failure: Error | undefined;

  constructor(options: MemoryDocumentStoreOptions = {}) {
    super(options);
  }

  /** Test hook: every document write fails with `error` (wrapped in WRITE_FAILED) until called with undefined. */
  failWrites(error: Error | undefined): void {
    this.#failure = error;
  }

  protected async openStorage(): Promise<Map<string, unknown>> {
    return new Map();
  }

  protected async persist(_name: string, data: unknown): Promise<number> {
    if (this.#failure) throw this.#failure;
    // the bytes the lowdb store's envelope would take, and a data shape JSON cannot hold fails here too
    return Buffer.byteLength(JSON.stringify({ msgStore: 1, data }, null, 2));
  }

  protected async erase(): Promise<void> {}

  protected async closeStorage(): Promise<void> {}
}
