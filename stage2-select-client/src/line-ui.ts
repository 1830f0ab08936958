import readline from 'node:readline';
import { DEST_ALL, sanitizeForTerminal, usernameKey, type ChatMessage } from '#shared';
import type { ChatClient } from './chat-client.ts';
import { BASE_COMMANDS, parseLine, type CommandContext, type CommandTable } from './commands.ts';

export interface LineUiOptions {
  /** The keyboard (process.stdin), or any readable stream of typed text. */
  input: NodeJS.ReadableStream;
  /** The screen (process.stdout). */
  output: NodeJS.WritableStream;
  client: ChatClient;
  commands?: CommandTable;
  /**
   * Terminal mode: a prompt, line editing, and incoming lines printed above the half-typed one.
   * Default: when input and output are both TTYs (and TERM is not "dumb"). Otherwise plain lines,
   * for pipes and scripts.
   */
  terminal?: boolean;
  /** After the input ends (scripted mode): leave once the server has been quiet this long... */
  quietMs?: number;
  /** ...or after this long at most. */
  drainMaxMs?: number;
}

export const PROMPT = '> ';
const NAME_PROMPT = 'your name: ';
const QUIET_MS = 300;
const DRAIN_MAX_MS = 3_000;

/** `HH:MM` in local time, from a protocol TIMESTAMP (seconds since the epoch, UTC). */
export function formatClock(timestamp: number): string {
  const date = new Date(timestamp * 1000);
  return `${String(date.getHours()).padStart(2, '0')}:${String(date.getMinutes()).padStart(2, '0')}`;
}

/**
 * The stage 2 terminal client: the keyboard and the server socket multiplexed on ONE event loop.
 *
 * There is no loop and no timer here that checks for input. The constructor registers two callbacks
 * - readline's 'line' (the keyboard: stdin) and the ChatClient's events (its socket's 'data') - and
 * returns. From then on the process sleeps inside libuv's uv_run() -> uv__io_poll(), which on Linux
 * is one epoll_wait() over both file descriptors (stdin and the TCP socket), with no timeout while
 * idle. The kernel wakes the process when either one is readable; Node runs the matching callback,
 * and the process goes back to sleep. That is select()/poll() I/O multiplexing, with epoll doing the
 * waiting: a user who types and a server that pushes are served as they come, at no CPU cost while
 * neither does anything.
 */
export class LineUi {
  readonly #rl: readline.Interface;
  readonly #output: NodeJS.WritableStream;
  readonly #client: ChatClient;
  readonly #commands: CommandTable;
  readonly #isTerminal: boolean;
  readonly #quietMs: number;
  readonly #drainMaxMs: number;
  readonly #context: CommandContext;
  /** Lines typed before the login finished: handled after it, in order. */
  readonly #queued: string[] = [];
  #takeLine: ((line: string | undefined) => void) | undefined;
  #isPromptShown = false;
  #isLoggedIn = false;
  #inputEnded = false;
  #leaving = false;
  #finished = false;
  #leaveCode = 0;
  /** Our public messages that the server has not sent back yet (what a scripted run waits for). */
  #pendingEchoes = 0;
  #finish!: (code: number) => void;
  /** Resolves with the exit code: 0 when the user left, 1 when the connection ended otherwise. */
  readonly done: Promise<number>;

  constructor(options: LineUiOptions) {
    const { input, output, client } = options;
    const isTty = (stream: object) => (stream as { isTTY?: boolean }).isTTY === true;
    this.#isTerminal = options.terminal ?? (isTty(input) && isTty(output) && process.env.TERM !== 'dumb');
    this.#output = output;
    this.#client = client;
    this.#commands = options.commands ?? BASE_COMMANDS;
    this.#quietMs = options.quietMs ?? QUIET_MS;
    this.#drainMaxMs = options.drainMaxMs ?? DRAIN_MAX_MS;
    this.#context = {
      client,
      commands: this.#commands,
      print: (line) => this.print(line),
      quit: () => this.quit(),
    };
    this.done = new Promise((resolve) => (this.#finish = resolve));

    // Source 1 of 2, the keyboard: readline reads stdin as it becomes readable.
    this.#rl = readline.createInterface({ input, output, terminal: this.#isTerminal, prompt: PROMPT });
    this.#rl.on('line', (line) => this.#onLine(line));
    this.#rl.on('close', () => this.#onInputEnd());
    this.#rl.on('SIGINT', () => this.quit({ drain: false })); // Ctrl-C in terminal mode

    // Source 2 of 2, the server: ChatClient's socket 'data' -> validated frames -> these events.
    client
      .on('message', (message) => this.#onMessage(message))
      .on('joined', (names) => names.forEach((name) => this.print(`* ${sanitizeForTerminal(name)} joined`)))
      .on('left', (names) => names.forEach((name) => this.print(`* ${sanitizeForTerminal(name)} left`)))
      .on('info', (text) => this.print(`* ${sanitizeForTerminal(text)}`))
      .on('serverError', (text, code) =>
        this.print(`! error: ${sanitizeForTerminal(text)}${code ? ` [${sanitizeForTerminal(code)}]` : ''}`),
      )
      .on('error', (error) =>
        this.print(`! error: the server sent an invalid frame (${sanitizeForTerminal(error.message)})`),
      )
      .on('close', (reason) => this.#onClose(reason));
  }

  /**
   * Logs in as `name`, or asks for a name; after a refusal it says why and asks again, on the same
   * connection. Resolves false if the input or the connection ends first (`done` then resolves too).
   */
  async login(name?: string, features?: string[]): Promise<boolean> {
    let candidate = name?.trim() || undefined;
    for (;;) {
      if (candidate === undefined) {
        candidate = (await this.#ask(NAME_PROMPT))?.trim();
        if (candidate === undefined) {
          this.print('* no name given');
          this.#leave(false, 1);
          return false;
        }
        if (candidate === '') {
          candidate = undefined;
          continue;
        }
      }
      let result;
      try {
        result = await this.#client.login(candidate, features);
      } catch (error) {
        this.print(`! error: ${sanitizeForTerminal((error as Error).message)}`);
        this.#leave(false, 1);
        return false;
      }
      if (result.accepted) {
        this.print(`* logged in as ${sanitizeForTerminal(this.#client.name ?? candidate)}`);
        if (result.info) this.print(`* ${sanitizeForTerminal(result.info)}`);
        for (const message of result.history) this.#onMessage(message);
        BASE_COMMANDS.users.run('', this.#context);
        if (this.#isTerminal) this.print('* type /help for the commands');
        break;
      }
      this.print(`! name refused: ${sanitizeForTerminal(result.info ?? 'no reason given')}`);
      candidate = undefined;
    }
    this.#isLoggedIn = true;
    while (this.#queued.length > 0 && !this.#leaving) this.#handle(this.#queued.shift()!);
    if (this.#inputEnded) this.#leave(!this.#isTerminal);
    else this.#showPrompt(PROMPT);
    return true;
  }

  /**
   * Prints a line for the user. In terminal mode a half-typed line survives: the input lines are
   * cleared, the new line is written where they were, and readline redraws the prompt with the typed
   * text and the cursor where they were (its `line` and `cursor` are untouched).
   */
  print(line: string): void {
    if (!this.#isTerminal || !this.#isPromptShown) {
      this.#output.write(`${line}\n`);
      return;
    }
    // A long input wraps onto several rows; the cursor is on row `rows` of them: go to the first.
    const { rows } = this.#rl.getCursorPos();
    readline.moveCursor(this.#output, 0, -rows);
    readline.cursorTo(this.#output, 0);
    readline.clearScreenDown(this.#output);
    // readline's redraw starts by moving up `prevRows` rows (the cursor row it last drew; a plain
    // property of Node's Interface, missing from its types), so that many newlines give it room.
    // It can lag behind `rows` after a paste, which readline writes without a redraw.
    const redrawUp = (this.#rl as unknown as { prevRows?: number }).prevRows ?? rows;
    this.#output.write(`${line}\n${'\n'.repeat(redrawUp)}`);
    this.#rl.prompt(true);
  }

  /**
   * Leaves the chat. `drain` (the default in scripted mode) first waits for the server to send back
   * our last messages and fall quiet, so a piped script sees every answer.
   */
  quit({ drain = !this.#isTerminal }: { drain?: boolean } = {}): void {
    this.#leave(drain);
  }

  #ask(question: string): Promise<string | undefined> {
    if (this.#queued.length > 0) return Promise.resolve(this.#queued.shift());
    if (this.#inputEnded) return Promise.resolve(undefined);
    this.#showPrompt(question);
    return new Promise((resolve) => (this.#takeLine = resolve));
  }

  #showPrompt(prompt: string): void {
    if (this.#isTerminal) {
      this.#rl.setPrompt(prompt);
      this.#rl.prompt();
      this.#isPromptShown = true;
    } else if (prompt === NAME_PROMPT) {
      this.#output.write(`${prompt.trim()}\n`);
    }
  }

  #onLine(line: string): void {
    this.#isPromptShown = false; // readline has moved past the prompt
    const take = this.#takeLine;
    this.#takeLine = undefined;
    if (take) take(line);
    else if (!this.#isLoggedIn) this.#queued.push(line);
    else this.#handle(line);
  }

  #handle(line: string): void {
    if (this.#leaving) return;
    const action = parseLine(line, this.#commands);
    try {
      switch (action.kind) {
        case 'public':
          this.#client.sendPublic(action.text);
          this.#pendingEchoes++;
          break;
        case 'private': {
          // The server does not echo private messages: show ours now. A note to yourself is the
          // exception: it comes back from the server (stage 4) like any message to you.
          const sent = this.#client.sendPrivate(action.to, action.text);
          if (usernameKey(action.to) !== usernameKey(this.#client.name ?? '')) this.#onMessage(sent);
          break;
        }
        case 'command':
          void Promise.resolve(action.command.run(action.args, this.#context)).catch((error: unknown) =>
            this.print(`! error: /${action.name}: ${(error as Error).message}`),
          );
          break;
        case 'invalid':
          this.print(`! error: ${action.error}`);
          break;
        case 'nothing':
          break;
      }
    } catch (error) {
      this.print(`! error: ${(error as Error).message}`);
    }
    if (!this.#leaving) this.#showPrompt(PROMPT);
  }

  #onMessage([src, dest, timestamp, content]: ChatMessage): void {
    const me = this.#client.name;
    const who = (name: string) => (name === me ? 'you' : sanitizeForTerminal(name));
    if (dest === DEST_ALL && src === me) this.#pendingEchoes = Math.max(0, this.#pendingEchoes - 1);
    const label = dest === DEST_ALL ? sanitizeForTerminal(src) : `${who(src)} → ${who(dest)}`;
    this.print(`${formatClock(timestamp)} [${label}] ${sanitizeForTerminal(content)}`);
  }

  #onInputEnd(): void {
    this.#inputEnded = true;
    const take = this.#takeLine;
    this.#takeLine = undefined;
    take?.(undefined);
    // Before the login, login() sees the end itself; after it, the end of input means leaving.
    if (this.#isLoggedIn) this.#leave(!this.#isTerminal);
  }

  /** Closes the connection (after draining, if asked); `done` then resolves with `code`. */
  #leave(drain: boolean, code = 0): void {
    if (this.#leaving || this.#finished) return;
    this.#leaving = true;
    this.#leaveCode = code;
    this.#isPromptShown = false;
    const close = () => void this.#client.close();
    if (drain) void this.#drain().then(close);
    else close();
  }

  /** Resolves once our messages are back and the server has been quiet for a moment (or at a cap). */
  #drain(): Promise<void> {
    const client = this.#client;
    if (!client.isOpen) return Promise.resolve();
    return new Promise((resolve) => {
      let quiet: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(quiet);
        clearTimeout(cap);
        client.off('frame', onActivity).off('close', done);
        resolve();
      };
      const onActivity = () => {
        clearTimeout(quiet);
        if (this.#pendingEchoes === 0) quiet = setTimeout(done, this.#quietMs);
      };
      const cap = setTimeout(done, this.#drainMaxMs);
      client.on('frame', onActivity).on('close', done);
      onActivity();
    });
  }

  #onClose(reason: string | undefined): void {
    if (reason) this.print(`* disconnected: ${sanitizeForTerminal(reason)}`);
    else if (!this.#leaving) this.print('* the server closed the connection');
    const code = this.#leaving && !reason ? this.#leaveCode : 1;
    this.#finished = true;
    this.#isPromptShown = false;
    this.#rl.close(); // stops reading the keyboard (and leaves raw mode)
    this.#finish(code);
  }
}
