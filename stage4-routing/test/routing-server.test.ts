import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { type ServerFrame } from '#shared';
import { FrameClient } from '#shared/test-kit/frame-client';
import type { ChatServer, ChatServerOptions } from '#stage3/chat-server';
import { rememberedBytes } from '../src/features/presence.ts';
import { createRoutingServer, type RoutingOptions } from '../src/routing-server.ts';

let server: ChatServer | undefined;
let workers = 2;
let port = 0;
let log: string[] = [];
const clients: FrameClient[] = [];

async function start(options: Omit<ChatServerOptions, 'features'> & RoutingOptions = {}): Promise<void> {
  log = [];
  server = createRoutingServer({ workers, log: (line) => log.push(line), ...options });
  ({ port } = await server.listen('127.0.0.1', 0));
}

async function login(name: string, features?: string[]): Promise<FrameClient> {
  const client = await FrameClient.loginAs('127.0.0.1', port, name, features);
  clients.push(client);
  return client;
}

const errorFrame = (frame: ServerFrame) => frame.ERROR !== undefined;
const dm = (client: FrameClient, from: string, to: string, content: string) =>
  client.send({ MESSAGES: [[from, to, 0, content]] });

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await server?.close();
  server = undefined;
});

// Every case runs with sessions on worker threads and inline: the behaviour must not depend on it.
for (const mode of [2, 0]) {
  describe(`stage 4: routing server over real sockets (workers ${mode})`, () => {
    beforeEach(() => {
      workers = mode;
    });

    it('routes a private message to its recipient only; a third user sees nothing', async () => {
      await start();
      const alice = await login('alice');
      const bob = await login('bob');
      const carol = await login('carol');
      dm(alice, 'alice', 'bob', 'for your eyes only');
      const got = await bob.nextMatching((frame) => frame.MESSAGES !== undefined);
      expect(got.MESSAGES).toEqual([['alice', 'bob', expect.any(Number), 'for your eyes only']]);
      alice.send({ MESSAGES: [['alice', 'ALL', 0, 'marker']] }); // carol's next message must be this one
      const next = await carol.nextMatching((frame) => frame.MESSAGES !== undefined);
      expect(next.MESSAGES?.[0][3]).toBe('marker');
    });

    it('answers each kind of absence clearly: never here, left (with last seen), and WHO', async () => {
      await start();
      const alice = await login('alice', ['CODE', 'WHO']);
      const bob = await login('bob');
      dm(alice, 'alice', 'dave', 'hello?');
      expect(await alice.nextMatching(errorFrame)).toMatchObject({
        CODE: 'ERR_UNKNOWN_USER',
        ERROR: expect.stringMatching(/dave/),
      });
      bob.close();
      await alice.nextMatching((frame) => frame.USERS_LEFT !== undefined);
      dm(alice, 'alice', 'bob', 'come back');
      expect(await alice.nextMatching(errorFrame)).toMatchObject({
        CODE: 'ERR_USER_OFFLINE',
        ERROR: expect.stringMatching(/bob is not online: last seen/),
      });
      alice.send({ WHO: 'bob' });
      const who = await alice.nextMatching((frame) => frame.WHO !== undefined);
      expect(who.WHO).toEqual({ name: 'bob', online: false, lastSeen: expect.any(Number), known: true });
    });

    it('gives a base-protocol client the same answers without extension keys', async () => {
      await start();
      const plain = await login('plain');
      dm(plain, 'plain', 'ghost', 'boo');
      const answer = await plain.nextMatching(errorFrame);
      expect(Object.keys(answer)).toEqual(['ERROR']);
      expect(answer.ERROR).toMatch(/ghost/);
    });

    it('refuses a spoofed sender and delivers nothing', async () => {
      await start();
      const mallory = await login('mallory');
      const bob = await login('bob');
      dm(mallory, 'alice', 'bob', 'it is me, alice');
      expect((await mallory.nextMatching(errorFrame)).ERROR).toMatch(/SRC/);
      expect(await bob.expectSilence(300)).toBeUndefined();
    });

    it('refuses hostile and look-alike names', async () => {
      await start();
      await login('bob');
      const client = await FrameClient.connect('127.0.0.1', port);
      clients.push(client);
      for (const name of [
        'b\u043eb',
        'bob\u202e',
        'bo\u200bb',
        'bob\n',
        '\u001b[31mbob',
        'ALL',
        '#room',
        '',
      ]) {
        client.send({ USERNAME: name });
        const answer = await client.nextMatching((frame) => frame.USERNAME_ACCEPTED !== undefined);
        expect({ name, accepted: answer.USERNAME_ACCEPTED }).toEqual({ name, accepted: false });
      }
      client.send({ USERNAME: '__proto__' });
      expect(
        (await client.nextMatching((frame) => frame.USERNAME_ACCEPTED !== undefined)).USERNAME_ACCEPTED,
      ).toBe(true);
    });

    it('drops a recipient too slow to keep up and tells the sender what was not delivered', async () => {
      await start({ rateLimit: null, maxQueuedBytes: 256 * 1024 });
      const alice = await login('alice', ['CODE']);
      const bob = await login('bob');
      bob.socket.pause(); // bob never reads again
      const big = 'y'.repeat(60_000);
      let error: ServerFrame | undefined;
      for (let i = 0; i < 200 && !error; i++) {
        dm(alice, 'alice', 'bob', `${i} ${big}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
        error = alice.buffered.find(errorFrame);
      }
      const first = error ?? (await alice.nextMatching(errorFrame));
      expect(['ERR_UNDELIVERED', 'ERR_USER_OFFLINE']).toContain(first.CODE);
      expect(log.some((line) => /\(bob\) disconnected: ERR_SLOW_CONSUMER/.test(line))).toBe(true);
    });

    it('tells a recipient dropped for not keeping up why: once it reads, whole frames, then ERR_SLOW_CONSUMER, then the end', async () => {
      await start({ rateLimit: null, maxQueuedBytes: 256 * 1024 });
      const alice = await login('alice');
      const bob = await login('bob', ['CODE']);
      bob.socket.pause(); // bob stops reading
      const big = 'b'.repeat(60_000);
      const dropped = () => log.some((line) => /\(bob\) disconnected: ERR_SLOW_CONSUMER/.test(line));
      for (let i = 0; i < 400 && !dropped(); i++) {
        alice.send({ MESSAGES: [['alice', 'ALL', 0, `${i} ${big}`]] });
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(dropped()).toBe(true);
      // bob reads again, later than the 2 s any other close gives: a dropped slow consumer gets 10 s.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      bob.socket.resume();
      expect(await bob.waitClosed(10_000)).toBe(true);
      expect(bob.framingError).toBeUndefined(); // no frame cut short, no reset
      const frames = [...bob.buffered];
      expect(frames.at(-1)).toMatchObject({ CODE: 'ERR_SLOW_CONSUMER', ERROR: expect.any(String) });
      const broadcasts = frames.slice(0, -1).filter((frame) => frame.MESSAGES);
      expect(broadcasts.length).toBeGreaterThan(0);
      // In order from the first, with none missing before the drop.
      expect(broadcasts.map((frame) => Number(frame.MESSAGES![0][3].split(' ')[0]))).toEqual(
        broadcasts.map((_, i) => i),
      );
    });

    it('bounds the last-seen table in bytes: past the budget the oldest departures are forgotten', async () => {
      const names = ['user0', 'user1', 'user2', 'user3', 'user4'];
      await start({ presenceMaxBytes: 3 * rememberedBytes('user0', 'user0') });
      const watcher = await login('watcher', ['WHO']);
      for (const name of names) {
        const client = await login(name);
        client.close();
        await watcher.nextMatching((frame) => frame.USERS_LEFT?.[0] === name);
      }
      const known: boolean[] = [];
      for (const name of names) {
        watcher.send({ WHO: name });
        known.push((await watcher.nextMatching((frame) => frame.WHO !== undefined)).WHO!.known);
      }
      expect(known).toEqual([false, false, true, true, true]);
    });

    it('stays consistent when a recipient vanishes mid-burst: nothing answered twice, later messages answered offline', async () => {
      await start({ rateLimit: null });
      const alice = await login('alice', ['CODE']);
      const bob = await login('bob');
      const frames = Array.from({ length: 50 }, (_, i) => ({
        MESSAGES: [['alice', 'bob', 0, `burst ${i}`]],
      }));
      for (const frame of frames) alice.send(frame);
      await bob.nextMatching((frame) => frame.MESSAGES !== undefined);
      bob.socket.resetAndDestroy();
      const received = 1 + bob.buffered.filter((frame) => frame.MESSAGES).length;
      await alice.nextMatching((frame) => frame.USERS_LEFT !== undefined, 5_000);
      const answered = alice.buffered.filter(errorFrame);
      // Whatever bob had not been handed is answered; the rest reached bob's side of the connection.
      expect(received + answered.length).toBeLessThanOrEqual(50);
      dm(alice, 'alice', 'bob', 'after');
      expect((await alice.nextMatching((frame) => frame.CODE === 'ERR_USER_OFFLINE')).ERROR).toMatch(/bob/);
      expect(server!.hub.onlineCount).toBe(1);
    });
  });
}
