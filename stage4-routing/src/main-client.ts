// Stage 4 client: `make stage4-client PORT=5004 NAME=alice`. The stage 2 line client with /who and
// /raw, asking the server for the CODE and WHO extensions.
import { sanitizeForTerminal } from '#shared';
import { runLineClient } from '#stage2/run-line-client';
import { describePresence } from './features/presence.ts';
import { CLIENT_FEATURES, ROUTING_COMMANDS } from './routing-commands.ts';

process.exitCode = await runLineClient(process.argv.slice(2), {
  defaultPort: 5004,
  commands: ROUTING_COMMANDS,
  features: CLIENT_FEATURES,
  onFrame: (frame, ui) => {
    if (frame.WHO)
      ui.print(`* ${sanitizeForTerminal(describePresence(frame.WHO, Math.floor(Date.now() / 1000)))}`);
  },
});
