import { afterEach, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataLock } from '#stage5/store/data-lock';
import { StoreError } from '#stage5/store/document-store';
import { TempDirs } from './store-fixtures.ts';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

/** The pid of a process that has exited (so almost surely not running). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(child.stdout);
}

function lockError(dir: string): StoreError {
  try {
    DataLock.acquire(dir).release();
  } catch (error) {
    expect(error).toBeInstanceOf(StoreError);
    return error as StoreError;
  }
  throw new Error('expected LOCKED');
}

describe('stage 5: DataLock', () => {
  it('creates LOCK holding {pid, startedAt}, and removes it on release', () => {
    const dir = dirs.make();
    const lock = DataLock.acquire(dir);
    const content = JSON.parse(readFileSync(join(dir, 'LOCK'), 'utf8'));
    expect(content.pid).toBe(process.pid);
    expect(Number.isNaN(Date.parse(content.startedAt))).toBe(false);
    lock.release();
    lock.release();
    expect(existsSync(join(dir, 'LOCK'))).toBe(false);
  });

  it('refuses a lock held by another running process, naming its pid', () => {
    const dir = dirs.make();
    writeFileSync(
      join(dir, 'LOCK'),
      JSON.stringify({ pid: process.ppid, startedAt: new Date().toISOString() }),
    );
    const error = lockError(dir);
    expect(error.code).toBe('LOCKED');
    expect(error.message).toContain(
      `the data directory ${dir} is in use by another Msg server (pid ${process.ppid}): stop it, or start this one with another DATA= directory`,
    );
    expect(existsSync(join(dir, 'LOCK'))).toBe(true); // someone else's lock is left alone
  });

  it('refuses a second lock in the same process', () => {
    const dir = dirs.make();
    const lock = DataLock.acquire(dir);
    expect(lockError(dir).code).toBe('LOCKED');
    lock.release();
  });

  it.each([
    [
      'a dead pid',
      () => JSON.stringify({ pid: deadPid(), startedAt: '2020-01-01T00:00:00.000Z' }),
      /is not running/,
    ],
    ['garbage', () => 'not json', /unreadable/],
    ['an empty file', () => '', /unreadable/],
    // a restarted container often gets its old pid back: a lock naming our pid that we do not hold is stale
    [
      'this pid, not held',
      () => JSON.stringify({ pid: process.pid, startedAt: '2020-01-01T00:00:00.000Z' }),
      /earlier run/,
    ],
  ])('replaces a stale lock (%s) and logs a line', (_what, content, why) => {
    const dir = dirs.make();
    writeFileSync(join(dir, 'LOCK'), content());
    const lines: string[] = [];
    const lock = DataLock.acquire(dir, { log: (line) => lines.push(line) });
    expect(JSON.parse(readFileSync(join(dir, 'LOCK'), 'utf8')).pid).toBe(process.pid);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/stale lock/);
    expect(lines[0]).toMatch(why);
    lock.release();
  });
});
