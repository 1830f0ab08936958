// Stage 1 echo server: `make stage1-server HOST=127.0.0.1 PORT=5001`.
import { closeOnSignals, parseCli, timestamped } from '#shared';
import { createEchoServer } from './echo-server.ts';

const { host, port } = parseCli(process.argv.slice(2), { port: 5001 });
const server = createEchoServer({ log: (line) => console.log(timestamped(line)) });
await server.listen(host, port);
closeOnSignals(() => server.close());
