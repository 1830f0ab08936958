import type { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import net from 'node:net';

/** getaddrinfo() results for a host, in the resolver's order (no hard-coded address family). */
export async function resolveHost(host: string): Promise<LookupAddress[]> {
  return lookup(host, { all: true, verbatim: true });
}

export function formatAddress(address: string, port: number): string {
  return net.isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * Connects to the first address of `host` that accepts, trying getaddrinfo's results in order
 * (so "localhost" works whether the server bound ::1 or 127.0.0.1).
 */
export async function connectTcp(host: string, port: number, timeoutMs = 10_000): Promise<net.Socket> {
  const addresses = await resolveHost(host);
  let lastError: unknown = new Error(`no addresses for ${host}`);
  for (const { address, family } of addresses) {
    try {
      return await new Promise<net.Socket>((resolve, reject) => {
        const socket = net.connect({ host: address, port, family });
        const timer = setTimeout(
          () => socket.destroy(new Error(`connect to ${formatAddress(address, port)} timed out`)),
          timeoutMs,
        );
        socket.once('connect', () => {
          clearTimeout(timer);
          socket.removeAllListeners('error'); // ours only: the socket is new
          resolve(socket);
        });
        socket.once('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
      });
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

/**
 * Binds `server` to the first getaddrinfo address of `host` that it can listen on and resolves with
 * the bound address (port 0 picks a free port: what tests use).
 */
export async function listenTcp(server: net.Server, host: string, port: number): Promise<net.AddressInfo> {
  const addresses = await resolveHost(host);
  let lastError: unknown = new Error(`no addresses for ${host}`);
  for (const { address } of addresses) {
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: address, port }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      return server.address() as net.AddressInfo;
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

/** Whether an IP address is this machine's loopback (127.0.0.0/8, ::1, or 127.x mapped into IPv6). */
export function isLoopbackAddress(address: string): boolean {
  return address === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/i.test(address);
}
