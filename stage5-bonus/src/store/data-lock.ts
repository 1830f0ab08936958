import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { StoreError } from './document-store.ts';

export const LOCK_FILE_NAME = 'LOCK';

export interface DataLockOptions {
  log?: (line: string) => void;
}

/** Lock files this process holds (resolved paths): a second store in the same process is refused too. */
const HELD = new Set<string>();

/**
 * One Msg server per data directory: `<dir>/LOCK`, created with `wx`, holds `{pid, startedAt}`.
 * A lock whose pid is dead (a kill -9, a power cut) is stale and replaced. A lock naming this very
 * pid but not held here is stale too: a container restart often gives the new server its old pid.
 * Limits: two servers that find the same stale lock in the same instant can both take it (Node has
 * no flock); a dead server's pid reused by an unrelated process looks alive (the message says what to do).
 */
export class DataLock {
  readonly file: string;
  #isReleased = false;
  readonly #onExit: () => void;

  private constructor(file: string) {
    this.file = file;
    // 'exit' runs on process.exit and a normal end, not on signals: main-*.ts close on signals first
    this.#onExit = () => unlinkQuietly(file);
    process.on('exit', this.#onExit);
  }

  /** Takes the lock of `dir` (which must exist) or throws StoreError LOCKED. */
  static acquire(dir: string, options: DataLockOptions = {}): DataLock {
    const log = options.log ?? (() => {});
    const file = join(resolve(dir), LOCK_FILE_NAME);
    if (HELD.has(file)) throw lockedError(dir, process.pid, file);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const content = JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() });
        writeFileSync(file, `${content}\n`, { flag: 'wx' });
        HELD.add(file);
        return new DataLock(file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = readHolder(file);
      if (holder === 'gone') continue; // released between our attempt and the read: try again
      if (holder !== 'unreadable' && holder.pid !== process.pid && isAlive(holder.pid)) {
        throw lockedError(dir, holder.pid, file);
      }
      const why =
        holder === 'unreadable'
          ? 'it is unreadable'
          : holder.pid === process.pid
            ? `pid ${holder.pid} is this process: the lock is left from an earlier run`
            : `pid ${holder.pid} is not running`;
      log(`store: replacing the stale lock ${file} (${why})`);
      unlinkQuietly(file);
    }
    throw new StoreError('LOCKED', `could not take the lock ${file}: it keeps reappearing`);
  }

  get isReleased(): boolean {
    return this.#isReleased;
  }

  /** Removes the lock file; calling it again does nothing. */
  release(): void {
    if (this.#isReleased) return;
    this.#isReleased = true;
    process.off('exit', this.#onExit);
    HELD.delete(this.file);
    unlinkQuietly(this.file);
  }
}

function lockedError(dir: string, pid: number, file: string): StoreError {
  return new StoreError(
    'LOCKED',
    `the data directory ${dir} is in use by another Msg server (pid ${pid}): stop it, or start this one ` +
      `with another DATA= directory (if no Msg server runs there, delete ${file})`,
  );
}

function readHolder(file: string): { pid: number } | 'unreadable' | 'gone' {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    return 'unreadable';
  }
  try {
    const parsed: unknown = JSON.parse(text);
    const pid = (parsed as { pid?: unknown } | null)?.pid;
    return Number.isSafeInteger(pid) && (pid as number) > 0 ? { pid: pid as number } : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

/** Signal 0 checks existence only; EPERM means the process exists but belongs to someone else. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}
