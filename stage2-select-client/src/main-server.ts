// Stage 2 broadcast server: `make stage2-server HOST=127.0.0.1 PORT=5002`.
import { closeOnSignals, parseCli, timestamped } from '#shared';
import { createBroadcastServer } from './broadcast-server.ts';

const { host, port } = parseCli(process.argv.slice(2), { port: 5002 });
const server = createBroadcastServer({ log: (line) => console.log(timestamped(line)) });
await server.listen(host, port);
closeOnSignals(() => server.close());
