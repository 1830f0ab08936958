import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { FrameClient } from '#shared/test-kit/frame-client';
import type { ServerFrame } from '#shared';
import type { ChatServer } from '#stage3/chat-server';
import { Hub } from '#stage3/hub';
import { RecordingOutbox } from '#stage3/recording-outbox';
import { createRoutingServer, registerRouting } from '../src/routing-server.ts';

// What a terminal would act on, decoded from the JSON: none of it may come back in a server's text.
const ACTIVE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/u;

let server: ChatServer;
let port = 0;
const clients: FrameClient[] = [];

async function login(name: string, features?: string[]): Promise<FrameClient> {
  const client = await FrameClient.loginAs('127.0.0.1', port, name, features);
  clients.push(client);
  return client;
}

const answered = (frame: ServerFrame) => frame.ERROR !== undefined || frame.INFO !== undefined;

beforeEach(async () => {
  server = createRoutingServer({ workers: 0, log: () => {} });
  ({ port } = await server.listen('127.0.0.1', 0));
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await server.close();
});

describe('stage 4: client input quoted back inert, over real sockets (issue 13)', () => {
  it.each([
    ['ESC (clear screen)', 'bo\u001b[2Jb', 'bo\\x1b[2Jb'],
    ['an OSC title ended by BEL', '\u001b]0;pwned\u0007', '\\x1b]0;pwned\\x07'],
    ['a C1 CSI and NUL', 'b\u009b2J\u0000', 'b\\x9b2J\\x00'],
    ['a newline forging an INFO line', 'x\nINFO: y', 'x\\nINFO: y'],
    ['a bidi override and a zero-width space', 'bob\u202e\u200b', 'bob\\u202e\\u200b'],
  ])('spells out %s in a DEST', async (_what, dest, quoted) => {
    const alice = await login('alice');
    alice.send({ MESSAGES: [['alice', dest, 0, 'hello?']] });
    const { ERROR } = await alice.nextMatching(answered);
    expect(ERROR).toBe(
      `nobody called ${quoted} has been here since the server started: your message was not delivered`,
    );
    expect(ERROR).not.toMatch(ACTIVE);
  });

  it('answers a spoofed SRC with the SRC spelled out: no forged INFO line', async () => {
    const alice = await login('alice');
    alice.send({ MESSAGES: [['alice\nINFO: x', 'ALL', 0, 'hi']] });
    const { ERROR } = await alice.nextMatching(answered);
    expect(ERROR).toBe('SRC must be your own username: you are alice, not alice\\nINFO: x');
  });

  it('spells out an unknown key', async () => {
    const alice = await login('alice');
    alice.sendPayload('{"\\u001b[31mRED\\u0007":1}');
    const { ERROR } = await alice.nextMatching(answered);
    expect(ERROR).toBe('unknown key: "\\x1b[31mRED\\x07"');
  });

  it('spells out the name of a WHO, in the INFO and in the WHO answer', async () => {
    const plain = await login('alice');
    plain.send({ WHO: 'e\u001b]52;c;Zm9v\u0007ve' });
    expect((await plain.nextMatching(answered)).INFO).toBe(
      'nobody called e\\x1b]52;c;Zm9v\\x07ve has been here since the server started',
    );
    const modern = await login('bob', ['WHO']);
    modern.send({ WHO: 'eve\r\n' });
    const answer = await modern.nextMatching((frame) => frame.WHO !== undefined);
    expect(answer.WHO).toEqual({ name: 'eve\\r\\n', online: false, lastSeen: null, known: false });
  });

  it('cuts a long hostile DEST short', async () => {
    const alice = await login('alice');
    alice.send({ MESSAGES: [['alice', '\u001b'.repeat(200), 0, 'x']] });
    const { ERROR } = await alice.nextMatching(answered);
    expect(ERROR).toContain(`nobody called ${'\\x1b'.repeat(9)}… has been here`);
  });

  it('answers a null payload "got null"', async () => {
    const alice = await login('alice');
    alice.sendPayload('null');
    expect((await alice.nextMatching(answered)).ERROR).toBe('payload must be a JSON object: got null');
  });
});

describe('stage 4: routing hub quotes an undelivered preview inert', () => {
  it('spells out the content of a DM that never reached its recipient', () => {
    const outbox = new RecordingOutbox();
    const hub = new Hub({ outbox, welcome: 'hi' });
    registerRouting(hub);
    hub.login(1, 'alice', []);
    hub.login(2, 'bob', []);
    outbox.take(1);
    hub.dispatch(1, { kind: 'chat', messages: [['alice', 'bob', 0, 'hi\u001b[2J\nINFO: fake']] });
    outbox.lose(2);
    expect(outbox.take(1)).toEqual([
      {
        ERROR: 'bob left before your message reached them: "hi\\x1b[2J\\nINFO: fake" was not delivered',
      },
    ]);
  });
});
