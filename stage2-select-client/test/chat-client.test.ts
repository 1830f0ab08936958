import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import net from 'node:net';
import { FrameDecoder, MAX_CONTENT_BYTES, decodePayload, encodeFrame, frameBytes } from '#shared';
import { ChatClient } from '../src/chat-client.ts';
import { messageWithText, nextEvent, startChat } from './chat-fixture.ts';

describe('stage 2: ChatClient against the broadcast server', () => {
  let chat: Awaited<ReturnType<typeof startChat>>;
  beforeEach(async () => {
    chat = await startChat();
  });
  afterEach(() => chat.stop());

  it('logs in and gets the user list (itself included), the history and no features it did not ask for', async () => {
    const bob = await chat.join('bob');
    bob.sendPublic('earlier');
    await messageWithText(bob, 'earlier');
    const alice = await chat.connect();
    const result = await alice.login('alice');
    expect(result).toMatchObject({ accepted: true, features: [] });
    expect(result.info).toMatch(/welcome/);
    expect(result.users.sort()).toEqual(['alice', 'bob']);
    expect(result.history.map(([src, dest, , content]) => [src, dest, content])).toEqual([
      ['bob', 'ALL', 'earlier'],
    ]);
    expect(alice.name).toBe('alice');
    expect([...alice.users].sort()).toEqual(['alice', 'bob']);
  });

  it('sends the name in NFKC form, so a full-width name logs in as its plain form', async () => {
    const client = await chat.connect();
    expect((await client.login('ａｌｉｃｅ')).accepted).toBe(true);
    expect(client.name).toBe('alice');
  });

  it('reports a refusal with the reason and can retry on the same connection', async () => {
    await chat.join('bob');
    const client = await chat.connect();
    const refused = await client.login('BOB');
    expect(refused).toEqual({
      accepted: false,
      info: expect.stringMatching(/taken/),
      users: [],
      history: [],
      features: [],
    });
    expect(client.name).toBeUndefined();
    expect((await client.login('carol')).accepted).toBe(true);
    expect(client.name).toBe('carol');
  });

  it('sends FEATURES only when asked, and returns what the server answered', async () => {
    const client = await chat.connect();
    const frames = nextEvent(client, 'frame');
    const result = await client.login('dave', ['CODE', 'TELEPORT']);
    expect(result.features).toEqual(['CODE']);
    expect((await frames)[0].FEATURES).toEqual(['CODE']);
  });

  it('keeps the user set current from USERS_JOINED and USERS_LEFT, with an event for each', async () => {
    const alice = await chat.join('alice');
    const joined = nextEvent(alice, 'joined');
    const bob = await chat.join('bob');
    expect((await joined)[0]).toEqual(['bob']);
    expect(alice.users.has('bob')).toBe(true);
    const left = nextEvent(alice, 'left');
    await bob.close();
    expect((await left)[0]).toEqual(['bob']);
    expect([...alice.users]).toEqual(['alice']);
  });

  it('delivers a public message to everyone, its sender included, stamped with the server time', async () => {
    const alice = await chat.join('alice');
    const bob = await chat.join('bob');
    const before = Math.floor(Date.now() / 1000);
    const toBob = nextEvent(bob, 'message');
    const toAlice = nextEvent(alice, 'message');
    const sent = alice.sendPublic('hello, all ✓');
    expect(sent.slice(0, 2)).toEqual(['alice', 'ALL']);
    const [atBob, bobPrivate] = await toBob;
    const [atAlice] = await toAlice;
    expect(atBob).toEqual(atAlice);
    expect(atBob).toEqual(['alice', 'ALL', expect.any(Number), 'hello, all ✓']);
    expect(atBob[2]).toBeGreaterThanOrEqual(before);
    expect(bobPrivate).toBe(false);
  });

  it('turns the stage 2 refusal of a private message into a serverError event, with the CODE when asked', async () => {
    const plain = await chat.join('plain');
    plain.sendPrivate('bob', 'psst');
    expect(await nextEvent(plain, 'serverError')).toEqual([expect.stringMatching(/stage 4/), undefined]);
    const coded = await chat.connect();
    await coded.login('coded', ['CODE']);
    coded.sendPrivate('plain', 'psst');
    expect(await nextEvent(coded, 'serverError')).toEqual([
      expect.stringMatching(/stage 4/),
      'ERR_DEST_UNSUPPORTED',
    ]);
  });

  it('refuses to send before login, or a message over the content limit', async () => {
    const client = await chat.connect();
    expect(() => client.sendPublic('too early')).toThrow(/log in/);
    await client.login('erin');
    expect(() => client.sendPublic('x'.repeat(MAX_CONTENT_BYTES + 1))).toThrow(/too long/);
  });

  it('sends extension frames as they are with sendFrame', async () => {
    const client = await chat.join('frank');
    client.sendFrame({ WHO: 'bob' });
    expect((await nextEvent(client, 'serverError'))[0]).toMatch(/WHO is not offered/);
  });

  it('says why the connection closed when the server shuts down', async () => {
    const client = await chat.join('gina');
    const error = nextEvent(client, 'serverError');
    const closed = nextEvent(client, 'close');
    await chat.server.close();
    expect((await error)[0]).toMatch(/shutting down/);
    await closed;
    expect(client.isOpen).toBe(false);
  });
});

describe('stage 2: ChatClient against a foreign server (raw bytes)', () => {
  let server: net.Server;
  let port: number;
  let peer: net.Socket | undefined;
  const accepted = () =>
    new Promise<net.Socket>((resolve) =>
      server.once('connection', (socket) => {
        peer = socket;
        resolve(socket);
      }),
    );

  beforeEach(async () => {
    server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  afterEach(async () => {
    peer?.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('turns an invalid frame into an error event, never a crash, and keeps reading', async () => {
    const connection = accepted();
    const client = await ChatClient.connect('127.0.0.1', port);
    const socket = await connection;
    const errors: string[] = [];
    client.on('error', (error) => errors.push(error.code));
    socket.write(
      Buffer.concat([
        frameBytes('not json'),
        frameBytes(Buffer.from([0xff, 0xfe])),
        frameBytes('[1,2]'),
        encodeFrame({ MESSAGES: [['x', 'ALL', 'yesterday', 'bad timestamp']] }),
        encodeFrame({ INFO: 'still fine', FUTURE_KEY: 1 }),
      ]),
    );
    expect(await nextEvent(client, 'info')).toEqual(['still fine']);
    expect(errors).toEqual(['ERR_BAD_JSON', 'ERR_BAD_UTF8', 'ERR_NOT_OBJECT', 'ERR_BAD_TYPE']);
    await client.close();
  });

  it('marks a message addressed to us as private, and accepts a plain ERROR as a login refusal', async () => {
    const connection = accepted();
    const client = await ChatClient.connect('127.0.0.1', port);
    const socket = await connection;
    const refusal = client.login('henry');
    socket.write(encodeFrame({ ERROR: 'no names today' }));
    expect(await refusal).toMatchObject({ accepted: false, info: 'no names today' });
    const login = client.login('henry');
    socket.write(encodeFrame({ USERNAME_ACCEPTED: true, USER_LIST: ['henry', 'ivy'] }));
    expect((await login).accepted).toBe(true);
    socket.write(encodeFrame({ MESSAGES: [['ivy', 'henry', 1732233600, 'just you']] }));
    expect(await nextEvent(client, 'message')).toEqual([['ivy', 'henry', 1732233600, 'just you'], true]);
    await client.close();
  });

  /** Decodes what the client sends to the raw server, and answers each frame with `answer(frame)`. */
  function answering(socket: net.Socket, answer: (frame: Record<string, unknown>) => object) {
    const frames: Record<string, unknown>[] = [];
    const decoder = new FrameDecoder({
      onFrame: (payload) => {
        const frame = decodePayload(payload);
        frames.push(frame);
        socket.write(encodeFrame(answer(frame)));
      },
      onError: () => socket.destroy(),
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    return frames;
  }
  /** A server that knows only the base keys and refuses any other with a plain ERROR. */
  const refusingFeatures = (frame: Record<string, unknown>) =>
    Object.hasOwn(frame, 'FEATURES')
      ? { ERROR: 'unknown key FEATURES' }
      : { USERNAME_ACCEPTED: true, INFO: 'hi', USER_LIST: [frame.USERNAME], MESSAGES: [] };

  it('retries a login once without FEATURES, on the same connection, when a server answers it with a plain ERROR', async () => {
    const connection = accepted();
    const client = await ChatClient.connect('127.0.0.1', port);
    const socket = await connection;
    const frames = answering(socket, refusingFeatures);
    const errors: string[] = [];
    client.on('serverError', (text) => errors.push(text));
    expect(await client.login('kim', ['CODE'])).toEqual({
      accepted: true,
      info: 'hi',
      users: ['kim'],
      history: [],
      features: [],
    });
    expect(frames).toEqual([{ USERNAME: 'kim', FEATURES: ['CODE'] }, { USERNAME: 'kim' }]);
    expect(client.name).toBe('kim');
    expect(errors).toEqual([]); // the ERROR was about the login's FEATURES, not something to show
    await client.close();
  });

  it('reports a refusal when the login without FEATURES is refused too, after exactly one retry', async () => {
    const connection = accepted();
    const client = await ChatClient.connect('127.0.0.1', port);
    const socket = await connection;
    const frames = answering(socket, (frame) =>
      Object.hasOwn(frame, 'FEATURES') ? { ERROR: 'unknown key FEATURES' } : { ERROR: 'no names today' },
    );
    expect(await client.login('kim', ['CODE'])).toMatchObject({ accepted: false, info: 'no names today' });
    expect(frames).toEqual([{ USERNAME: 'kim', FEATURES: ['CODE'] }, { USERNAME: 'kim' }]);
    // One retry per login: the next login on the connection starts with FEATURES again.
    expect(await client.login('lou', ['CODE'])).toMatchObject({ accepted: false, info: 'no names today' });
    expect(frames.slice(2)).toEqual([{ USERNAME: 'lou', FEATURES: ['CODE'] }, { USERNAME: 'lou' }]);
    await client.close();
  });

  it('does not retry a login with FEATURES refused by USERNAME_ACCEPTED false: that refuses the name', async () => {
    const connection = accepted();
    const client = await ChatClient.connect('127.0.0.1', port);
    const socket = await connection;
    const frames = answering(socket, () => ({ USERNAME_ACCEPTED: false, INFO: 'taken' }));
    expect(await client.login('kim', ['CODE'])).toMatchObject({ accepted: false, info: 'taken' });
    await new Promise((resolve) => setTimeout(resolve, 50)); // room for a retry that must not come
    expect(frames).toEqual([{ USERNAME: 'kim', FEATURES: ['CODE'] }]);
    await client.close();
  });

  it('fails a pending login when the connection closes, with a reason', async () => {
    const connection = accepted();
    const client = await ChatClient.connect('127.0.0.1', port);
    const socket = await connection;
    const login = client.login('jack');
    const closed = nextEvent(client, 'close');
    socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff])); // a length far over the client's limit
    await expect(login).rejects.toThrow(/closed before the login was answered: frame length exceeds/);
    expect((await closed)[0]).toMatch(/exceeds the limit/);
  });
});
