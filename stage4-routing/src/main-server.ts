// Stage 4 routing server: `make stage4-server HOST=127.0.0.1 PORT=5004 WORKERS=2`.
import { closeOnSignals, parseCli, timestamped } from '#shared';
import { createRoutingServer } from './routing-server.ts';

const { host, port, workers } = parseCli(process.argv.slice(2), { port: 5004 });
const server = createRoutingServer({ workers, log: (line) => console.log(timestamped(line)) });
await server.listen(host, port);
closeOnSignals(() => server.close());
