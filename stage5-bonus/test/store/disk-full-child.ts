// Child of kill-9.test.ts: `tsx disk-full-child.ts <dir>`. A plain Node 20 process dies on an unhandled
// rejection, so this proves the store leaves none behind on ENOSPC: each write's own promise is
// handled, nothing else is. Prints `ok <failed writes> <records on disk>` and exits 0.
import { FaultyDisk } from '#stage5/store/faulty-adapter';
import { LowdbDocumentStore } from '#stage5/store/lowdb-document-store';

const dir = process.argv[2];
const disk = new FaultyDisk();
const store = new LowdbDocumentStore({ dir, adapterFor: disk.adapterFor, retryDelayMs: 20 });
await store.open();
await store.write('log/0', []);
disk.failWith('ENOSPC');
const doc: number[] = [];
let failed = 0;
const writes = Array.from({ length: 50 }, (_, n) => {
  doc.push(n);
  return store.write('log/0', doc).catch(() => void failed++);
});
await Promise.all(writes);
await store.flush().catch(() => {});
await store.close().catch(() => {});
// let the retry timer fire a few times against the full disk
await new Promise((resolve) => setTimeout(resolve, 100));
disk.failWith(undefined);
await store.close();
const reopened = new LowdbDocumentStore({ dir });
await reopened.open();
const onDisk = reopened.read<number[]>('log/0')?.length ?? 0;
await reopened.close();
process.stdout.write(`ok ${failed} ${onDisk}\n`);
