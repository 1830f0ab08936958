import { afterEach, describe, expect, it } from '@jest/globals';
import net from 'node:net';
import {
  DEST_ALL,
  FramedSocket,
  ProtocolError,
  decodePayload,
  encodeFrame,
  frameBytes,
  isProtocolError,
  parseClientFrame,
  type ChatMessage,
  type ServerFrame,
} from '#shared';
import { ProbeClient } from '#shared/conformance/probe-client';
import { runConformance, type ConformanceResult } from '#shared/conformance/run-conformance';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as net.AddressInfo).port;
}

/**
 * Another student's server as PROTOCOL-BASE.md allows it to be: the base keys only, any non-empty
 * name not online in exactly that spelling is accepted (spaces, control characters, `ALL`, and `Bob`
 * next to `bob` included), and nothing but ALL is routed. `refuseLoginExtras` makes it refuse a
 * login frame with a key besides USERNAME, which the base protocol does not allow.
 */
async function startBaseServer(options: { refuseLoginExtras?: boolean } = {}): Promise<number> {
  const online = new Map<string, FramedSocket>();
  const names = new Map<FramedSocket, string>();
  const sockets = new Set<net.Socket>();
  const history: ChatMessage[] = [];
  const send = (to: FramedSocket, frame: ServerFrame) => to.send(encodeFrame(frame));
  const everyone = (frame: ServerFrame, except?: FramedSocket) => {
    for (const each of online.values()) if (each !== except) send(each, frame);
  };

  const handle = (connection: FramedSocket, payload: Buffer) => {
    const object = decodePayload(payload);
    if (options.refuseLoginExtras && Object.keys(object).some((key) => key !== 'USERNAME'))
      throw new ProtocolError('ERR_UNKNOWN_KEY');
    const frame = parseClientFrame(object);
    if (frame.USERNAME !== undefined) {
      if (names.has(connection)) throw new ProtocolError('ERR_ALREADY_LOGGED_IN');
      const name = frame.USERNAME;
      if (name === '' || online.has(name)) {
        send(connection, { USERNAME_ACCEPTED: false, INFO: 'empty or taken' });
      } else {
        online.set(name, connection);
        names.set(connection, name);
        send(connection, {
          USERNAME_ACCEPTED: true,
          INFO: 'welcome',
          USER_LIST: [...online.keys()],
          MESSAGES: history,
        });
        everyone({ USERS_JOINED: [name] }, connection);
      }
    }
    if (frame.MESSAGES) {
      const name = names.get(connection);
      if (name === undefined) throw new ProtocolError('ERR_NOT_LOGGED_IN');
      if (frame.MESSAGES.some(([src]) => src !== name)) throw new ProtocolError('ERR_SPOOFED_SRC');
      if (frame.MESSAGES.some(([, dest]) => dest !== DEST_ALL))
        throw new ProtocolError('ERR_DEST_UNSUPPORTED');
      const now = Math.floor(Date.now() / 1000);
      const stamped = frame.MESSAGES.map(([, , , content]): ChatMessage => [name, DEST_ALL, now, content]);
      history.push(...stamped);
      everyone({ MESSAGES: stamped });
    }
  };

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const connection: FramedSocket = new FramedSocket(socket, {
      farewell: (error) => encodeFrame({ ERROR: error.message }),
      onFrame: (payload) => {
        try {
          handle(connection, payload);
        } catch (error) {
          if (!isProtocolError(error)) throw error;
          send(connection, { ERROR: error.message });
        }
      },
      onClose: () => {
        const name = names.get(connection);
        if (name === undefined) return;
        names.delete(connection);
        online.delete(name);
        everyone({ USERS_LEFT: [name] });
      },
    });
  });
  const port = await listen(server);
  cleanups.push(() => {
    for (const socket of sockets) socket.destroy();
  });
  return port;
}

const byId = (results: ConformanceResult[]) => new Map(results.map((result) => [result.id, result]));

describe('conformance kit: only the base protocol unless the profile asks for more', () => {
  it('passes a base-protocol server without Msg name rules, and skips the name-rule scenarios saying why', async () => {
    const port = await startBaseServer();
    const all = await runConformance({ host: '127.0.0.1', port });
    expect(all.filter((result) => !result.ok)).toEqual([]);
    const results = byId(all);
    for (const id of ['login.case-variant-refused', 'login.invalid-names-refused']) {
      expect(results.get(id)?.skipped).toMatch(/Msg's own name rules.*--msg-rules/);
    }
    for (const id of ['login.empty-name-refused', 'login.extra-keys-accepted', 'errors.base-keys-only']) {
      expect(results.get(id)).toEqual({ id, title: expect.any(String), ok: true, ms: expect.any(Number) });
    }
    expect(results.get('private.only-recipient')?.skipped).toMatch(/--private/);
  }, 60_000);

  it('runs the name-rule scenarios with msgNameRules, and then that server fails them', async () => {
    const port = await startBaseServer();
    const results = byId(
      await runConformance({
        host: '127.0.0.1',
        port,
        profile: { msgNameRules: true },
        only: ['login.case-variant-refused', 'login.invalid-names-refused'],
      }),
    );
    expect(results.get('login.case-variant-refused')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/is the same user as/),
    });
    expect(results.get('login.invalid-names-refused')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/a name with a space must be refused/),
    });
  });

  it('fails login.extra-keys-accepted against a server that refuses a key next to USERNAME', async () => {
    const port = await startBaseServer({ refuseLoginExtras: true });
    const [result] = await runConformance({ host: '127.0.0.1', port, only: ['login.extra-keys-accepted'] });
    expect(result).toMatchObject({
      ok: false,
      error: expect.stringMatching(/a login with an extra key must be accepted.*"ERROR":"unknown key"/),
    });
  });
});

describe('conformance kit: ProbeClient (a FrameClient that records what the server broke)', () => {
  /** A raw server that writes `bytes` to each connection as soon as it connects. */
  async function rawServer(bytes: Buffer): Promise<number> {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.end(bytes);
    });
    const port = await listen(server);
    cleanups.push(() => {
      for (const socket of sockets) socket.destroy();
    });
    return port;
  }

  it('keeps every frame in received, and records a non-object frame as a problem that ends the connection', async () => {
    const port = await rawServer(
      Buffer.concat([
        encodeFrame({ INFO: 'one' }),
        encodeFrame({ INFO: 'two' }),
        frameBytes('[1, 2]'),
        encodeFrame({ INFO: 'never seen' }),
      ]),
    );
    const probe = await ProbeClient.connect('127.0.0.1', port);
    cleanups.push(() => probe.destroy());
    expect(await probe.waitFor('INFO two', (frame) => frame.INFO === 'two', 1_000)).toEqual({ INFO: 'two' });
    expect(await probe.next(1_000)).toBeUndefined(); // closed after the bad frame
    expect(probe.received).toEqual([{ INFO: 'one' }, { INFO: 'two' }]);
    expect(probe.problems).toEqual([
      expect.stringMatching(/not a UTF-8 JSON object \(ERR_NOT_OBJECT\): \[1, 2\]$/),
    ]);
  });

  it('records a stream that ends inside a frame as a broken frame', async () => {
    const port = await rawServer(
      Buffer.concat([encodeFrame({ INFO: 'whole' }), frameBytes('{"INFO"').subarray(0, 8)]),
    );
    const probe = await ProbeClient.connect('127.0.0.1', port);
    cleanups.push(() => probe.destroy());
    expect(await probe.waitClosed(1_000)).toBe(true);
    expect(probe.received).toEqual([{ INFO: 'whole' }]);
    expect(probe.problems).toEqual([expect.stringMatching(/broken frame \(ERR_TRUNCATED\)/)]);
  });

  it('fails a scenario whose server sends a frame that is not a JSON object, naming the frame', async () => {
    const server = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.on('data', () => socket.write(frameBytes('"USERNAME_ACCEPTED"')));
    });
    const port = await listen(server);
    const [result] = await runConformance({ host: '127.0.0.1', port, only: ['login.empty-name-refused'] });
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(
      /the server sent bad frames: the server sent a frame that is not a UTF-8 JSON object \(ERR_NOT_OBJECT\): "USERNAME_ACCEPTED"/,
    );
  });

  it('expectNone finds a matching frame already waiting, and leaves the others queued', async () => {
    const port = await rawServer(Buffer.concat([encodeFrame({ INFO: 'a' }), encodeFrame({ ERROR: 'b' })]));
    const probe = await ProbeClient.connect('127.0.0.1', port);
    cleanups.push(() => probe.destroy());
    await probe.waitClosed(1_000);
    await expect(probe.expectNone('an ERROR arrived', (frame) => 'ERROR' in frame, 50)).rejects.toThrow(
      /an ERROR arrived: \{"ERROR":"b"\}/,
    );
    await probe.expectNone('a WHO arrived', (frame) => 'WHO' in frame, 50);
    expect(probe.buffered).toEqual([{ INFO: 'a' }, { ERROR: 'b' }]);
  });
});
