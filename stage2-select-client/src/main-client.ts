// Stage 2 client: `make stage2-client PORT=5002 NAME=alice`. Type while messages arrive: the keyboard
// and the socket share one event loop (see line-ui.ts). With no --name it asks for one.
import { parseCli } from '#shared';
import { ChatClient } from './chat-client.ts';
import { LineUi } from './line-ui.ts';

const { host, port, name } = parseCli(process.argv.slice(2), { port: 5002 });
let client: ChatClient;
try {
  client = await ChatClient.connect(host, port);
} catch (error) {
  console.error(`cannot connect to ${host}:${port}: ${(error as Error).message}`);
  process.exit(1);
}
const ui = new LineUi({ input: process.stdin, output: process.stdout, client });
ui.print(`* connected to ${client.remote}`);
await ui.login(name);
process.exitCode = await ui.done;
