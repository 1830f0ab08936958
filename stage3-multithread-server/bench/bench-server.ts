// A benchmark server in its own process: `node --import tsx bench-server.ts --kind naive --port 0
// [--module extra-kinds.ts]`. Prints `listening on 127.0.0.1:PORT` once it accepts connections.
// It exits on SIGTERM/SIGINT (closing the server first, so --cpu-prof profiles get written) and
// when its stdin closes, so it never outlives the bench that started it.
import { parseArgs } from 'node:util';
import { BENCH_HOST, loadBenchModules, serverKind, type RunningServer } from './server-kinds.ts';

const CLOSE_DEADLINE_MS = 5_000;

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    kind: { type: 'string' },
    port: { type: 'string', default: '0' },
    module: { type: 'string', multiple: true, default: [] },
  },
  strict: true,
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535)
  throw new Error(`--port must be 0-65535, got ${values.port}`);
if (!values.kind) throw new Error('--kind is required');
await loadBenchModules(values.module);
const kind = serverKind(values.kind);

const current: { server?: RunningServer } = {};
let stopping = false;
function stop(code: number): void {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(code), CLOSE_DEADLINE_MS).unref();
  (current.server?.close() ?? Promise.resolve()).then(
    () => process.exit(code),
    () => process.exit(code),
  );
}
process.once('SIGTERM', () => stop(0));
process.once('SIGINT', () => stop(0));
// The parent holds our stdin: when it goes away (even kill -9), so do we.
process.stdin.on('end', () => stop(0));
process.stdin.on('error', () => stop(0));
process.stdin.resume();

current.server = await kind.start(port);
process.stdout.write(`listening on ${BENCH_HOST}:${current.server.port}\n`);
