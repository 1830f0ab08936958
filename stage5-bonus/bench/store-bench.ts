// The stage 5 storage benchmark: `node_modules/.bin/tsx stage5-bonus/bench/store-bench.ts [--quick]`.
// What one commit of one document costs at the limits the server keeps (a full conversation, a full
// mailbox, the accounts document), and what group commit buys when many writes arrive together.
// Real files in a temporary directory (removed at the end), lowdb's JSONFile (pretty-printed JSON,
// temp file + rename, no fsync). The median of several commits is shown.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LowdbDocumentStore } from '../src/store/lowdb-document-store.ts';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { quick: { type: 'boolean', default: false }, dir: { type: 'string' } },
  strict: true,
});
const isQuick = values.quick;

interface Message {
  id: number;
  from: string;
  to: string;
  at: number;
  text: string;
}

/** `count` messages of about `bytes` bytes each as compact JSON. */
function messages(count: number, bytes: number): Message[] {
  const base = JSON.stringify({ id: 0, from: 'user0042', to: 'user0117', at: Date.now(), text: '' }).length;
  const text = 'x'.repeat(Math.max(1, bytes - base));
  return Array.from({ length: count }, (_, id) => ({
    id,
    from: 'user0042',
    to: 'user0117',
    at: Date.now(),
    text,
  }));
}

/** `count` accounts of about 300 bytes: name, scrypt salt and hash (base64), public key fingerprint, dates. */
function accounts(count: number): Record<string, unknown> {
  const table: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    table[`user${String(i).padStart(4, '0')}`] = {
      salt: 'A'.repeat(24),
      hash: 'B'.repeat(88),
      fingerprint: 'C'.repeat(64),
      createdAt: '2025-09-01T10:00:00.000Z',
      lastLoginAt: '2025-12-01T10:00:00.000Z',
    };
  }
  return table;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

const root = values.dir ?? mkdtempSync(join(tmpdir(), 'msg-store-bench-'));
let runs = 0;
async function freshStore(commitDelayMs?: number): Promise<LowdbDocumentStore> {
  const store = new LowdbDocumentStore({ dir: join(root, `run${runs++}`), commitDelayMs });
  await store.open();
  return store;
}

async function singleDocument(what: string, data: unknown, repeats: number): Promise<string[]> {
  const store = await freshStore();
  const commitMs: number[] = [];
  const ackMs: number[] = [];
  for (let i = 0; i < repeats + 1; i++) {
    const startedAt = performance.now();
    await store.write('doc', data);
    if (i === 0) continue; // the first write also creates the file: not counted
    ackMs.push(performance.now() - startedAt);
    commitMs.push(store.stats.lastCommitMs);
  }
  const bytes = store.stats.bytesWritten / (repeats + 1);
  await store.close();
  const ms = median(commitMs);
  return [
    what,
    `${(bytes / 1024).toFixed(0)} KiB`,
    ms.toFixed(1),
    median(ackMs).toFixed(1),
    (bytes / 2 ** 20 / (ms / 1000)).toFixed(0),
  ];
}

async function throughput(
  what: string,
  commitDelayMs: number,
  run: (store: LowdbDocumentStore, docs: Message[][]) => Promise<void>,
): Promise<string[]> {
  const store = await freshStore(commitDelayMs);
  const docs = Array.from({ length: 50 }, () => messages(100, 100));
  await Promise.all(docs.map((doc, i) => store.write(`conv/c${i}`, doc)));
  const before = store.stats;
  const startedAt = performance.now();
  await run(store, docs);
  const seconds = (performance.now() - startedAt) / 1000;
  const after = store.stats;
  await store.close();
  const commits = after.commits - before.commits;
  return [
    what,
    String(commits),
    String(after.documentWrites - before.documentWrites),
    (seconds * 1000).toFixed(0),
    (1000 / seconds).toFixed(0),
    (commits / seconds).toFixed(0),
  ];
}

const WRITES = 1000;
try {
  console.log(
    `# stage 5 store bench (Node ${process.version}, ${cpus().length} cores, lowdb JSONFile, ${isQuick ? 'quick' : 'full'})\n`,
  );
  const few = isQuick ? 3 : 9;
  const rows = [
    await singleDocument('conversation, 10 000 messages of ~100 B', messages(10_000, 100), few),
    await singleDocument('conversation, 10 000 messages of ~1 KiB', messages(10_000, 1024), isQuick ? 2 : 5),
    await singleDocument('mailbox, 1 000 messages of ~100 B', messages(1_000, 100), few * 3),
    await singleDocument('mailbox, 1 000 messages of ~1 KiB', messages(1_000, 1024), few * 3),
    await singleDocument('accounts, 300 of ~300 B', accounts(300), few * 3),
    await singleDocument('accounts, 1 000 of ~300 B', accounts(1_000), few * 3),
  ];
  console.log('One commit of one document (median):\n');
  console.log(formatTable(['document', 'file', 'commit ms', 'ack ms', 'MiB/s'], rows));

  console.log(
    `\n${WRITES} writes over 50 conversation documents (100 messages of ~100 B each, ~15 KiB files):\n`,
  );
  const per = WRITES / 50;
  const tput = [
    await throughput('one write per call (each awaited, commitDelayMs 0)', 0, async (store, docs) => {
      for (let i = 0; i < WRITES; i++) await store.write(`conv/c${i % 50}`, docs[i % 50]);
    }),
    await throughput('group commit: 50 writers, each awaits its own write', 2, async (store, docs) => {
      await Promise.all(
        docs.map(async (doc, c) => {
          for (let i = 0; i < per; i++) await store.write(`conv/c${c}`, doc);
        }),
      );
    }),
    await throughput('group commit: all 1 000 writes in one burst', 2, async (store, docs) => {
      await Promise.all(
        Array.from({ length: WRITES }, (_, i) => store.write(`conv/c${i % 50}`, docs[i % 50])),
      );
    }),
  ];
  console.log(formatTable(['how', 'commits', 'file writes', 'total ms', 'writes/s', 'commits/s'], tput));
} finally {
  if (!values.dir) rmSync(root, { recursive: true, force: true });
}
