// Stage 4 client: `make stage4-client PORT=5004 NAME=alice`. The stage 2 line client with /who and
// /raw, asking the server for the CODE and WHO extensions.
import { parseCli, sanitizeForTerminal } from '#shared';
import { ChatClient } from '#stage2/chat-client';
import { LineUi } from '#stage2/line-ui';
import { describePresence } from './features/presence.ts';
import { CLIENT_FEATURES, ROUTING_COMMANDS } from './routing-commands.ts';

const { host, port, name } = parseCli(process.argv.slice(2), { port: 5004 });
let client: ChatClient;
try {
  client = await ChatClient.connect(host, port);
} catch (error) {
  console.error(`cannot connect to ${host}:${port}: ${(error as Error).message}`);
  process.exit(1);
}
const ui = new LineUi({ input: process.stdin, output: process.stdout, client, commands: ROUTING_COMMANDS });
client.on('frame', (frame) => {
  if (frame.WHO)
    ui.print(`* ${sanitizeForTerminal(describePresence(frame.WHO, Math.floor(Date.now() / 1000)))}`);
});
ui.print(`* connected to ${client.remote}`);
await ui.login(name, CLIENT_FEATURES);
process.exitCode = await ui.done;
