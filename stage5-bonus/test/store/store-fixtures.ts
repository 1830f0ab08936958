import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DocumentStore } from '#stage5/store/document-store';
import { FaultyDisk } from '#stage5/store/faulty-adapter';
import { LowdbDocumentStore, type LowdbDocumentStoreOptions } from '#stage5/store/lowdb-document-store';
import { MemoryDocumentStore } from '#stage5/store/memory-document-store';

export type StoreTuning = Omit<LowdbDocumentStoreOptions, 'dir' | 'adapterFor'>;

/** A store under test and the switch that makes its disk full. */
export interface StoreFixture {
  store: DocumentStore;
  /** Every write fails with this fs error code ('ENOSPC') until called with undefined. */
  failWith(code: string | undefined): void;
}

export interface StoreKind {
  name: string;
  make(tuning?: StoreTuning): StoreFixture;
}

/** Temporary data directories, removed by `cleanup()` (call it in afterEach). */
export class TempDirs {
  readonly #dirs: string[] = [];

  make(): string {
    const dir = mkdtempSync(join(tmpdir(), 'msg-store-'));
    this.#dirs.push(dir);
    return dir;
  }

  cleanup(): void {
    for (const dir of this.#dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

export function storeKinds(dirs: TempDirs): StoreKind[] {
  return [
    {
      name: 'MemoryDocumentStore',
      make(tuning = {}) {
        const store = new MemoryDocumentStore(tuning);
        const failWith = (code: string | undefined) =>
          store.failWrites(
            code === undefined ? undefined : Object.assign(new Error(`${code}: simulated`), { code }),
          );
        return { store, failWith };
      },
    },
    {
      name: 'LowdbDocumentStore',
      make(tuning = {}) {
        const disk = new FaultyDisk();
        const store = new LowdbDocumentStore({ ...tuning, dir: dirs.make(), adapterFor: disk.adapterFor });
        return { store, failWith: (code) => disk.failWith(code) };
      },
    },
  ];
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The settled outcome of a promise, so a test can look at a rejection without leaving it unhandled. */
export async function settle(
  promise: Promise<unknown>,
): Promise<{ ok: true } | { ok: false; error: unknown }> {
  try {
    await promise;
    return { ok: true };
  } catch (error) {
    return { ok: false, error };
  }
}
