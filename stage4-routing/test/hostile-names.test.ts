import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { FrameClient } from '#shared/test-kit/frame-client';
import { LOOKALIKES_OF_ONLINE_USERS } from '#shared/test-kit/lookalike-names';
import type { ChatServer } from '#stage3/chat-server';
import { createRoutingServer } from '../src/routing-server.ts';

let server: ChatServer;
let port = 0;
const clients: FrameClient[] = [];

async function connect(): Promise<FrameClient> {
  const client = await FrameClient.connect('127.0.0.1', port);
  clients.push(client);
  return client;
}

async function login(name: string): Promise<FrameClient> {
  const client = await FrameClient.loginAs('127.0.0.1', port, name);
  clients.push(client);
  return client;
}

/** The answer to a USERNAME on `client`. */
async function claim(client: FrameClient, name: string) {
  client.send({ USERNAME: name });
  return client.nextMatching((frame) => frame.USERNAME_ACCEPTED !== undefined);
}

beforeEach(async () => {
  server = createRoutingServer({ workers: 0, log: () => {} });
  ({ port } = await server.listen('127.0.0.1', 0));
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await server.close();
});

describe('stage 4: look-alike names over real sockets (issue 13)', () => {
  it.each(LOOKALIKES_OF_ONLINE_USERS)(
    'refuses %s (%j) while alice and bob are online, naming %s',
    async (_what, name, real) => {
      await login('alice');
      await login('bob');
      const mallory = await connect();
      expect(await claim(mallory, name)).toEqual({
        USERNAME_ACCEPTED: false,
        INFO: `the name ${name} is too similar to ${real}: pick another`,
      });
      // The connection may try again, and an honest name is still welcome.
      expect((await claim(mallory, 'mallory')).USERNAME_ACCEPTED).toBe(true);
    },
  );

  it('refuses every look-alike of the list on one connection, one after another', async () => {
    await login('alice');
    await login('bob');
    const mallory = await connect();
    for (const [, name, real] of LOOKALIKES_OF_ONLINE_USERS) {
      const answer = await claim(mallory, name);
      expect(answer.USERNAME_ACCEPTED).toBe(false);
      expect(answer.INFO).toContain(`too similar to ${real}`);
    }
  });

  it('says "taken" for the same name in another case or width', async () => {
    await login('alice');
    const other = await connect();
    expect((await claim(other, 'ALICE')).INFO).toBe('the name ALICE is taken: pick another');
    expect((await claim(other, 'Alice')).INFO).toBe('the name Alice is taken: pick another');
  });

  it('works the other way round: the real name is refused while a look-alike holds it', async () => {
    await login('b\u0585b');
    const bob = await connect();
    expect(await claim(bob, 'bob')).toEqual({
      USERNAME_ACCEPTED: false,
      INFO: 'the name bob is too similar to b\u0585b: pick another',
    });
  });

  it('refuses with CODE ERR_NAME_TAKEN to a client that asked for codes', async () => {
    await login('bob');
    const mallory = await connect();
    mallory.send({ USERNAME: 'ʙᴏʙ', FEATURES: ['CODE'] });
    expect(await mallory.nextMatching((frame) => frame.USERNAME_ACCEPTED !== undefined)).toEqual({
      USERNAME_ACCEPTED: false,
      INFO: 'the name ʙᴏʙ is too similar to bob: pick another',
      CODE: 'ERR_NAME_TAKEN',
    });
  });

  it('delivers a DM addressed to a look-alike of bob to bob (the key is one identity)', async () => {
    const alice = await login('alice');
    const bob = await login('bob');
    alice.send({ MESSAGES: [['alice', 'b\u0585b', 0, 'hi']] });
    const got = await bob.nextMatching((frame) => frame.MESSAGES !== undefined);
    expect(got.MESSAGES).toEqual([['alice', 'bob', expect.any(Number), 'hi']]);
  });
});
