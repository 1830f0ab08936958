import { describe, expect, it } from '@jest/globals';
import type { ChatClient } from '../src/chat-client.ts';
import { BASE_COMMANDS, parseLine, type CommandContext, type CommandTable } from '../src/commands.ts';

/** Runs a parsed command with a context that records what it printed and whether it quit. */
function run(line: string, commands: CommandTable = BASE_COMMANDS, users: string[] = []) {
  const action = parseLine(line, commands);
  if (action.kind !== 'command') throw new Error(`${line} is not a command: ${JSON.stringify(action)}`);
  const printed: string[] = [];
  let quit = false;
  const context: CommandContext = {
    client: { users: new Set(users) } as unknown as ChatClient, // only the user set is read
    commands,
    print: (text) => printed.push(text),
    quit: () => (quit = true),
  };
  void action.command.run(action.args, context);
  return { printed, quit };
}

describe('stage 2: typed lines and the command table', () => {
  it('sends plain text to everyone, exactly as typed', () => {
    expect(parseLine('hello  there ')).toEqual({ kind: 'public', text: 'hello  there ' });
    expect(parseLine(' indented')).toEqual({ kind: 'public', text: ' indented' });
  });

  it('ignores a blank line', () => {
    expect(parseLine('')).toEqual({ kind: 'nothing' });
    expect(parseLine('   ')).toEqual({ kind: 'nothing' });
  });

  it('reads @name text as a private message', () => {
    expect(parseLine('@bob hi there')).toEqual({ kind: 'private', to: 'bob', text: 'hi there' });
    expect(parseLine('@bob    spaced')).toEqual({ kind: 'private', to: 'bob', text: 'spaced' });
  });

  it('explains the syntax of an incomplete private message', () => {
    for (const line of ['@', '@bob', '@bob   ', '@ hi']) {
      expect(parseLine(line)).toEqual({ kind: 'invalid', error: expect.stringMatching(/@<name> <text>/) });
    }
  });

  it('sends a line starting with // as public text minus one slash', () => {
    expect(parseLine('//users is a command')).toEqual({ kind: 'public', text: '/users is a command' });
  });

  it('finds commands by name in the table, in any case, with their arguments', () => {
    expect(parseLine('/users')).toMatchObject({
      kind: 'command',
      name: 'users',
      command: BASE_COMMANDS.users,
      args: '',
    });
    expect(parseLine('/QUIT now ')).toMatchObject({ kind: 'command', name: 'quit', args: 'now' });
  });

  it('answers an unknown command with a helpful error, and does not find inherited members', () => {
    for (const line of [
      '/nope',
      '/',
      '/ users',
      '/constructor',
      '/__proto__',
      '/toString',
      '/hasOwnProperty x',
    ]) {
      expect(parseLine(line)).toEqual({
        kind: 'invalid',
        error: expect.stringMatching(/unknown command .*\/help/),
      });
    }
  });

  it('sanitizes an unknown command name before echoing it', () => {
    const action = parseLine('/\x1b]0;title\x07x');
    expect(action.kind === 'invalid' && action.error).not.toMatch(/[\x00-\x1f]/);
  });

  it('/users lists who is online, sorted', () => {
    expect(run('/users', BASE_COMMANDS, ['carol', 'alice', 'bob']).printed).toEqual([
      '* online (3): alice, bob, carol',
    ]);
  });

  it('/help lists the message syntax and every command of the table', () => {
    const { printed } = run('/help');
    const help = printed.join('\n');
    for (const usage of ['@<name> <text>', '//<text>', '/users', '/help', '/quit'])
      expect(help).toContain(usage);
  });

  it('/quit asks to leave', () => {
    expect(run('/quit').quit).toBe(true);
  });

  it('is extended by spreading: a later stage adds /who, and /help lists it', () => {
    const seen: string[] = [];
    const extended: CommandTable = {
      ...BASE_COMMANDS,
      who: {
        usage: '/who <name>',
        summary: 'when was someone last here',
        run: (args) => void seen.push(args),
      },
    };
    run('/who  alice ', extended);
    expect(seen).toEqual(['alice']);
    expect(run('/help', extended).printed.join('\n')).toMatch(/\/who <name>\s+when was someone last here/);
    expect(parseLine('/who x', BASE_COMMANDS).kind).toBe('invalid');
  });
});
