import { afterEach, describe, expect, it } from '@jest/globals';
import { StoreError } from '#stage5/store/document-store';
import { settle, sleep, storeKinds, TempDirs } from './store-fixtures.ts';

// One behaviour suite, run against both implementations: the in-memory store the sans-I/O tests use
// must promise exactly what the lowdb store delivers.
const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

function expectStoreError(error: unknown, code: StoreError['code']): StoreError {
  expect(error).toBeInstanceOf(StoreError);
  expect((error as StoreError).code).toBe(code);
  return error as StoreError;
}

describe.each(storeKinds(dirs))('stage 5: DocumentStore behaviour ($name)', (kind) => {
  it('reads back the live object it was given, and lists names by prefix, sorted', async () => {
    const { store } = kind.make();
    await store.open();
    const history = { messages: ['hi'] };
    await Promise.all([
      store.write('conv/b', history),
      store.write('conv/a', { messages: [] }),
      store.write('accounts', { users: [] }),
      store.write('mailbox/bob', []),
    ]);
    expect(store.read('conv/b')).toBe(history);
    expect(store.read('nothing')).toBeUndefined();
    expect(store.list('conv/')).toEqual(['conv/a', 'conv/b']);
    expect(store.list('')).toEqual(['accounts', 'conv/a', 'conv/b', 'mailbox/bob']);
    expect(store.stats.documents).toBe(4);
    await store.close();
  });

  it('groups 100 writes to 3 documents in one turn into 1 commit of 3 document writes', async () => {
    const { store } = kind.make();
    await store.open();
    const names = ['conv/a', 'conv/b', 'accounts'];
    const writes = Array.from({ length: 100 }, (_, i) => store.write(names[i % 3], { last: i }));
    expect(store.stats.commits).toBe(0); // nothing acknowledged before the commit
    await Promise.all(writes);
    expect(store.stats).toMatchObject({ commits: 1, documentWrites: 3, documents: 3 });
    expect(store.stats.bytesWritten).toBeGreaterThan(0);
    expect(store.read('conv/a')).toEqual({ last: 99 });
    await store.close();
  });

  it('joins writes that arrive within commitDelayMs of the first into the same commit', async () => {
    const { store } = kind.make({ commitDelayMs: 40 });
    await store.open();
    const first = store.write('a', 1);
    await sleep(5);
    const second = store.write('b', 2);
    await Promise.all([first, second]);
    expect(store.stats.commits).toBe(1);
    await store.close();
  });

  it('acknowledges a write only after its commit, and a later write in a later commit', async () => {
    const { store } = kind.make();
    await store.open();
    let isAcknowledged = false;
    const write = store.write('a', 1).then(() => (isAcknowledged = true));
    await Promise.resolve();
    expect(isAcknowledged).toBe(false);
    await write;
    await store.write('a', 2);
    expect(store.stats).toMatchObject({ commits: 2, documentWrites: 2 });
    await store.close();
  });

  it('removes a document by the same group commit, and remove then write in one turn keeps the write', async () => {
    const { store } = kind.make();
    await store.open();
    await store.write('conv/a', { n: 1 });
    await store.write('conv/b', { n: 2 });
    await store.remove('conv/a');
    expect(store.read('conv/a')).toBeUndefined();
    expect(store.list('conv/')).toEqual(['conv/b']);
    const removed = store.remove('conv/b');
    const rewritten = store.write('conv/b', { n: 3 });
    await Promise.all([removed, rewritten]);
    expect(store.read('conv/b')).toEqual({ n: 3 });
    await store.close();
  });

  it('flush resolves at once when nothing is dirty, and commits now rather than after the delay', async () => {
    const { store } = kind.make({ commitDelayMs: 10_000 });
    await store.open();
    await store.flush();
    const write = store.write('a', 1);
    await store.flush();
    await write;
    expect(store.stats.commits).toBe(1);
    await store.close();
  });

  it.each([
    ['', 'empty'],
    ['A', 'upper case'],
    ['-a', 'leading dash'],
    ['a/', 'trailing slash'],
    ['a//b', 'empty segment'],
    ['../etc/passwd', 'parent directory'],
    ['a/b/c/d/e', 'five segments'],
    ['a'.repeat(129), 'segment over 128'],
    ['a.json', 'dot'],
    ['__proto__', 'leading underscore'],
  ])('refuses the name %j (%s) with BAD_NAME', async (name) => {
    const { store } = kind.make();
    await store.open();
    expectStoreError(await store.write(name, 1).catch((e: unknown) => e), 'BAD_NAME');
    expectStoreError(await store.remove(name).catch((e: unknown) => e), 'BAD_NAME');
    expect(() => store.read(name)).toThrow(StoreError);
    expect(store.stats.documents).toBe(0);
    await store.close();
  });

  it('accepts names at the limits: four segments of 128 characters', async () => {
    const { store } = kind.make();
    await store.open();
    const name = ['a', 'b', 'c', 'd'].map((c) => c.repeat(128)).join('/');
    await store.write(name, 'ok');
    expect(store.list('')).toEqual([name]);
    await store.close();
  });

  it('refuses data undefined (JSON cannot hold it): use remove', async () => {
    const { store } = kind.make();
    await store.open();
    await expect(store.write('a', undefined)).rejects.toThrow(/remove/);
    await store.close();
  });

  it('answers CLOSED before open and after close; close flushes first', async () => {
    const { store } = kind.make();
    expectStoreError(await store.write('a', 1).catch((e: unknown) => e), 'CLOSED');
    await store.open();
    const pending = store.write('a', 1);
    await store.close();
    await pending;
    expect(store.stats.documentWrites).toBe(1);
    expectStoreError(await store.write('a', 2).catch((e: unknown) => e), 'CLOSED');
    expectStoreError(await store.remove('a').catch((e: unknown) => e), 'CLOSED');
    expectStoreError(await store.flush().catch((e: unknown) => e), 'CLOSED');
    expectStoreError(await store.close().catch((e: unknown) => e), 'CLOSED');
    expectStoreError(await store.open().catch((e: unknown) => e), 'CLOSED');
    expect(() => store.read('a')).toThrow(StoreError);
    expect(() => store.list('')).toThrow(StoreError);
  });

  it('on a full disk rejects with WRITE_FAILED (cause ENOSPC), keeps the data, and writes it once the disk has room', async () => {
    const { store, failWith } = kind.make({ retryDelayMs: 60_000 });
    await store.open();
    await store.write('ok', 'before');
    failWith('ENOSPC');
    const doc = { messages: ['kept'] };
    const outcomes = await Promise.all([
      settle(store.write('conv/a', doc)),
      settle(store.write('ok', 'after')),
    ]);
    for (const outcome of outcomes) {
      expect(outcome.ok).toBe(false);
      const error = expectStoreError(!outcome.ok && outcome.error, 'WRITE_FAILED');
      expect((error.cause as NodeJS.ErrnoException).code).toBe('ENOSPC');
      expect(error.message).toMatch(/ENOSPC/);
    }
    expect(store.read('conv/a')).toBe(doc); // still in memory, still dirty
    expectStoreError(await store.flush().catch((e: unknown) => e), 'WRITE_FAILED');
    expectStoreError(await store.close().catch((e: unknown) => e), 'WRITE_FAILED'); // refuses to close and lose data
    failWith(undefined);
    await store.flush(); // the dirty documents go out with the next commit
    const writesBefore = store.stats.documentWrites;
    await store.flush();
    expect(store.stats.documentWrites).toBe(writesBefore); // nothing dirty left
    expect(store.read('ok')).toBe('after');
    await store.close();
  });

  it('retries a failed commit by itself after retryDelayMs, with no new write', async () => {
    const lines: string[] = [];
    const { store, failWith } = kind.make({ retryDelayMs: 30, log: (line) => lines.push(line) });
    await store.open();
    failWith('ENOSPC');
    expect((await settle(store.write('a', 1))).ok).toBe(false);
    const writes = store.stats.documentWrites;
    failWith(undefined);
    await sleep(150);
    expect(store.stats.documentWrites).toBe(writes + 1);
    expect(lines.join('\n')).toMatch(/ENOSPC.*written again[\s\S]*succeed again/);
    await store.close();
  });
});
