import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { PassThrough } from 'node:stream';
import { FrameClient } from '#shared/test-kit/frame-client';
import { createEchoServer, type EchoServer } from '../src/echo-server.ts';
import { runEchoClient } from '../src/echo-client.ts';

describe('stage 1: echo server over real sockets', () => {
  let server: EchoServer;
  let port: number;
  let log: string[];
  const clients: FrameClient[] = [];
  const connect = async () => {
    const client = await FrameClient.connect('127.0.0.1', port);
    clients.push(client);
    return client;
  };

  beforeEach(async () => {
    log = [];
    server = createEchoServer({ log: (line) => log.push(line), frameTimeoutMs: 300, maxFrameBytes: 1024 });
    ({ port } = await server.listen('127.0.0.1', 0));
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy();
    await server.close();
  });

  it('acknowledges a client as soon as it is accepted, before it sends anything', async () => {
    const client = await connect();
    expect((await client.next())?.INFO).toMatch(/^ACK/);
  });

  it('echoes every frame back unchanged, in order', async () => {
    const client = await connect();
    await client.next();
    const frames = [
      { MESSAGES: [['a', 'ALL', 1, 'one']] },
      { MESSAGES: [['a', 'ALL', 2, 'twö 🎉']] },
      { USERNAME: 'x' },
    ];
    for (const frame of frames) client.send(frame);
    for (const frame of frames) expect(await client.next()).toEqual(frame);
  });

  it('serves several clients at the same time', async () => {
    const many = await Promise.all(Array.from({ length: 10 }, connect));
    await Promise.all(many.map((client) => client.next()));
    many.forEach((client, index) => client.send({ INFO: `client ${index}` }));
    const echoes = await Promise.all(many.map((client) => client.next()));
    expect(echoes.map((frame) => frame?.INFO)).toEqual(many.map((_, index) => `client ${index}`));
  });

  it('answers non-JSON with ERROR and keeps the connection', async () => {
    const client = await connect();
    await client.next();
    client.sendPayload('this is not json');
    expect((await client.next())?.ERROR).toMatch(/not valid JSON/);
    client.send({ INFO: 'still here' });
    expect((await client.next())?.INFO).toBe('still here');
  });

  it('refuses an oversized length before the body arrives, closes, and keeps serving others', async () => {
    const bystander = await connect();
    await bystander.next();
    const client = await connect();
    await client.next();
    client.sendRaw(Buffer.from([0x00, 0x00, 0x04, 0x01])); // 1025 > 1024, and no body follows
    expect((await client.next())?.ERROR).toMatch(/exceeds the limit/);
    expect(await client.waitClosed()).toBe(true);
    bystander.send({ INFO: 'ping' });
    expect((await bystander.next())?.INFO).toBe('ping');
  });

  it('closes a connection whose frame is never finished, at the deadline', async () => {
    const client = await connect();
    await client.next();
    client.sendRaw(Buffer.from([0x00, 0x00, 0x00, 0x10, 0x7b])); // 16 bytes announced, 1 sent
    expect((await client.next(2_000))?.ERROR).toMatch(/not completed in time/);
    expect(await client.waitClosed(2_000)).toBe(true);
  });

  it('survives a client that vanishes mid-frame, and logs it', async () => {
    const client = await connect();
    await client.next();
    client.sendRaw(Buffer.from([0x00, 0x00, 0x00, 0x10, 0x7b, 0x22]));
    client.destroy();
    await client.closed;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(log.some((line) => /left/.test(line))).toBe(true);
    const next = await connect();
    expect((await next.next())?.INFO).toMatch(/^ACK/);
  });

  it('logs connections, frames and departures (the server window)', async () => {
    const client = await connect();
    await client.next();
    client.send({ INFO: 'hi' });
    await client.next();
    client.close();
    await client.closed;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(log.join('\n')).toMatch(
      /#1 .* connected[\s\S]*#1 .* sent \d+ bytes: \{"INFO":"hi"\}[\s\S]*#1 .* left/,
    );
  });
});

describe('stage 1: echo client', () => {
  let server: EchoServer;
  let port: number;

  beforeEach(async () => {
    server = createEchoServer({ log: () => {} });
    ({ port } = await server.listen('127.0.0.1', 0));
  });
  afterEach(() => server.close());

  it('waits for the acknowledgement, sends one frame per line, prints each echo, and exits 0 at end of input', async () => {
    const input = new PassThrough();
    const printed: string[] = [];
    const done = runEchoClient({ host: 'localhost', port, input, print: (line) => printed.push(line) });
    input.end('first\nsecond ünïcode\n\nthird\n');
    expect(await done).toBe(0);
    expect(printed.filter((line) => line.startsWith('echo:'))).toEqual([
      'echo: first',
      'echo: second ünïcode',
      'echo: third',
    ]);
    expect(printed.findIndex((line) => /ACK/.test(line))).toBeLessThan(
      printed.findIndex((line) => line.startsWith('echo:')),
    );
  });

  it('stops at /quit without sending the rest', async () => {
    const input = new PassThrough();
    const printed: string[] = [];
    const done = runEchoClient({ host: '127.0.0.1', port, input, print: (line) => printed.push(line) });
    input.write('kept\n/quit\nnever sent\n');
    expect(await done).toBe(0);
    expect(printed.filter((line) => line.startsWith('echo:'))).toEqual(['echo: kept']);
    input.destroy();
  });

  it('fails with a clear error when no server listens', async () => {
    await server.close();
    const closedPort = port;
    server = createEchoServer({ log: () => {} });
    ({ port } = await server.listen('127.0.0.1', 0));
    await expect(
      runEchoClient({ host: '127.0.0.1', port: closedPort, input: new PassThrough(), print: () => {} }),
    ).rejects.toThrow(/ECONNREFUSED/);
  });
});
