// Stage 2 client: `make stage2-client PORT=5002 NAME=alice`. Type while messages arrive: the keyboard
// and the socket share one event loop (see line-ui.ts). With no --name it asks for one.
import { runLineClient } from './run-line-client.ts';

process.exitCode = await runLineClient(process.argv.slice(2), { defaultPort: 5002 });
