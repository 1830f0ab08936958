import { afterEach, describe, expect, it } from '@jest/globals';
import net from 'node:net';
import { connectTcp, formatAddress, listenTcp, resolveHost } from '#shared';

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A server that records its accepted sockets and is closed after the test. */
function trackedServer(): net.Server {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => sockets.add(socket));
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    if (server.listening) await new Promise((resolve) => server.close(resolve));
  });
  return server;
}

describe('shared: net-address', () => {
  it('resolves localhost through getaddrinfo to at least one address', async () => {
    const addresses = await resolveHost('localhost');
    expect(addresses.length).toBeGreaterThan(0);
    for (const { address, family } of addresses) {
      expect([4, 6]).toContain(family);
      expect(net.isIP(address)).toBe(family);
    }
  });

  it("listens on the first getaddrinfo result of 'localhost', and connectTcp('localhost', port) reaches it", async () => {
    const server = trackedServer();
    const bound = await listenTcp(server, 'localhost', 0);
    const [first] = await resolveHost('localhost');
    expect(bound.address).toBe(first.address);
    expect(bound.port).toBeGreaterThan(0);

    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    const socket = await connectTcp('localhost', bound.port);
    cleanups.push(() => {
      socket.destroy();
    });
    expect(socket.remotePort).toBe(bound.port);
    expect(socket.remoteAddress).toBe(bound.address);

    // the connection carries bytes both ways
    const serverSide = await accepted;
    const echoed = new Promise<string>((resolve) =>
      socket.once('data', (chunk) => resolve(chunk.toString())),
    );
    serverSide.once('data', (chunk) => serverSide.write(chunk));
    socket.write('ping');
    expect(await echoed).toBe('ping');
  });

  it('leaves no error listener of its own on the socket it returns', async () => {
    const server = trackedServer();
    const { port } = await listenTcp(server, 'localhost', 0);
    const socket = await connectTcp('localhost', port);
    cleanups.push(() => {
      socket.destroy();
    });
    // A stale listener would swallow the caller's first socket error silently.
    expect(socket.listenerCount('error')).toBe(0);
  });

  it('rejects with the connect error when nothing listens', async () => {
    const server = trackedServer();
    const { port } = await listenTcp(server, '127.0.0.1', 0);
    await new Promise((resolve) => server.close(resolve)); // the port is now free
    await expect(connectTcp('127.0.0.1', port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('rejects when the port is taken on every address', async () => {
    const first = trackedServer();
    const { port } = await listenTcp(first, '127.0.0.1', 0);
    await expect(listenTcp(trackedServer(), '127.0.0.1', port)).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });

  it('formats IPv6 addresses in brackets', () => {
    expect(formatAddress('127.0.0.1', 7000)).toBe('127.0.0.1:7000');
    expect(formatAddress('::1', 7000)).toBe('[::1]:7000');
  });
});
