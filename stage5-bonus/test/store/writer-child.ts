// Child of kill-9.test.ts: `tsx writer-child.ts <dir>`. Prints `pid N` (its own pid: tsx runs the script
// in a child process, and that is the one to kill), then writes numbered records into 4 documents,
// 32 writes in flight, and prints each number only after its write promise resolved. Runs until killed.
import { LowdbDocumentStore } from '#stage5/store/lowdb-document-store';

const WINDOW = 32;
const DOCUMENTS = 4;
const MAX_RECORDS = 1_000_000;

const store = new LowdbDocumentStore({ dir: process.argv[2] });
await store.open();
process.stdout.write(`pid ${process.pid}\n`);

const records: number[][] = Array.from({ length: DOCUMENTS }, () => []);
let next = 0;

function writeNext(): void {
  if (next >= MAX_RECORDS) return;
  const n = next++;
  const doc = records[n % DOCUMENTS];
  doc.push(n);
  store.write(`log/${n % DOCUMENTS}`, doc).then(
    () => {
      // a pipe is written synchronously on Linux: once this returns, the parent can read the number
      process.stdout.write(`${n}\n`);
      writeNext();
    },
    (error: unknown) => {
      process.stderr.write(`write ${n} failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
}

for (let i = 0; i < WINDOW; i++) writeNext();
