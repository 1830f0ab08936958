import net from 'node:net';
import {
  FramedSocket,
  ProtocolError,
  decodePayload,
  encodeFrame,
  formatAddress,
  frameBytes,
  isProtocolError,
  listenTcp,
  type FramedSocketOptions,
} from '#shared';

export interface EchoServerOptions {
  /** The "server window": one line per event. */
  log?: (line: string) => void;
  maxFrameBytes?: number;
  frameTimeoutMs?: number;
}

export interface EchoServer {
  listen(host: string, port: number): Promise<net.AddressInfo>;
  close(): Promise<void>;
}

/** The acknowledgement every client receives as soon as it is accepted. */
export function ackFrame(clientNumber: number): Buffer {
  return encodeFrame({ INFO: `ACK: connected to the Msg echo server as client #${clientNumber}` });
}

function errorFrame(error: ProtocolError): Buffer {
  return encodeFrame({ ERROR: error.message });
}

/**
 * Stage 1: an echo server that shows the socket steps one by one. Each client gets an
 * acknowledgement at once, then every frame it sends comes back unchanged; clients are served
 * together (each socket is event-driven), and a bad frame never reaches past its own connection.
 */
export function createEchoServer(options: EchoServerOptions = {}): EchoServer {
  const log = options.log ?? ((line: string) => console.log(line));
  const clients = new Set<FramedSocket>();
  let accepted = 0;

  // Step 1: create the listening socket. Steps 2-3 (bind + listen) are in listen() below.
  const server = net.createServer((socket) => {
    // Step 4: accept. Node has done accept(2); this callback runs once per new connection.
    const number = ++accepted;
    const framing: FramedSocketOptions = {
      maxFrameBytes: options.maxFrameBytes,
      frameTimeoutMs: options.frameTimeoutMs,
      farewell: errorFrame,
      // Step 6: receive a frame and send it back (echo), until the client leaves.
      onFrame: (payload) => {
        try {
          decodePayload(payload); // only well-formed JSON objects are echoed
          log(
            `#${number} ${connection.remote} sent ${payload.length} bytes: ${payload.toString('utf8').slice(0, 200)}`,
          );
          connection.send(frameBytes(payload));
        } catch (error) {
          if (!isProtocolError(error)) throw error;
          log(`#${number} ${connection.remote} bad frame: ${error.code}`);
          connection.send(errorFrame(error));
        }
      },
      onClose: (error) => {
        clients.delete(connection);
        const why = isProtocolError(error) ? ` (${error.code})` : error ? ` (${error.message})` : '';
        log(`#${number} ${connection.remote} left${why}`);
      },
    };
    const connection = new FramedSocket(socket, framing);
    clients.add(connection);
    log(`#${number} ${connection.remote} connected`);
    // Step 5: acknowledge at once, before the client says anything.
    connection.send(ackFrame(number));
  });

  return {
    async listen(host, port) {
      // Steps 2-3: bind to an address from getaddrinfo and listen.
      const address = await listenTcp(server, host, port);
      log(`stage 1 echo server listening on ${formatAddress(address.address, address.port)}`);
      return address;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const client of clients) client.close(encodeFrame({ INFO: 'server shutting down' }));
      await closed;
    },
  };
}
