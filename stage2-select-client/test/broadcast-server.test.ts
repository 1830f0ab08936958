import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { MAX_CONTENT_BYTES, MAX_FRAME_BYTES, stringifyAscii, type ChatMessage } from '#shared';
import { FrameClient } from '#shared/test-kit/frame-client';
import { HISTORY_MESSAGES, createBroadcastServer, type BroadcastServer } from '../src/broadcast-server.ts';

describe('stage 2: broadcast server over real sockets', () => {
  let server: BroadcastServer;
  let port: number;
  const clients: FrameClient[] = [];
  const connect = async () => {
    const client = await FrameClient.connect('127.0.0.1', port);
    clients.push(client);
    return client;
  };
  /** A raw client logged in as `name`, its login answer taken. */
  const join = async (name: string) => {
    const client = await connect();
    client.send({ USERNAME: name });
    expect((await client.next())?.USERNAME_ACCEPTED).toBe(true);
    return client;
  };

  beforeEach(async () => {
    server = createBroadcastServer({ log: () => {} });
    ({ port } = await server.listen('127.0.0.1', 0));
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy();
    await server.close();
  });

  it('accepts a login with INFO, USER_LIST and MESSAGES, and no extension key for a base client', async () => {
    await join('bob');
    const alice = await connect();
    alice.send({ USERNAME: 'alice' });
    const answer = await alice.next();
    expect(answer).toEqual({
      USERNAME_ACCEPTED: true,
      INFO: expect.any(String),
      USER_LIST: ['bob', 'alice'],
      MESSAGES: [],
    });
  });

  it('tells the others who joined and who left, but not the user itself', async () => {
    const bob = await join('bob');
    const alice = await join('alice');
    expect(await bob.next()).toEqual({ USERS_JOINED: ['alice'] });
    alice.close();
    expect(await bob.next()).toEqual({ USERS_LEFT: ['alice'] });
    expect(await bob.expectSilence(50)).toBeUndefined();
  });

  it('refuses a taken name whatever its case or width, and lets the client retry on the same connection', async () => {
    await join('Bob');
    const client = await connect();
    for (const name of ['bob', 'BOB', 'ＢＯＢ', 'bоb' /* Cyrillic о */]) {
      client.send({ USERNAME: name });
      const answer = await client.next();
      expect(answer).toEqual({ USERNAME_ACCEPTED: false, INFO: expect.any(String) });
    }
    client.send({ USERNAME: 'bobby' });
    expect((await client.next())?.USERNAME_ACCEPTED).toBe(true);
  });

  it('lets exactly one of 20 clients racing for the same name (in any case or width) win', async () => {
    const racers = await Promise.all(Array.from({ length: 20 }, connect));
    const spellings = ['Bob', 'bob', 'BOB', 'ＢＯＢ'];
    racers.forEach((racer, index) =>
      racer.send({ USERNAME: spellings[index % spellings.length].normalize('NFKC') }),
    );
    const answers = await Promise.all(racers.map((racer) => racer.next()));
    expect(answers.filter((answer) => answer?.USERNAME_ACCEPTED === true)).toHaveLength(1);
  });

  it('refuses invalid names with the reason', async () => {
    const client = await connect();
    for (const [name, reason] of [
      ['ALL', /reserved/],
      ['#group', /cannot start with #/],
      ['evil\x1b[2J', /no spaces, controls/],
      ['', /empty/],
      ['ＢＯＢ', /NFKC/],
      ['__proto__', undefined],
    ] as const) {
      client.send({ USERNAME: name });
      const answer = await client.next();
      if (reason) expect(answer).toEqual({ USERNAME_ACCEPTED: false, INFO: expect.stringMatching(reason) });
      else expect(answer?.USERNAME_ACCEPTED).toBe(true); // a valid name here, and harmless: the table is a Map
    }
  });

  it('broadcasts a public message to everyone, its sender included, with the server time', async () => {
    const alice = await join('alice');
    const bob = await join('bob');
    await alice.next(); // USERS_JOINED bob
    const before = Math.floor(Date.now() / 1000);
    alice.send({ MESSAGES: [['alice', 'ALL', 1, 'hi all']] });
    for (const client of [alice, bob]) {
      const frame = await client.next();
      expect(frame).toEqual({ MESSAGES: [['alice', 'ALL', expect.any(Number), 'hi all']] });
      expect(frame!.MESSAGES![0][2]).toBeGreaterThanOrEqual(before);
    }
  });

  it('refuses a spoofed SRC with ERROR and delivers nothing of that frame', async () => {
    const alice = await join('alice');
    const bob = await join('bob');
    await alice.next();
    alice.send({
      MESSAGES: [
        ['alice', 'ALL', 1, 'real'],
        ['bob', 'ALL', 1, 'fake'],
      ],
    });
    expect((await alice.next())?.ERROR).toMatch(/SRC must be your own username/);
    expect(await bob.expectSilence(100)).toBeUndefined();
  });

  it('answers a private message with an ERROR saying they arrive in stage 4, and delivers nothing', async () => {
    const alice = await join('alice');
    const bob = await join('bob');
    await alice.next();
    alice.send({ MESSAGES: [['alice', 'bob', 1, 'psst']] });
    expect(await alice.next()).toEqual({
      ERROR: expect.stringMatching(/private messages arrive in stage 4/),
    });
    expect(await bob.expectSilence(100)).toBeUndefined();
  });

  it('adds the CODE extension key to errors only for a client that asked for it', async () => {
    const client = await connect();
    client.send({ USERNAME: 'coded', FEATURES: ['CODE', 'SOMETHING_ELSE'] });
    expect(await client.next()).toMatchObject({ USERNAME_ACCEPTED: true, FEATURES: ['CODE'] });
    client.send({ MESSAGES: [['coded', 'bob', 1, 'psst']] });
    expect(await client.next()).toEqual({ ERROR: expect.any(String), CODE: 'ERR_DEST_UNSUPPORTED' });
  });

  it('answers FEATURES without USERNAME with ERR_BAD_TYPE, as stage 3 does, and delivers nothing of the frame', async () => {
    const client = await connect();
    client.send({ USERNAME: 'coded', FEATURES: ['CODE'] });
    expect((await client.next())?.USERNAME_ACCEPTED).toBe(true);
    client.send({ FEATURES: ['CODE'], MESSAGES: [['coded', 'ALL', 1, 'riding along']] });
    expect(await client.next()).toEqual({ ERROR: expect.any(String), CODE: 'ERR_BAD_TYPE' });
    expect(await client.expectSilence(100)).toBeUndefined();
  });

  it('splits a broadcast that escaping makes larger than a frame, and delivers all of it, in order', async () => {
    const alice = await join('alice');
    const bob = await join('bob');
    await alice.next(); // USERS_JOINED bob
    // 6 messages of (almost) 64 KiB of raw UTF-8 each: 393 kB as sent, but an emoji is 12 bytes
    // (\ud83d\ude00) once escaped, so 1.18 MB: more than one frame may hold.
    const contents = Array.from({ length: 6 }, (_, i) => `${i}${'😀'.repeat(16_383)}`);
    for (const content of contents) expect(Buffer.byteLength(content)).toBeLessThanOrEqual(MAX_CONTENT_BYTES);
    alice.sendPayload(
      JSON.stringify({ MESSAGES: contents.map((content): ChatMessage => ['alice', 'ALL', 1, content]) }),
    );
    for (const client of [alice, bob]) {
      const received: string[] = [];
      let frames = 0;
      while (received.length < contents.length) {
        const frame = await client.next();
        expect(frame).toEqual({ MESSAGES: expect.any(Array) }); // no ERROR
        expect(stringifyAscii(frame).length).toBeLessThanOrEqual(MAX_FRAME_BYTES);
        received.push(...frame!.MESSAGES!.map(([, , , content]) => content));
        frames++;
      }
      expect(frames).toBeGreaterThan(1);
      expect(received).toEqual(contents);
    }
  });

  it('answers everything a client sent before it half-closed, even frames the rate limit still held, then closes', async () => {
    const bob = await join('bob');
    const client = await connect();
    client.send({ USERNAME: 'hal' });
    for (let i = 0; i < 24; i++) client.send({ MESSAGES: [['hal', 'ALL', 1, `m${i}`]] }); // 25 frames: over the burst of 20
    client.sendPayload('not json');
    client.close(); // FIN: no more from this client, but it still reads
    const answers = [];
    for (let frame = await client.next(); frame; frame = await client.next()) answers.push(frame);
    expect(answers[0]?.USERNAME_ACCEPTED).toBe(true);
    expect(answers.flatMap((frame) => frame.MESSAGES ?? []).map(([, , , content]) => content)).toEqual(
      Array.from({ length: 24 }, (_, i) => `m${i}`),
    );
    expect(answers.at(-1)?.ERROR).toMatch(/not valid JSON/);
    expect(client.isClosed).toBe(true);
    expect(await bob.nextMatching((frame) => frame.USERS_LEFT !== undefined)).toEqual({
      USERS_LEFT: ['hal'],
    });
  });

  it('replays the last 100 public messages, oldest first, to a user who logs in later', async () => {
    const alice = await join('alice');
    const messages: ChatMessage[] = Array.from({ length: HISTORY_MESSAGES + 5 }, (_, i) => [
      'alice',
      'ALL',
      1,
      `m${i}`,
    ]);
    alice.send({ MESSAGES: messages.slice(0, 100) }); // at most 100 per frame
    alice.send({ MESSAGES: messages.slice(100) });
    await alice.next();
    await alice.next();
    const carol = await connect();
    carol.send({ USERNAME: 'carol' });
    const history = (await carol.next())?.MESSAGES ?? [];
    expect(history.map(([, , , content]) => content)).toEqual(
      messages.slice(5).map(([, , , content]) => content),
    );
  });

  it('keeps the history small enough for the login answer to fit in one frame', async () => {
    const alice = await join('alice');
    const big = 'é'.repeat(30_000); // 60 kB of UTF-8, 180 kB once \u-escaped on the wire
    for (let i = 0; i < 12; i++) {
      alice.send({ MESSAGES: [['alice', 'ALL', 1, big]] });
      await alice.next();
    }
    const carol = await connect();
    carol.send({ USERNAME: 'carol' });
    const answer = await carol.next();
    expect(answer?.USERNAME_ACCEPTED).toBe(true);
    expect(answer!.MESSAGES!.length).toBeGreaterThan(0);
    expect(answer!.MESSAGES!.length).toBeLessThan(12);
    expect(JSON.stringify(answer).length).toBeLessThan(MAX_FRAME_BYTES);
  });

  it('answers MESSAGES before login, a second login and invalid frames with ERROR, and keeps the connection', async () => {
    const client = await connect();
    client.send({ MESSAGES: [['x', 'ALL', 1, 'early']] });
    expect((await client.next())?.ERROR).toMatch(/log in with USERNAME first/);
    client.sendPayload('not json');
    expect((await client.next())?.ERROR).toMatch(/not valid JSON/);
    client.send({ HELLO: 1 });
    expect((await client.next())?.ERROR).toMatch(/unknown key/);
    client.send({ FEATURES: ['CODE'] });
    expect((await client.next())?.ERROR).toMatch(/wrong type: FEATURES is sent together with USERNAME/);
    client.send({ USERNAME: 'kim' });
    expect((await client.next())?.USERNAME_ACCEPTED).toBe(true);
    client.send({ USERNAME: 'kim2' });
    expect((await client.next())?.ERROR).toMatch(/already logged in/);
  });

  it('handles a login and a message riding in one frame, login first', async () => {
    const client = await connect();
    client.send({ MESSAGES: [['lee', 'ALL', 1, 'piggy-backed']], USERNAME: 'lee' });
    expect((await client.next())?.USERNAME_ACCEPTED).toBe(true);
    expect((await client.next())?.MESSAGES?.[0][3]).toBe('piggy-backed');
  });

  it('says goodbye with an ERROR and closes on a framing error (a length over the limit)', async () => {
    const client = await join('mia');
    client.sendRaw(Buffer.from([0x7f, 0xff, 0xff, 0xff]));
    expect((await client.next())?.ERROR).toMatch(/exceeds the limit/);
    expect(await client.waitClosed()).toBe(true);
  });
});
