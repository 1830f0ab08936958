import readline from 'node:readline';
import type { Readable } from 'node:stream';
import {
  FramedSocket,
  connectTcp,
  decodePayload,
  encodeFrame,
  isProtocolError,
  parseServerFrame,
  type ServerFrame,
} from '#shared';

export interface EchoClientOptions {
  host: string;
  port: number;
  /** What the user types: one frame per line. */
  input: Readable;
  /** The "client window". */
  print: (line: string) => void;
  ackTimeoutMs?: number;
  /** How long to wait for outstanding echoes after the input ends. */
  drainTimeoutMs?: number;
}

const SENDER = 'stage1';

/**
 * Stage 1 client: connect (getaddrinfo), wait for the server's acknowledgement, then send each typed
 * line as one frame and print each echo. Resolves with an exit code when the input ends or on /quit.
 */
export async function runEchoClient(options: EchoClientOptions): Promise<number> {
  const { print } = options;
  const socket = await connectTcp(options.host, options.port);
  print(`connected to ${socket.remoteAddress}:${socket.remotePort}`);

  let acknowledged!: () => void;
  const ack = new Promise<void>((resolve) => (acknowledged = resolve));
  let outstanding = 0;
  let drained: (() => void) | undefined;
  let closed!: (ok: boolean) => void;
  const closedPromise = new Promise<boolean>((resolve) => (closed = resolve));

  const show = (frame: ServerFrame) => {
    if (frame.ERROR !== undefined) print(`server error: ${frame.ERROR}`);
    if (frame.INFO !== undefined) print(`server: ${frame.INFO}`);
    for (const [, , , content] of frame.MESSAGES ?? []) {
      print(`echo: ${content}`);
      outstanding--;
    }
    if (outstanding <= 0) drained?.();
  };

  const connection = new FramedSocket(socket, {
    onFrame: (payload) => {
      try {
        const frame = parseServerFrame(decodePayload(payload));
        show(frame);
        if (frame.INFO?.startsWith('ACK')) acknowledged();
      } catch (error) {
        if (!isProtocolError(error)) throw error;
        print(`unreadable frame from server: ${error.message}`);
      }
    },
    onClose: (error) => {
      print(error ? `disconnected: ${error.message}` : 'disconnected');
      closed(!error);
      acknowledged();
      drained?.();
    },
  });

  const ackTimer = setTimeout(
    () => connection.destroy(new Error('no acknowledgement from the server')),
    options.ackTimeoutMs ?? 10_000,
  );
  await ack;
  clearTimeout(ackTimer);
  if (!connection.isOpen) return 1;

  const lines = readline.createInterface({ input: options.input, terminal: false });
  for await (const line of lines) {
    if (!connection.isOpen) break;
    if (line.trim() === '/quit') break;
    if (line.length === 0) continue;
    outstanding++;
    connection.send(encodeFrame({ MESSAGES: [[SENDER, 'ALL', Math.floor(Date.now() / 1000), line]] }));
  }
  lines.close();

  if (outstanding > 0 && connection.isOpen) {
    await new Promise<void>((resolve) => {
      drained = resolve;
      setTimeout(resolve, options.drainTimeoutMs ?? 5_000).unref();
    });
  }
  if (connection.isOpen) connection.close();
  const clean = await closedPromise;
  return clean && outstanding <= 0 ? 0 : 1;
}
