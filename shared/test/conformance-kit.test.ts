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
import {
  formatReportTail,
  runConformance,
  runConformanceReport,
  type ConformanceResult,
} from '#shared/conformance/run-conformance';
import { SCENARIOS } from '#shared/conformance/scenarios';

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
 * next to `bob` included), and nothing but ALL is routed. The options break it the way other
 * students' servers were found broken:
 * - `refuseLoginExtras`: refuses a login frame with a key besides USERNAME (the base allows them);
 * - `hangAfterNonAscii`: once a frame holding raw non-ASCII bytes arrives, stops answering anyone (as
 *   a server that counts characters instead of bytes does once its framing desynchronises);
 * - `acceptedAsString`: sends USERNAME_ACCEPTED as the string "true" or "false";
 * - `infoKey`: spells the INFO key otherwise (e.g. `Info`);
 * - `acceptEmptyName`: accepts the empty name.
 */
interface BrokenServerOptions {
  refuseLoginExtras?: boolean;
  hangAfterNonAscii?: boolean;
  acceptedAsString?: boolean;
  infoKey?: string;
  acceptEmptyName?: boolean;
}

async function startBaseServer(options: BrokenServerOptions = {}): Promise<number> {
  const online = new Map<string, FramedSocket>();
  const names = new Map<FramedSocket, string>();
  const sockets = new Set<net.Socket>();
  const history: ChatMessage[] = [];
  let isHung = false;
  const send = (to: FramedSocket, frame: ServerFrame) => {
    const out: Record<string, unknown> = { ...frame };
    if (options.acceptedAsString && typeof out.USERNAME_ACCEPTED === 'boolean')
      out.USERNAME_ACCEPTED = String(out.USERNAME_ACCEPTED);
    if (options.infoKey !== undefined && Object.hasOwn(out, 'INFO')) {
      out[options.infoKey] = out.INFO;
      delete out.INFO;
    }
    to.send(encodeFrame(out));
  };
  const everyone = (frame: ServerFrame, except?: FramedSocket) => {
    for (const each of online.values()) if (each !== except) send(each, frame);
  };

  const handle = (connection: FramedSocket, payload: Buffer) => {
    if (options.hangAfterNonAscii && payload.some((byte) => byte >= 0x80)) isHung = true;
    if (isHung) return;
    const object = decodePayload(payload);
    if (options.refuseLoginExtras && Object.keys(object).some((key) => key !== 'USERNAME'))
      throw new ProtocolError('ERR_UNKNOWN_KEY');
    const frame = parseClientFrame(object);
    if (frame.USERNAME !== undefined) {
      if (names.has(connection)) throw new ProtocolError('ERR_ALREADY_LOGGED_IN');
      const name = frame.USERNAME;
      if ((name === '' && !options.acceptEmptyName) || online.has(name)) {
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
      expect(results.get(id)).toEqual({
        id,
        title: expect.any(String),
        outcome: 'passed',
        ok: true,
        ms: expect.any(Number),
      });
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

describe('conformance kit: a report another student can act on, against imperfect servers', () => {
  const ids = (results: ConformanceResult[], outcome: ConformanceResult['outcome']) =>
    results.filter((result) => result.outcome === outcome).map((result) => result.id);
  const runnable = SCENARIOS.filter((scenario) => !scenario.requires);

  it('runs the ordinary behaviour first and the disruptive scenarios last', () => {
    const firstDisruptive = SCENARIOS.findIndex((scenario) => scenario.isDisruptive);
    expect(firstDisruptive).toBeGreaterThan(0);
    expect(SCENARIOS.slice(firstDisruptive).every((scenario) => scenario.isDisruptive)).toBe(true);
    expect(SCENARIOS.at(-1)?.id).toBe('framing.oversize');
  });

  it('stops once a server no longer answers, names the scenario and what it sent last, and lists the rest as not run', async () => {
    const port = await startBaseServer({ hangAfterNonAscii: true });
    const report = await runConformanceReport({ host: '127.0.0.1', port, replyMs: 1_000 });
    const { results } = report;
    const at = runnable.findIndex((scenario) => scenario.id === 'chat.non-ascii.raw');
    const before = runnable.slice(0, at).map((scenario) => scenario.id);
    expect(ids(results, 'failed')).toEqual(['chat.non-ascii.raw']);
    // extensions.error-code skips itself: this server does not answer FEATURES.
    expect(ids(results, 'passed')).toEqual(before.filter((id) => id !== 'extensions.error-code'));
    expect(ids(results, 'not-run')).toEqual(runnable.slice(at + 1).map((scenario) => scenario.id));
    expect(report.stopped).toEqual({
      after: 'chat.non-ascii.raw',
      lastSent: expect.stringMatching(
        /^a frame of N = \d+ bytes = \d+ characters: raw UTF-8: \{"MESSAGES".*héllo/,
      ),
      cause: expect.stringMatching(/no frame with USERNAME_ACCEPTED within 1000 ms/),
    });
    const tail = formatReportTail(report);
    expect(tail.filter((line) => line.includes('stopped answering'))).toEqual([
      expect.stringMatching(
        /^STOPPED the server stopped answering after scenario chat\.non-ascii\.raw \(what chat\.non-ascii\.raw sent last: a frame of/,
      ),
    ]);
    expect(tail.at(-1)).toBe(
      `${at - 1} passed, 1 failed, ${SCENARIOS.length - runnable.length + 1} skipped, ${runnable.length - at - 1} not run`,
    );
  }, 60_000);

  it('tolerates USERNAME_ACCEPTED "true"/"false", reports it once, and measures everything else', async () => {
    const port = await startBaseServer({ acceptedAsString: true });
    const report = await runConformanceReport({ host: '127.0.0.1', port });
    expect(ids(report.results, 'failed')).toEqual([]);
    expect(ids(report.results, 'not-run')).toEqual([]);
    expect(report.deviations).toEqual([
      expect.objectContaining({
        kind: 'USERNAME_ACCEPTED-string',
        description: 'USERNAME_ACCEPTED is the string "true", not the JSON boolean true',
        example: expect.stringContaining('"USERNAME_ACCEPTED":"true"'),
      }),
    ]);
    const tail = formatReportTail(report);
    expect(tail).toContainEqual(expect.stringMatching(/^Deviations \(tolerated/));
    expect(tail.filter((line) => line.includes('USERNAME_ACCEPTED is the string'))).toHaveLength(1);
  }, 60_000);

  it('fails on that deviation in strict mode, naming it as the cause', async () => {
    const port = await startBaseServer({ acceptedAsString: true });
    const [result] = await runConformance({
      host: '127.0.0.1',
      port,
      strict: true,
      only: ['login.users-joined'],
    });
    expect(result).toMatchObject({
      outcome: 'failed',
      error: expect.stringMatching(/^deviation \(strict\): USERNAME_ACCEPTED is the string "true"/),
    });
  });

  it('tolerates a key in the wrong case ("Info" for "INFO"), reported once', async () => {
    const port = await startBaseServer({ infoKey: 'Info' });
    const report = await runConformanceReport({ host: '127.0.0.1', port });
    expect(ids(report.results, 'failed')).toEqual([]);
    expect(report.deviations).toEqual([
      expect.objectContaining({
        kind: 'key-case:Info',
        description: 'the key "Info" should be "INFO" (key names are case-sensitive)',
        firstSeenIn: 'login.accepted',
      }),
    ]);
  }, 60_000);

  it('fails only login.empty-name-refused against a server that accepts the empty name', async () => {
    const port = await startBaseServer({ acceptEmptyName: true });
    const results = await runConformance({ host: '127.0.0.1', port });
    expect(results.filter((result) => result.outcome === 'failed')).toEqual([
      expect.objectContaining({
        id: 'login.empty-name-refused',
        error: expect.stringMatching(/^the empty name must be refused: "" was accepted/),
      }),
    ]);
    expect(ids(results, 'not-run')).toEqual([]);
  }, 60_000);

  it('selects scenarios by id or family with only and skip', async () => {
    const port = await startBaseServer();
    const results = await runConformance({
      host: '127.0.0.1',
      port,
      only: ['errors.wrong-types', 'chat.non-ascii'],
      skip: ['errors.wrong-types.username-number'],
    });
    expect(results.map((result) => result.id)).toEqual([
      'chat.non-ascii.escaped',
      'errors.wrong-types.messages-string',
      'errors.wrong-types.message-string',
      'errors.wrong-types.message-3-elements',
      'errors.wrong-types.timestamp-string',
      'errors.wrong-types.content-number',
      'chat.non-ascii.raw',
    ]);
    expect(ids(results, 'passed')).toHaveLength(7);
    await expect(runConformance({ host: '127.0.0.1', port, only: ['errors.wrong'] })).rejects.toThrow(
      /unknown scenario or family: errors\.wrong/,
    );
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
