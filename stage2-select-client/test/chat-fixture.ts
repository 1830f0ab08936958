import { PassThrough } from 'node:stream';
import type { ChatMessage } from '#shared';
import {
  createBroadcastServer,
  type BroadcastServer,
  type BroadcastServerOptions,
} from '../src/broadcast-server.ts';
import { ChatClient, type ChatClientEvents } from '../src/chat-client.ts';

/** A real broadcast server on a free port, and every client the test opens, closed afterwards. */
export async function startChat(options: BroadcastServerOptions = {}) {
  const log: string[] = [];
  const server: BroadcastServer = createBroadcastServer({ log: (line) => log.push(line), ...options });
  const { port } = await server.listen('127.0.0.1', 0);
  const clients: ChatClient[] = [];
  return {
    server,
    port,
    log,
    /** A connected ChatClient (not logged in). */
    async connect(): Promise<ChatClient> {
      const client = await ChatClient.connect('127.0.0.1', port);
      clients.push(client);
      return client;
    },
    /** A connected ChatClient logged in as `name`. */
    async join(name: string): Promise<ChatClient> {
      const client = await this.connect();
      const result = await client.login(name);
      if (!result.accepted) throw new Error(`${name} refused: ${result.info}`);
      return client;
    },
    async stop(): Promise<void> {
      await Promise.all(clients.map((client) => client.close()));
      await server.close();
    },
  };
}

/** Resolves with the arguments of the next `event` that satisfies `match`; rejects after `timeoutMs`. */
export function nextEvent<E extends keyof ChatClientEvents>(
  client: ChatClient,
  event: E,
  match: (...args: ChatClientEvents[E]) => boolean = () => true,
  timeoutMs = 3_000,
): Promise<ChatClientEvents[E]> {
  return new Promise((resolve, reject) => {
    const listener = (...args: ChatClientEvents[E]) => {
      if (!match(...args)) return;
      clearTimeout(timer);
      client.off(event, listener);
      resolve(args);
    };
    const timer = setTimeout(() => {
      client.off(event, listener);
      reject(new Error(`no matching '${String(event)}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    client.on(event, listener);
  });
}

/** The next message whose content is `text`. */
export async function messageWithText(client: ChatClient, text: string): Promise<ChatMessage> {
  const [message] = await nextEvent(client, 'message', (candidate) => candidate[3] === text);
  return message;
}

/** Everything written to a stream, with a wait for text to appear in what was written after `from`. */
export class Screen {
  text = '';
  readonly #waiters = new Set<() => void>();

  constructor(stream: NodeJS.ReadableStream) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      this.text += chunk;
      for (const waiter of [...this.#waiters]) waiter();
    });
  }

  waitFor(pattern: RegExp, from = 0, timeoutMs = 3_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!pattern.test(this.text.slice(from))) return false;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(this.text.slice(from));
        return true;
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(
          new Error(
            `no ${pattern} on the screen within ${timeoutMs} ms; it shows:\n${JSON.stringify(this.text.slice(from))}`,
          ),
        );
      }, timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }
}

/**
 * Fake terminal streams for readline: a keyboard and an 80-column screen that both claim to be TTYs.
 * Only the devices are fake; readline, the client and the sockets are the real ones.
 */
export function fakeTerminal() {
  const keyboard = Object.assign(new PassThrough(), {
    isTTY: true,
    isRaw: false,
    setRawMode: () => keyboard,
  });
  const display = Object.assign(new PassThrough(), { isTTY: true, columns: 80, rows: 24 });
  return { keyboard, display, screen: new Screen(display) };
}

/** Plain streams: what a pipe or a script gives the client. */
export function pipes() {
  const keyboard = new PassThrough();
  const display = new PassThrough();
  return { keyboard, display, screen: new Screen(display) };
}
