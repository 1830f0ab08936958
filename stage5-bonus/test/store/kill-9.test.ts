import { afterEach, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LowdbDocumentStore } from '#stage5/store/lowdb-document-store';
import { TempDirs } from './store-fixtures.ts';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

const TSX = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));
const ACKS_BEFORE_KILL = 400;

/** Runs a script of this folder under tsx, without jest's NODE_OPTIONS. */
function runChild(script: string, dir: string) {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return spawn(TSX, [fileURLToPath(new URL(script, import.meta.url)), dir], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

describe('stage 5: the lowdb store under kill -9 and a full disk, in real processes', () => {
  it('loses no acknowledged record when the writer is killed with SIGKILL mid-stream', async () => {
    const dir = dirs.make();
    const child = runChild('./writer-child.ts', dir);
    const acked: number[] = [];
    let stderr = '';
    let writerPid = 0;
    let buffered = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith('pid ')) writerPid = Number(line.slice(4));
        else acked.push(Number(line));
      }
      if (acked.length >= ACKS_BEFORE_KILL && writerPid > 0) {
        process.kill(writerPid, 'SIGKILL');
        writerPid = -1;
      }
    });
    await exited;
    expect(stderr).toBe('');
    expect(writerPid).toBe(-1); // it was killed, it did not stop by itself
    expect(acked.length).toBeGreaterThanOrEqual(ACKS_BEFORE_KILL);

    const lines: string[] = [];
    const store = new LowdbDocumentStore({ dir, log: (line) => lines.push(line) });
    await store.open(); // the dead writer's lock is stale
    expect(lines.join('\n')).toMatch(/stale lock/);
    const stored = new Set(store.list('log/').flatMap((name) => store.read<number[]>(name)!));
    const lost = acked.filter((n) => !stored.has(n));
    expect(lost).toEqual([]);
    await store.close();
  });

  it('survives ENOSPC with no unhandled rejection (which would kill Node 20) and lands the data after', async () => {
    const dir = dirs.make();
    const child = runChild('./disk-full-child.ts', dir);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) =>
      child.on('close', (status) => resolve(status)),
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.trim()).toBe('ok 50 50');
  });
});
