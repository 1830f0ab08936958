// `make stage3`: four clients talk at once to the worker-thread server; the server window shows which
// worker serves whom. Exits 0 once every client has seen every message.
import { fileURLToPath } from 'node:url';
import { sleep, startDemoProcess, startDemoServer, stopDemoServer } from '../../shared/tools/demo-runner.ts';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const CLIENT = fileURLToPath(new URL('../../stage2-select-client/src/main-client.ts', import.meta.url));
const NAMES = ['ann', 'ben', 'cat', 'dan'];
const LINES = ['hi all', 'how is the assignment going?', 'see you in class'];

console.log('Stage 3 demo: a chat room served by worker threads (2 workers, 4 clients talking at once)\n');
const { server, port } = await startDemoServer('server', here('./main-server.ts'), ['--workers', '2']);
const clients = NAMES.map((name) => startDemoProcess(name, CLIENT, ['--port', String(port), '--name', name]));
await Promise.all(clients.map((client, i) => client.waitFor(new RegExp(`logged in as ${NAMES[i]}`))));

console.log('\n=== everyone talks at once: 4 clients x 3 lines, interleaved');
for (const line of LINES) {
  for (const client of clients) client.type(`${line} (from ${client.label})`);
  await sleep(20);
}
for (const client of clients) {
  for (const name of NAMES) await client.waitFor(new RegExp(`\\[${name}\\] see you in class`));
}

console.log('\n=== everyone leaves');
for (const client of clients) client.type('/quit');
const codes = await Promise.all(clients.map((client) => client.exited));
const placements = server.lines
  .filter((line) => /session on worker/.test(line))
  .map((line) => line.match(/worker \d+/)![0]);
const serverClean = await stopDemoServer(server);
console.log(`\n=== sessions were placed on: ${placements.join(', ')}`);
const ok = codes.every((code) => code === 0) && serverClean && new Set(placements).size === 2;
console.log(ok ? 'Stage 3 demo finished: every client saw all 12 messages.' : 'Stage 3 demo FAILED.');
process.exit(ok ? 0 : 1);
