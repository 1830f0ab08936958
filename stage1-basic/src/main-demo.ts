// `make stage1`: a server window and a scripted client window, labelled; exits 0 when all went well.
import { fileURLToPath } from 'node:url';
import { startDemoProcess, startDemoServer, stopDemoServer } from '../../shared/tools/demo-runner.ts';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

console.log('Stage 1 demo: an echo server acknowledges a client and echoes every line it types.\n');
const { server, port } = await startDemoServer('server', here('./main-server.ts'));
const client = startDemoProcess('client', here('./main-client.ts'), ['--port', String(port)]);
await client.waitFor(/ACK/);
for (const line of ['hello, server', 'a second line', 'non-ASCII travels too: héllo wörld ✓'])
  client.type(line);
await client.waitFor(/echo: non-ASCII/);
client.type('/quit');
const clientCode = await client.exited;
await server.waitFor(/left/);
const serverClean = await stopDemoServer(server);
const ok = clientCode === 0 && serverClean;
console.log(
  `\nStage 1 demo ${ok ? 'finished' : 'FAILED'}: client exit ${clientCode}, server ${serverClean ? 'stopped cleanly' : 'did not stop cleanly'}.`,
);
process.exit(ok ? 0 : 1);
