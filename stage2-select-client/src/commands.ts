import { sanitizeForTerminal } from '#shared';
import type { ChatClient } from './chat-client.ts';

/** What a command may use while it runs. */
export interface CommandContext {
  readonly client: ChatClient;
  /** Prints one line above the prompt, as is: sanitize anything that came from the network. */
  print(line: string): void;
  /** Leaves the chat, as Ctrl-D does. */
  quit(): void;
  /** The table in use (for /help). */
  readonly commands: CommandTable;
}

/** One slash command: how to type it, one line of help, and what it does. */
export interface Command {
  /** As shown by /help, e.g. "/users" or "/who <name>". */
  usage: string;
  summary: string;
  run(args: string, context: CommandContext): void | Promise<void>;
}

/**
 * Commands by name (without the slash, lower case). A later stage extends the table by spreading:
 * `{ ...BASE_COMMANDS, who: { usage: '/who <name>', ... } }`.
 */
export type CommandTable = Readonly<Record<string, Command>>;

/** What a typed line asks for. */
export type LineAction =
  | { kind: 'public'; text: string }
  | { kind: 'private'; to: string; text: string }
  | { kind: 'command'; name: string; command: Command; args: string }
  | { kind: 'invalid'; error: string }
  | { kind: 'nothing' };

/** The lines that are not commands, for /help. */
const SYNTAX: [usage: string, summary: string][] = [
  ['<text>', 'send to everyone'],
  ['@<name> <text>', 'send to one user only'],
  ['//<text>', 'send a line that starts with /'],
];

export const BASE_COMMANDS = {
  users: {
    usage: '/users',
    summary: 'list who is online',
    run(_args, { client, print }) {
      const names = [...client.users]
        .sort((a, b) => a.localeCompare(b))
        .map((name) => sanitizeForTerminal(name));
      print(`* online (${names.length}): ${names.join(', ')}`);
    },
  },
  help: {
    usage: '/help',
    summary: 'show this list',
    run(_args, { commands, print }) {
      const rows = [...SYNTAX, ...Object.values(commands).map((command) => [command.usage, command.summary])];
      const width = Math.max(...rows.map(([usage]) => usage.length)) + 2;
      print('* commands:');
      for (const [usage, summary] of rows) print(`*   ${usage.padEnd(width)}${summary}`);
    },
  },
  quit: {
    usage: '/quit',
    summary: 'leave the chat (Ctrl-D does the same)',
    run(_args, { quit }) {
      quit();
    },
  },
} satisfies CommandTable;

const COMMAND_LINE = /^\/(\S+)\s*([\s\S]*)$/;
const PRIVATE_LINE = /^@(\S*)\s*([\s\S]*)$/;

/** Reads one typed line: a command from `commands`, a private `@name text`, or public text. */
export function parseLine(line: string, commands: CommandTable = BASE_COMMANDS): LineAction {
  if (line.trim() === '') return { kind: 'nothing' };
  if (line.startsWith('//')) return { kind: 'public', text: line.slice(1) };
  if (line.startsWith('/')) {
    const [, typed = '', args = ''] = COMMAND_LINE.exec(line) ?? [];
    const name = typed.toLowerCase();
    // Object.hasOwn: "/constructor" or "/__proto__" must not find an inherited member.
    if (!Object.hasOwn(commands, name)) {
      const shown = sanitizeForTerminal(typed).slice(0, 32);
      return {
        kind: 'invalid',
        error: `unknown command /${shown}: /help lists the commands (// sends a line starting with /)`,
      };
    }
    return { kind: 'command', name, command: commands[name], args: args.trim() };
  }
  if (line.startsWith('@')) {
    const [, to = '', text = ''] = PRIVATE_LINE.exec(line) ?? [];
    if (to === '' || text.trim() === '')
      return { kind: 'invalid', error: 'a private message is @<name> <text>' };
    return { kind: 'private', to, text };
  }
  return { kind: 'public', text: line };
}
