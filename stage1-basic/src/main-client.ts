// Stage 1 echo client: `make stage1-client HOST=127.0.0.1 PORT=5001`; type lines, /quit or Ctrl-D ends.
import { parseCli } from '#shared';
import { runEchoClient } from './echo-client.ts';

const { host, port } = parseCli(process.argv.slice(2), { port: 5001 });
try {
  process.exitCode = await runEchoClient({
    host,
    port,
    input: process.stdin,
    print: (line) => console.log(line),
  });
} catch (error) {
  console.error(`cannot connect to ${host}:${port}: ${(error as Error).message}`);
  process.exitCode = 1;
}
