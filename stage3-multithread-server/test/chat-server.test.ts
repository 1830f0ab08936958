import { afterEach, describe, expect, it } from '@jest/globals';
import { encodeFrame, type ServerFrame } from '#shared';
import { FrameClient } from '#shared/test-kit/frame-client';
import { createChatServer, type ChatServer, type ChatServerOptions } from '../src/chat-server.ts';

let server: ChatServer | undefined;
let port = 0;
let log: string[] = [];
const clients: FrameClient[] = [];

async function start(options: ChatServerOptions): Promise<void> {
  log = [];
  server = createChatServer({ log: (line) => log.push(line), ...options });
  ({ port } = await server.listen('127.0.0.1', 0));
}

async function connect(): Promise<FrameClient> {
  const client = await FrameClient.connect('127.0.0.1', port);
  clients.push(client);
  return client;
}

async function login(name: string, features?: string[]): Promise<FrameClient> {
  const client = await FrameClient.loginAs('127.0.0.1', port, name, features);
  clients.push(client);
  return client;
}

const hasMessage = (content: string) => (frame: ServerFrame) =>
  frame.MESSAGES?.some((message) => message[3] === content) ?? false;
const say = (client: FrameClient, name: string, content: string) =>
  client.send({ MESSAGES: [[name, 'ALL', 0, content]] });

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await server?.close();
  server = undefined;
});

describe('stage 3: concurrent server over real sockets', () => {
  it('serves 200 clients connected at once: all log in and all receive a broadcast', async () => {
    await start({ workers: 2, rateLimit: null });
    const many = await Promise.all(Array.from({ length: 200 }, (_, i) => login(`user${i}`)));
    expect(server!.hub.onlineCount).toBe(200);
    say(many[123], 'user123', 'to all 200');
    const received = await Promise.all(
      many.map((client) => client.nextMatching(hasMessage('to all 200'), 10_000)),
    );
    expect(received).toHaveLength(200);
    const workersUsed = new Set(
      log
        .filter((line) => /connected, session on worker/.test(line))
        .map((line) => line.match(/worker (\d+)/)![1]),
    );
    expect(workersUsed).toEqual(new Set(['0', '1']));
  });

  it('lets exactly one of 20 clients racing for one name (in any case) win', async () => {
    await start({ workers: 2 });
    const variants = ['Bob', 'bob', 'BOB', 'bOb', 'BoB'];
    const racers = await Promise.all(Array.from({ length: 20 }, connect));
    racers.forEach((client, i) => client.send({ USERNAME: variants[i % variants.length] }));
    const answers = await Promise.all(
      racers.map((client) => client.nextMatching((frame) => frame.USERNAME_ACCEPTED !== undefined)),
    );
    expect(answers.filter((answer) => answer.USERNAME_ACCEPTED === true)).toHaveLength(1);
    expect(server!.hub.onlineCount).toBe(1);
  });

  it('keeps serving other workers and the accept loop while one session burns CPU', async () => {
    await start({ workers: 2, faultCommands: true });
    const burner = await login('burner'); // worker 0
    const other = await login('other'); // worker 1 (fewest connections)
    const placements = log
      .filter((line) => /session on worker/.test(line))
      .map((line) => line.match(/worker (\d+)/)![1]);
    expect(new Set(placements).size).toBe(2);

    say(burner, 'burner', '/burn 3000');
    await new Promise((resolve) => setTimeout(resolve, 100)); // the burn is under way on its worker
    const started = Date.now();
    say(other, 'other', 'still responsive');
    await other.nextMatching(hasMessage('still responsive'));
    const chatMs = Date.now() - started;
    const newcomer = await login('newcomer'); // accepted and placed on the idle worker
    const loginMs = Date.now() - started - chatMs;
    // Generous bounds: the point is "not 3 s", the burn's length, not a speed target.
    expect(chatMs).toBeLessThan(1_500);
    expect(loginMs).toBeLessThan(1_500);
    expect(newcomer.isClosed).toBe(false);
    await burner.nextMatching(hasMessage('/burn 3000'), 10_000); // the burner's own message arrives after its burn
  });

  it('replaces a worker that crashes: its clients are told and disconnected, the rest carry on', async () => {
    await start({ workers: 2, faultCommands: true });
    const victim = await login('victim', ['CODE']); // worker 0
    const survivor = await login('survivor'); // worker 1
    const neighbour = await login('neighbour'); // worker 0 again
    say(victim, 'victim', '/crash');
    const farewell = await victim.nextMatching((frame) => frame.ERROR !== undefined);
    expect(farewell.CODE).toBe('ERR_WORKER_CRASHED');
    expect(await victim.waitClosed()).toBe(true);
    expect((await neighbour.nextMatching((frame) => frame.ERROR !== undefined)).ERROR).toMatch(
      /session serving this connection failed/,
    );
    expect(await neighbour.waitClosed()).toBe(true);
    const left = await survivor.nextMatching((frame) => (frame.USERS_LEFT ?? []).length > 0);
    expect(left.USERS_LEFT).toEqual(expect.arrayContaining([expect.stringMatching(/victim|neighbour/)]));
    expect(log.some((line) => /worker 0 .* died/.test(line))).toBe(true);

    const late = await Promise.all(['late1', 'late2'].map((name) => login(name))); // one lands on the replacement
    say(late[0], 'late1', 'after the crash');
    say(late[1], 'late2', 'me too');
    await survivor.nextMatching(hasMessage('after the crash'));
    await survivor.nextMatching(hasMessage('me too'));
  });

  it('handles many frames coalesced in one write, in order', async () => {
    await start({ workers: 2 });
    const client = await login('alice');
    const frames = Array.from({ length: 10 }, (_, i) => ({ MESSAGES: [['alice', 'ALL', 0, `m${i}`]] }));
    client.sendRaw(
      Buffer.concat(
        frames
          .map((frame) => Buffer.from(JSON.stringify(frame)))
          .map((body) => {
            const header = Buffer.alloc(4);
            header.writeUInt32BE(body.length);
            return Buffer.concat([header, body]);
          }),
      ),
    );
    const seen: string[] = [];
    while (seen.length < 10) {
      const frame = await client.nextMatching((each) => each.MESSAGES !== undefined);
      seen.push(...frame.MESSAGES!.map((message) => message[3]));
    }
    expect(seen).toEqual(frames.map((_, i) => `m${i}`));
  });

  it('delays a flood instead of dropping it: every frame handled, in order, with one rate-limit notice', async () => {
    await start({ workers: 0, rateLimit: { burst: 5, perSecond: 100 } });
    const flooder = await login('flooder', ['CODE']);
    // One write, so the server sees one flood (however the kernel would have split 30 writes).
    const frames = Array.from({ length: 30 }, (_, i) =>
      encodeFrame({ MESSAGES: [['flooder', 'ALL', 0, `f${i}`]] }),
    );
    flooder.sendRaw(Buffer.concat(frames));
    const seen: string[] = [];
    const notices: ServerFrame[] = [];
    while (seen.length < 30) {
      const frame = await flooder.nextMatching(() => true);
      if (frame.CODE === 'ERR_RATE_LIMITED') notices.push(frame);
      seen.push(...(frame.MESSAGES ?? []).map((message) => message[3]));
    }
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => `f${i}`));
    expect(notices).toHaveLength(1);
  });

  it('drops a client that never reads at the send-queue cap; the others are unaffected', async () => {
    await start({ workers: 2, rateLimit: null, maxQueuedBytes: 256 * 1024 });
    const sleeper = await login('sleeper');
    sleeper.socket.pause(); // never reads again: the kernel buffers fill, then our queue
    const talker = await login('talker');
    const big = 'x'.repeat(60_000);
    const left: string[] = [];
    const isEcho = (i: number) => (frame: ServerFrame) => {
      left.push(...(frame.USERS_LEFT ?? []));
      return frame.MESSAGES?.[0][3].startsWith(`${i} `) ?? false;
    };
    let sent = 0;
    while (sent < 200 && left.length === 0) {
      say(talker, 'talker', `${sent} ${big}`);
      await talker.nextMatching(isEcho(sent++)); // the talker itself keeps being served
    }
    expect(log.some((line) => /\(sleeper\) disconnected: ERR_SLOW_CONSUMER/.test(line))).toBe(true);
    expect(left).toEqual(['sleeper']);
    expect(sent).toBeGreaterThan(3); // 256 KiB of queue plus the kernel's buffers filled first
  });

  it('closes a connection that never logs in, at the login deadline', async () => {
    await start({ workers: 0, loginTimeoutMs: 200 });
    const idle = await connect();
    const farewell = await idle.next(2_000);
    expect(farewell?.ERROR).toMatch(/no login/);
    expect(await idle.waitClosed()).toBe(true);
  });

  it('refuses connections beyond the cap with ERROR, and serves again once one leaves', async () => {
    await start({ workers: 0, maxConnections: 2 });
    const first = await login('one');
    await login('two');
    const third = await connect();
    expect((await third.next())?.ERROR).toMatch(/full/);
    expect(await third.waitClosed()).toBe(true);
    first.close();
    await first.closed;
    await new Promise((resolve) => setTimeout(resolve, 50));
    await login('three');
  });

  it('tells everyone when a client leaves, and frees its name', async () => {
    await start({ workers: 2 });
    const alice = await login('alice');
    const bob = await login('bob');
    bob.close();
    expect((await alice.nextMatching((frame) => frame.USERS_LEFT !== undefined)).USERS_LEFT).toEqual(['bob']);
    await login('Bob');
  });

  it('survives a broadcast that escaping makes larger than a frame: every client gets every message', async () => {
    await start({ workers: 2, rateLimit: null });
    const alice = await login('alice');
    const bob = await login('bob');
    const emoji = '\u{1F600}'.repeat(16_384); // 64 KiB in, 192 KiB out
    // Sent as raw UTF-8 (393 KB): valid, under the 1 MiB limit; only the server's escaped answer is larger.
    alice.sendPayload(
      JSON.stringify({ MESSAGES: Array.from({ length: 6 }, () => ['alice', 'ALL', 0, emoji]) }),
    );
    for (const client of [alice, bob]) {
      let got = 0;
      while (got < 6)
        got += (await client.nextMatching((frame) => frame.MESSAGES !== undefined)).MESSAGES!.length;
    }
    await login('carol'); // the server is still up
  });

  it('survives a client that resets the connection while being refused at the cap', async () => {
    await start({ workers: 0, maxConnections: 1 });
    await login('holder');
    for (let i = 0; i < 5; i++) {
      const refused = await connect();
      refused.socket.resetAndDestroy();
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    const holder2 = await connect(); // refused politely: the server is alive
    expect((await holder2.next())?.ERROR).toMatch(/full/);
  });

  for (const workers of [2, 0]) {
    it(`answers a client that sends, then half-closes, before closing (workers ${workers})`, async () => {
      await start({ workers });
      const client = await connect();
      client.send({ USERNAME: 'brief', MESSAGES: [['brief', 'ALL', 0, 'hello']] });
      // 25 more: past the 20-frame burst, so the last ones are still held by the rate limiter at the end.
      for (let i = 0; i < 25; i++) say(client, 'brief', `line ${i}`);
      client.socket.end();
      const accepted = await client.nextMatching((frame) => frame.USERNAME_ACCEPTED !== undefined);
      expect(accepted.USERNAME_ACCEPTED).toBe(true);
      await client.nextMatching(hasMessage('hello'));
      for (let i = 0; i < 25; i++) await client.nextMatching(hasMessage(`line ${i}`), 10_000);
      expect(await client.waitClosed()).toBe(true);
    });
  }

  it('accepts a login that carries keys of another implementation', async () => {
    await start({ workers: 0 });
    const client = await connect();
    client.send({ USERNAME: 'foreign', VERSION: 2, FEATURES: { any: 'shape' } });
    const answer = await client.next();
    expect(answer).toMatchObject({ USERNAME_ACCEPTED: true });
    expect(answer).not.toHaveProperty('FEATURES');
  });

  it('closes only the connection whose session throws in inline mode; the others carry on', async () => {
    await start({ workers: 0, faultCommands: true });
    const victim = await login('victim');
    const other = await login('other');
    say(victim, 'victim', '/crash');
    expect((await victim.nextMatching((frame) => frame.ERROR !== undefined)).ERROR).toMatch(
      /session serving this connection failed/,
    );
    expect(await victim.waitClosed()).toBe(true);
    say(other, 'other', 'still here');
    await other.nextMatching(hasMessage('still here'));
  });
});
