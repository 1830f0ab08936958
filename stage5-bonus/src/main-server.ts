// Stage 5 server: `make stage5-server DATA=./data PORT=5005`. The data directory holds the lowdb
// documents and a LOCK file; a second server on it, or a damaged file, refuses to start.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { closeOnSignals, parseCli, timestamped } from '#shared';
import { createStage5Server } from './stage5-server.ts';
import { ChatStore } from './store/chat-store.ts';
import { StoreError } from './store/document-store.ts';
import { LowdbDocumentStore } from './store/lowdb-document-store.ts';

const args = process.argv.slice(2);
const { values } = parseArgs({ args, options: { data: { type: 'string', default: 'data' } }, strict: false });
const dataArgs = new Set(['--data', `--data=${values.data}`, String(values.data)]);
const { host, port, workers } = parseCli(
  args.filter((arg, i) => !(dataArgs.has(arg) && (arg.startsWith('--data') || args[i - 1] === '--data'))),
  { port: 5005 },
);
const log = (line: string) => console.log(timestamped(line));
const dir = path.resolve(String(values.data));
try {
  const server = await createStage5Server({
    store: new ChatStore(new LowdbDocumentStore({ dir, log })),
    workers,
    log,
  });
  await server.listen(host, port);
  log(`data in ${dir}`);
  closeOnSignals(() => server.close());
} catch (error) {
  if (!(error instanceof StoreError)) throw error;
  console.error(`cannot start: ${error.message}`);
  process.exitCode = 1;
}
