import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import net from 'node:net';
import { FrameDecoder, decodePayload, encodeFrame, usernameKey, type ChatMessage } from '#shared';
import { ChatClient } from '../src/chat-client.ts';
import { LineUi } from '../src/line-ui.ts';
import { fakeTerminal, messageWithText, nextEvent, pipes, startChat } from './chat-fixture.ts';

const CLOCK = '\\d\\d:\\d\\d';

describe('stage 2: LineUi in a terminal (fake TTY streams, real sockets)', () => {
  let chat: Awaited<ReturnType<typeof startChat>>;
  const savedTerm = process.env.TERM;
  beforeAll(() => {
    process.env.TERM = 'xterm-256color'; // readline redraws nothing on a "dumb" terminal
  });
  afterAll(() => {
    process.env.TERM = savedTerm;
  });
  beforeEach(async () => {
    chat = await startChat();
  });
  afterEach(() => chat.stop());

  /** alice in a LineUi on a fake terminal, logged in and showing her prompt; bob as a plain client. */
  async function aliceAndBob() {
    const bob = await chat.join('bob');
    const terminal = fakeTerminal();
    const ui = new LineUi({
      input: terminal.keyboard,
      output: terminal.display,
      client: await chat.connect(),
    });
    expect(await ui.login('alice')).toBe(true);
    await terminal.screen.waitFor(/> \x1b\[3G$/); // the prompt, then readline puts the cursor after it
    return { bob, ui, ...terminal };
  }

  it('prints a message pushed by the server while a line is half typed, then redraws that line intact', async () => {
    const { bob, keyboard, screen } = await aliceAndBob();
    keyboard.write('hel');
    await screen.waitFor(/hel$/); // echoed as typed
    const mark = screen.text.length;

    bob.sendPublic('hi from bob'); // arrives while alice's input is still open
    const after = await screen.waitFor(/hi from bob[\s\S]*> hel/, mark);
    expect(after).toMatch(new RegExp(`${CLOCK} \\[bob\\] hi from bob\\n`));
    expect(after.lastIndexOf('> hel')).toBeGreaterThan(after.indexOf('hi from bob'));

    const received = messageWithText(bob, 'hello');
    keyboard.write('lo\r');
    expect(await received).toEqual(['alice', 'ALL', expect.any(Number), 'hello']);
  });

  it('keeps the cursor where it was inside the half-typed line', async () => {
    const { bob, keyboard, screen } = await aliceAndBob();
    keyboard.write('helo');
    keyboard.write('\x1b[D'); // the left arrow: the cursor now sits before the "o"
    await screen.waitFor(/helo\x1b\[1D$/);
    const mark = screen.text.length;
    bob.sendPublic('interruption');
    await screen.waitFor(/interruption[\s\S]*> helo\x1b\[6G$/, mark); // redrawn, cursor back on column 6
    const received = messageWithText(bob, 'hello');
    // One key per write, as a keyboard sends them (Node's readline appends every character but the
    // last of a multi-character chunk at the end of the line, treating the chunk as a paste).
    keyboard.write('l'); // typed at the preserved cursor
    keyboard.write('\r');
    expect((await received)[3]).toBe('hello');
  });

  it('redraws a half-typed line that wraps over several rows', async () => {
    const { bob, keyboard, screen } = await aliceAndBob();
    const long = 'w'.repeat(150); // two rows and a bit on an 80-column screen
    keyboard.write(long);
    await screen.waitFor(/w{60}$/);
    const mark = screen.text.length;
    bob.sendPublic('over a long line');
    const after = await screen.waitFor(new RegExp(`over a long line[\\s\\S]*> ${long}`), mark);
    expect(after).toMatch(/^\x1b\[1A/); // up one row first: the cursor was on the input's second row
    const received = messageWithText(bob, `${long}!`);
    keyboard.write('!\r');
    await received;
  });

  it('shows private messages as "you → name" at once, and the stage 2 refusal after', async () => {
    const { keyboard, screen } = await aliceAndBob();
    const mark = screen.text.length;
    keyboard.write('@bob just between us\r');
    const after = await screen.waitFor(/! error: .*private messages arrive in stage 4/, mark);
    expect(after).toMatch(new RegExp(`${CLOCK} \\[you → bob\\] just between us`));
  });

  it('shows joins and leaves, /users, /help, and an unknown command as an error', async () => {
    const { keyboard, screen } = await aliceAndBob();
    const carol = await chat.join('carol');
    await screen.waitFor(/\* carol joined/);
    keyboard.write('/users\r');
    await screen.waitFor(/\* online \(3\): alice, bob, carol/);
    keyboard.write('/help\r');
    await screen.waitFor(/\/quit\s+leave the chat/);
    keyboard.write('/shout hi\r');
    await screen.waitFor(/! error: unknown command \/shout/);
    await carol.close();
    await screen.waitFor(/\* carol left/);
  });

  it('ends with exit code 0 on /quit, and the others see the user leave', async () => {
    const { bob, ui, keyboard } = await aliceAndBob();
    const left = nextEvent(bob, 'left');
    keyboard.write('/quit\r');
    expect(await ui.done).toBe(0);
    expect((await left)[0]).toEqual(['alice']);
  });

  it('ends with exit code 1 when the server goes away', async () => {
    const { ui, screen } = await aliceAndBob();
    await chat.server.close();
    expect(await ui.done).toBe(1);
    expect(screen.text).toMatch(/! error: the server is shutting down/);
  });
});

describe('stage 2: LineUi with plain streams (pipes and scripts)', () => {
  let chat: Awaited<ReturnType<typeof startChat>>;
  beforeEach(async () => {
    chat = await startChat();
  });
  afterEach(() => chat.stop());

  it('prints untrusted text without a single escape sequence, bidi control or forged line', async () => {
    const bob = await chat.join('bob');
    const { keyboard, display, screen } = pipes();
    const ui = new LineUi({ input: keyboard, output: display, client: await chat.connect() });
    await ui.login('alice');
    bob.sendPublic('\x1b[2J\x1b]52;c;cm0gLXJmIH4=\x07\x9b31mevil\u202Efdp.exe\n00:00 [admin] forged');
    const shown = await screen.waitFor(/evil/);
    expect(shown).toMatch(new RegExp(`${CLOCK} \\[bob\\] evilfdp.exe↵00:00 \\[admin\\] forged\\n`));
    expect(shown).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
    keyboard.end();
    await ui.done;
  });

  it('asks for a name, says why one is refused, and asks again on the same connection', async () => {
    await chat.join('bob');
    const { keyboard, display, screen } = pipes();
    const ui = new LineUi({ input: keyboard, output: display, client: await chat.connect() });
    const loggedIn = ui.login();
    await screen.waitFor(/your name:/);
    keyboard.write('BOB\n');
    await screen.waitFor(/! name refused: that username is taken\nyour name:/);
    keyboard.write('alice\n');
    expect(await loggedIn).toBe(true);
    expect(screen.text).toMatch(/\* logged in as alice\n/);
    keyboard.end();
    expect(await ui.done).toBe(0);
  });

  it('handles lines typed before the login, and when the input ends waits for the answers, then exits 0', async () => {
    const bob = await chat.join('bob');
    const carolLeft = nextEvent(bob, 'left', (names) => names.includes('carol'));
    const { keyboard, display, screen } = pipes();
    const ui = new LineUi({ input: keyboard, output: display, client: await chat.connect() });
    keyboard.end('first\n@bob second\nthird\n'); // all of it, and the end of input, before the login
    await ui.login('carol');
    expect(await ui.done).toBe(0);
    const lines = screen.text.split('\n');
    const index = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line));
    expect(index(/\[carol\] first$/)).toBeGreaterThan(index(/logged in as carol/));
    expect(index(/\[carol\] third$/)).toBeGreaterThan(index(/\[carol\] first$/));
    expect(index(/! error: .*stage 4/)).toBeGreaterThan(index(/\[you → bob\] second$/));
    await carolLeft;
  });

  it('exits 1 when the input ends before a name was given', async () => {
    const { keyboard, display } = pipes();
    const ui = new LineUi({ input: keyboard, output: display, client: await chat.connect() });
    keyboard.end();
    expect(await ui.login()).toBe(false);
    expect(await ui.done).toBe(1);
  });
});

describe('stage 2: LineUi against a server that routes private messages (raw bytes)', () => {
  let server: net.Server;
  let port: number;
  const sockets = new Set<net.Socket>();

  // Like stage 4 for one user: any name is accepted, and a private message to yourself comes back to
  // you (a note to self), with DEST in your own spelling; a message to anyone else is just taken.
  beforeEach(async () => {
    server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      let name = '';
      const decoder = new FrameDecoder({
        onFrame: (payload) => {
          const frame = decodePayload(payload);
          if (typeof frame.USERNAME === 'string') {
            name = frame.USERNAME;
            socket.write(
              encodeFrame({ USERNAME_ACCEPTED: true, INFO: 'hi', USER_LIST: [name], MESSAGES: [] }),
            );
          }
          const back = ((frame.MESSAGES ?? []) as ChatMessage[])
            .filter(([, dest]) => usernameKey(dest) === usernameKey(name))
            .map(([src, , , content]): ChatMessage => [src, name, Math.floor(Date.now() / 1000), content]);
          if (back.length > 0) socket.write(encodeFrame({ MESSAGES: back }));
        },
        onError: () => socket.destroy(),
      });
      socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  afterEach(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('shows a private message to yourself once, when the server delivers it, and others at once', async () => {
    const { keyboard, display, screen } = pipes();
    const ui = new LineUi({
      input: keyboard,
      output: display,
      client: await ChatClient.connect('127.0.0.1', port),
    });
    expect(await ui.login('alice')).toBe(true);
    keyboard.end('@Alice note to self\n@bob for bob\n');
    expect(await ui.done).toBe(0);
    const lines = screen.text.split('\n');
    expect(lines.filter((line) => line.includes('note to self'))).toEqual([
      expect.stringMatching(new RegExp(`^${CLOCK} \\[you → you\\] note to self$`)),
    ]);
    expect(lines.filter((line) => line.includes('for bob'))).toEqual([
      expect.stringMatching(new RegExp(`^${CLOCK} \\[you → bob\\] for bob$`)),
    ]);
  });
});
