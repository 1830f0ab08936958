import { afterEach, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StoreError } from '#stage5/store/document-store';
import { FaultyDisk } from '#stage5/store/faulty-adapter';
import { LowdbDocumentStore } from '#stage5/store/lowdb-document-store';
import { settle, sleep, TempDirs } from './store-fixtures.ts';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

function onDisk(dir: string, name: string): unknown {
  return JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8'));
}

async function openError(dir: string): Promise<StoreError> {
  const error = await new LowdbDocumentStore({ dir }).open().catch((e: unknown) => e);
  expect(error).toBeInstanceOf(StoreError);
  return error as StoreError;
}

describe('stage 5: LowdbDocumentStore on real files', () => {
  it('round-trips documents across close and reopen, one enveloped file per document', async () => {
    const dir = dirs.make();
    const first = new LowdbDocumentStore({ dir });
    await first.open();
    const history = { messages: [{ from: 'ann', text: 'héllo ✓' }] };
    await first.write('conv/ann-bob', history);
    await first.write('accounts', { ann: { salt: 'x' } });
    await first.write('a/b/c/d', [1, 2, 3]);
    await first.close();
    expect(onDisk(dir, 'conv/ann-bob')).toEqual({ msgStore: 1, data: history });
    expect(existsSync(join(dir, 'LOCK'))).toBe(false);

    const second = new LowdbDocumentStore({ dir });
    await second.open();
    expect(second.list('')).toEqual(['a/b/c/d', 'accounts', 'conv/ann-bob']);
    expect(second.read('conv/ann-bob')).toEqual(history);
    // mutate the live object, then write it: the next open sees the change
    second.read<typeof history>('conv/ann-bob')!.messages.push({ from: 'bob', text: 'hi' });
    await second.write('conv/ann-bob', second.read('conv/ann-bob'));
    await second.remove('accounts');
    expect(existsSync(join(dir, 'accounts.json'))).toBe(false);
    await second.close();

    const third = new LowdbDocumentStore({ dir });
    await third.open();
    expect(third.list('')).toEqual(['a/b/c/d', 'conv/ann-bob']);
    expect(third.read<typeof history>('conv/ann-bob')!.messages).toHaveLength(2);
    await third.close();
  });

  it('counts the bytes of the files it wrote', async () => {
    const dir = dirs.make();
    const store = new LowdbDocumentStore({ dir });
    await store.open();
    await store.write('doc', { text: 'x'.repeat(1000) });
    expect(store.stats.bytesWritten).toBe(readFileSync(join(dir, 'doc.json')).length);
    await store.close();
  });

  it('never writes one file twice at once: a write during an in-flight write goes out next, and the last data wins', async () => {
    const dir = dirs.make();
    const disk = new FaultyDisk();
    disk.slowBy(60);
    const store = new LowdbDocumentStore({ dir, adapterFor: disk.adapterFor });
    await store.open();
    const first = store.write('conv/a', { v: 1 });
    await sleep(20); // the first commit is now in flight
    const second = store.write('conv/a', { v: 2 });
    const third = store.write('conv/a', { v: 3 });
    await Promise.all([first, second, third]);
    expect(disk.maxConcurrentWritesPerFile).toBe(1);
    expect(store.stats).toMatchObject({ commits: 2, documentWrites: 2 });
    expect(onDisk(dir, 'conv/a')).toEqual({ msgStore: 1, data: { v: 3 } });
    await store.close();
  });

  it('writes the documents of one commit in parallel, at most maxParallelWrites at once', async () => {
    const dir = dirs.make();
    const disk = new FaultyDisk();
    disk.slowBy(30);
    const store = new LowdbDocumentStore({ dir, adapterFor: disk.adapterFor, maxParallelWrites: 4 });
    await store.open();
    const startedAt = performance.now();
    await Promise.all(Array.from({ length: 8 }, (_, i) => store.write(`doc${i}`, i)));
    const elapsedMs = performance.now() - startedAt;
    expect(store.stats).toMatchObject({ commits: 1, documentWrites: 8 });
    expect(elapsedMs).toBeGreaterThanOrEqual(55); // two rounds of 4, not one of 8
    expect(elapsedMs).toBeLessThan(8 * 30);
    await store.close();
  });

  it('on a full disk keeps the previous file intact, rejects only the failed document, and lands the data once the fault clears', async () => {
    const dir = dirs.make();
    const disk = new FaultyDisk();
    const store = new LowdbDocumentStore({ dir, adapterFor: disk.adapterFor, retryDelayMs: 60_000 });
    await store.open();
    await store.write('conv/a', { v: 1 });
    await store.write('conv/b', { v: 1 });
    disk.adapters.get(join(dir, 'conv', 'a.json'))!.failWith('ENOSPC');
    const [a, b] = await Promise.all([
      settle(store.write('conv/a', { v: 2 })),
      settle(store.write('conv/b', { v: 2 })),
    ]);
    expect(a.ok).toBe(false);
    expect(!a.ok && (a.error as StoreError).code).toBe('WRITE_FAILED');
    expect(!a.ok && ((a.error as StoreError).cause as NodeJS.ErrnoException).code).toBe('ENOSPC');
    expect(b.ok).toBe(true);
    expect(onDisk(dir, 'conv/a')).toEqual({ msgStore: 1, data: { v: 1 } });
    disk.failWith(undefined);
    await store.close(); // the dirty document goes out with the closing commit
    expect(onDisk(dir, 'conv/a')).toEqual({ msgStore: 1, data: { v: 2 } });
  });

  it.each([
    ['bad JSON', '{"msgStore": 1, "data": [1, 2,,]}', /not valid JSON/],
    ['an empty file', '', /not valid JSON/],
    ['a truncated file', '{"msgStore": 1, "data": {"messages": [{"from": "ann", "te', /not valid JSON/],
    ['no envelope', '{"messages": []}', /not a Msg store file/],
    ['another version', '{"msgStore": 2, "data": {}}', /not a Msg store file/],
    ['null', 'null', /not a Msg store file/],
    ['an array', '[1]', /not a Msg store file/],
    ['an envelope without data', '{"msgStore": 1}', /not a Msg store file/],
  ])(
    'refuses to start on %s with CORRUPT naming the file, and releases the lock',
    async (_what, content, why) => {
      const dir = dirs.make();
      mkdirSync(join(dir, 'conv'));
      writeFileSync(join(dir, 'accounts.json'), '{"msgStore": 1, "data": {}}');
      writeFileSync(join(dir, 'conv', 'ann-bob.json'), content);
      const error = await openError(dir);
      expect(error.code).toBe('CORRUPT');
      expect(error.message).toContain(join(dir, 'conv', 'ann-bob.json'));
      expect(error.message).toMatch(why);
      expect(error.message).toContain(
        'restore it from a backup or move it away; the server will not start on damaged data',
      );
      expect(existsSync(join(dir, 'LOCK'))).toBe(false);
      expect(readFileSync(join(dir, 'conv', 'ann-bob.json'), 'utf8')).toBe(content); // never reset
    },
  );

  it('deletes the temp files of interrupted writes at open and says so; ignores other files', async () => {
    const dir = dirs.make();
    mkdirSync(join(dir, 'conv'));
    writeFileSync(join(dir, 'conv', 'a.json'), '{"msgStore": 1, "data": "intact"}');
    writeFileSync(join(dir, 'conv', '.a.json.tmp'), '{"msgStore": 1, "data": "half wri');
    writeFileSync(join(dir, 'notes.txt'), 'not ours');
    writeFileSync(join(dir, 'Upper.json'), '{}');
    const lines: string[] = [];
    const store = new LowdbDocumentStore({ dir, log: (line) => lines.push(line) });
    await store.open();
    expect(store.list('')).toEqual(['conv/a']);
    expect(store.read('conv/a')).toBe('intact');
    expect(existsSync(join(dir, 'conv', '.a.json.tmp'))).toBe(false);
    expect(existsSync(join(dir, 'notes.txt'))).toBe(true);
    expect(lines.join('\n')).toContain(`removed ${join(dir, 'conv', '.a.json.tmp')}`);
    expect(lines.join('\n')).toContain('Upper.json: not a document name');
    await store.close();
  });

  it('refuses a second store on the same directory with LOCKED and the pid, until the first closes', async () => {
    const dir = dirs.make();
    const first = new LowdbDocumentStore({ dir });
    await first.open();
    const error = await openError(dir);
    expect(error.code).toBe('LOCKED');
    expect(error.message).toContain(`(pid ${process.pid})`);
    expect(error.message).toContain('with another DATA= directory');
    await first.close();
    const second = new LowdbDocumentStore({ dir });
    await second.open();
    await second.close();
  });
});
