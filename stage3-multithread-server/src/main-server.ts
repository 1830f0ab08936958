// Stage 3 chat room server: `make stage3-server HOST=127.0.0.1 PORT=5003 WORKERS=2`.
import { closeOnSignals, parseCli, timestamped } from '#shared';
import { createChatServer } from './chat-server.ts';

const { host, port, workers } = parseCli(process.argv.slice(2), { port: 5003 });
const server = createChatServer({ workers, log: (line) => console.log(timestamped(line)) });
await server.listen(host, port);
closeOnSignals(() => server.close());
