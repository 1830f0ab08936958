import { mkdir, readdir, stat, unlink } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { Low, type Adapter } from 'lowdb';
import { JSONFile } from 'lowdb/node';
import { DataLock } from './data-lock.ts';
import { isDocumentName, StoreError } from './document-store.ts';
import { GroupCommitStore, type GroupCommitOptions } from './group-commit-store.ts';

/** What every document file holds: a version mark, so a stray JSON file is never taken for our data. */
export interface Envelope {
  msgStore: 1;
  data: unknown;
}

export interface LowdbDocumentStoreOptions extends GroupCommitOptions {
  /** The data directory (created if missing); `a/b` lives in `<dir>/a/b.json`. */
  dir: string;
  /** The lowdb adapter of one file; tests pass a FaultyAdapter. Default: lowdb's JSONFile. */
  adapterFor?: (file: string) => Adapter<Envelope>;
}

/** Document names have at most 4 segments, so no file deeper than that is ours. */
const MAX_DEPTH = 4;
/** steno (lowdb's writer) writes `.<name>.json.tmp`, then renames it over `<name>.json`. */
const TEMP_FILE = /^\..+\.json\.tmp$/;
const WHAT_TO_DO = 'restore it from a backup or move it away; the server will not start on damaged data';

/**
 * The DocumentStore on lowdb 7: one `Low` (over a JSONFile) per document file, written by the shared
 * group commit. lowdb writes atomically (temp file + rename) but does not fsync: a kill -9 loses
 * nothing acknowledged, a power cut may lose the last seconds. Only this file and faulty-adapter.ts
 * import lowdb.
 */
export class LowdbDocumentStore extends GroupCommitStore {
  readonly dir: string;
  readonly #adapterFor: (file: string) => Adapter<Envelope>;
  readonly #dbs = new Map<string, Low<Envelope>>();
  readonly #madeDirs = new Set<string>();
  #lock: DataLock | undefined;

  constructor(options: LowdbDocumentStoreOptions) {
    super(options);
    this.dir = options.dir;
    this.#adapterFor = options.adapterFor ?? ((file) => new JSONFile<Envelope>(file));
  }

  /** The file that holds document `name`. */
  fileOf(name: string): string {
    return join(this.dir, ...name.split('/')) + '.json';
  }

  protected async openStorage(): Promise<Map<string, unknown>> {
    await mkdir(this.dir, { recursive: true });
    this.#lock = DataLock.acquire(this.dir, { log: this.log });
    try {
      const docs = new Map<string, unknown>();
      for (const name of await this.#scan(this.dir, 1)) docs.set(name, await this.#load(name));
      return docs;
    } catch (error) {
      this.#dbs.clear();
      this.#lock.release();
      this.#lock = undefined;
      throw error;
    }
  }

  protected async persist(name: string, data: unknown): Promise<number> {
    const file = this.fileOf(name);
    let db = this.#dbs.get(name);
    if (!db) {
      const folder = dirname(file);
      if (!this.#madeDirs.has(folder)) {
        await mkdir(folder, { recursive: true });
        this.#madeDirs.add(folder);
      }
      db = new Low<Envelope>(this.#adapterFor(file), { msgStore: 1, data });
      this.#dbs.set(name, db);
    }
    db.data = { msgStore: 1, data };
    await db.write();
    return (await stat(file)).size;
  }

  protected async erase(name: string): Promise<void> {
    this.#dbs.delete(name);
    try {
      await unlink(this.fileOf(name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  protected async closeStorage(): Promise<void> {
    this.#dbs.clear();
    this.#lock?.release();
    this.#lock = undefined;
  }

  /** Document names under `folder` (at `depth` segments); removes the temp files of interrupted writes. */
  async #scan(folder: string, depth: number): Promise<string[]> {
    const names: string[] = [];
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) {
        if (depth < MAX_DEPTH) names.push(...(await this.#scan(path, depth + 1)));
      } else if (entry.isFile() && TEMP_FILE.test(entry.name)) {
        // the rename never happened, so the document file itself still holds its previous version
        await unlink(path);
        this.log(`store: removed ${path}, the temp file of an interrupted write (the document is intact)`);
      } else if (entry.isFile() && entry.name.endsWith('.json')) {
        const name = relative(this.dir, path).slice(0, -'.json'.length).split(sep).join('/');
        if (isDocumentName(name)) names.push(name);
        else this.log(`store: ignored ${path}: not a document name`);
      }
    }
    return names;
  }

  async #load(name: string): Promise<unknown> {
    const file = this.fileOf(name);
    // lowdb keeps the default when the file holds a falsy value (null, 0, ""): the version mark 0 catches it
    const db = new Low<Envelope>(this.#adapterFor(file), { msgStore: 0 as 1, data: undefined });
    try {
      await db.read();
    } catch (error) {
      const why =
        error instanceof SyntaxError
          ? `it is not valid JSON (empty or cut short?): ${error.message}`
          : `it cannot be read: ${(error as Error).message}`;
      throw new StoreError('CORRUPT', `data file ${file} is damaged: ${why}; ${WHAT_TO_DO}`, {
        cause: error,
      });
    }
    if (!isEnvelope(db.data)) {
      throw new StoreError(
        'CORRUPT',
        `data file ${file} is not a Msg store file (expected {"msgStore": 1, "data": ...}); ${WHAT_TO_DO}`,
      );
    }
    this.#dbs.set(name, db);
    return db.data.data;
  }
}

function isEnvelope(value: unknown): value is Envelope {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    (value as { msgStore?: unknown }).msgStore === 1 &&
    Object.hasOwn(value, 'data')
  );
}
