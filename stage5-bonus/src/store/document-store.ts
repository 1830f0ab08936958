export type StoreErrorCode = 'LOCKED' | 'CORRUPT' | 'WRITE_FAILED' | 'CLOSED' | 'BAD_NAME';

/** Every storage failure: a code to branch on, a sentence for the operator, the fs error as `cause`. */
export class StoreError extends Error {
  readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StoreError';
    this.code = code;
  }
}

/** What a store has done since it was made; the bench and the server's status line read it. */
export interface StoreStats {
  /** Documents held now. */
  documents: number;
  /** Group commits finished (successful or not). */
  commits: number;
  /** Document writes and removals that reached the disk. */
  documentWrites: number;
  /** Bytes of the files those writes produced. */
  bytesWritten: number;
  /** Wall-clock duration of the last commit. */
  lastCommitMs: number;
}

/**
 * Named JSON documents, all held in memory (reads are synchronous), written to disk by group commit.
 * One document = one file (lowdb rewrites a whole file per write, so data is split: one document per
 * conversation / mailbox, one for accounts; a write costs what its own document holds).
 */
export interface DocumentStore {
  /** Takes the data lock, then reads every document; throws StoreError LOCKED or CORRUPT (never a silent reset). */
  open(): Promise<void>;
  /** Names of the documents that exist (loaded at open or written since), starting with `prefix` ('' = all), sorted. */
  list(prefix: string): string[];
  /** The document's data (the live in-memory object), or undefined. */
  read<T>(name: string): T | undefined;
  /**
   * Sets the document's data in memory (callers may also mutate the object read() returned, then call
   * write with it) and schedules it for the next group commit. Resolves once that commit is on disk;
   * rejects with StoreError WRITE_FAILED (cause: the fs error, e.g. ENOSPC) if it failed, in which case
   * the document stays dirty in memory and goes out again with the next commit. Never leaves a
   * rejection unhandled internally.
   */
  write<T>(name: string, data: T): Promise<void>;
  /** Deletes a document (and its file), by the same group commit. */
  remove(name: string): Promise<void>;
  /** Resolves when everything written so far is on disk (or rejects as write does). */
  flush(): Promise<void>;
  /** Flushes, then releases the lock; later calls reject with StoreError CLOSED. */
  close(): Promise<void>;
  readonly stats: StoreStats;
}

/** Up to four `/`-separated segments of lower-case letters, digits, `_` and `-`; each maps to a path part. */
export const DOCUMENT_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,127}(\/[a-z0-9][a-z0-9_-]{0,127}){0,3}$/;

export function isDocumentName(name: string): boolean {
  return typeof name === 'string' && DOCUMENT_NAME_PATTERN.test(name);
}

/** Throws StoreError BAD_NAME unless `name` is a document name (so it can never escape the data directory). */
export function assertDocumentName(name: string): void {
  if (!isDocumentName(name)) {
    const shown = typeof name === 'string' ? JSON.stringify(name.slice(0, 80)) : typeof name;
    throw new StoreError(
      'BAD_NAME',
      `bad document name ${shown}: use 1-4 '/'-separated parts of a-z, 0-9, '_', '-' (each starting with a letter or digit, at most 128 characters)`,
    );
  }
}
