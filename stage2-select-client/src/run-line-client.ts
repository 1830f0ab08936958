import { parseCli, type ServerFrame } from '#shared';
import { ChatClient } from './chat-client.ts';
import type { CommandTable } from './commands.ts';
import { LineUi } from './line-ui.ts';

export interface LineClientSetup {
  /** The port when --port is not given. */
  defaultPort: number;
  commands?: CommandTable;
  /** Extensions asked for at login (FEATURES). */
  features?: string[];
  /** Extension frames the base UI does not show (e.g. WHO answers). */
  onFrame?: (frame: ServerFrame, ui: LineUi) => void;
}

/**
 * The body of every line client's main-*.ts: parse --host/--port/--name, connect, run the LineUi on
 * this terminal, and resolve with the exit code. Later stages pass their commands and features.
 */
export async function runLineClient(args: string[], setup: LineClientSetup): Promise<number> {
  const { host, port, name } = parseCli(args, { port: setup.defaultPort });
  let client: ChatClient;
  try {
    client = await ChatClient.connect(host, port);
  } catch (error) {
    console.error(`cannot connect to ${host}:${port}: ${(error as Error).message}`);
    return 1;
  }
  const ui = new LineUi({ input: process.stdin, output: process.stdout, client, commands: setup.commands });
  if (setup.onFrame) client.on('frame', (frame) => setup.onFrame!(frame, ui));
  ui.print(`* connected to ${client.remote}`);
  await ui.login(name, setup.features);
  return ui.done;
}
