import { describe, expect, it } from '@jest/globals';
import { registerRoom } from '../src/features/room.ts';
import { Hub } from '../src/hub.ts';
import { RecordingOutbox } from '../src/recording-outbox.ts';

function roomHub(
  now = () => 1_700_000_000_000,
  options: { maxHistory?: number; maxFrameBytes?: number } = {},
) {
  const outbox = new RecordingOutbox();
  const hub = new Hub({ outbox, welcome: 'hi', now, ...options });
  registerRoom(hub);
  return { hub, take: (conn: number) => outbox.take(conn) };
}

describe('stage 3: Hub (sans-I/O)', () => {
  it('accepts a login with USER_LIST and history, and tells the others', () => {
    const { hub, take } = roomHub();
    expect(hub.login(1, 'alice', []).kind).toBe('login-accepted');
    expect(take(1)).toEqual([{ USERNAME_ACCEPTED: true, INFO: 'hi', USER_LIST: ['alice'], MESSAGES: [] }]);
    hub.login(2, 'bob', []);
    expect(take(1)).toEqual([{ USERS_JOINED: ['bob'] }]);
    expect(take(2)[0].USER_LIST).toEqual(['alice', 'bob']);
  });

  it('refuses a name held by someone else, whatever its case or width', () => {
    const { hub, take } = roomHub();
    hub.login(1, 'Bob', []);
    for (const [conn, name] of [
      [2, 'bob'],
      [3, 'BOB'],
      [4, 'ｂｏｂ'],
    ] as const) {
      expect(hub.login(conn, name, ['CODE']).kind).toBe('login-refused');
      expect(take(conn)).toEqual([
        { USERNAME_ACCEPTED: false, INFO: expect.stringMatching(/taken/), CODE: 'ERR_NAME_TAKEN' },
      ]);
    }
  });

  it('grants only the features it offers, and only to clients that asked', () => {
    const { hub, take } = roomHub();
    expect(hub.login(1, 'alice', ['CODE', 'TELEPATHY'])).toEqual({
      kind: 'login-accepted',
      name: 'alice',
      features: ['CODE'],
    });
    expect(take(1)[0].FEATURES).toEqual(['CODE']);
    hub.login(2, 'bob', []);
    expect(take(2)[0]).not.toHaveProperty('FEATURES');
  });

  it('broadcasts a message to everyone, the sender included, with the server time', () => {
    const { hub, take } = roomHub(() => 1_700_000_123_456);
    hub.login(1, 'alice', []);
    hub.login(2, 'bob', []);
    take(1);
    take(2);
    hub.dispatch(1, { kind: 'chat', messages: [['alice', 'ALL', 5, 'hello']] });
    const expected = [{ MESSAGES: [['alice', 'ALL', 1_700_000_123, 'hello']] }];
    expect(take(1)).toEqual(expected);
    expect(take(2)).toEqual(expected);
  });

  it('refuses private messages in the room, saying so, and delivers nothing', () => {
    const { hub, take } = roomHub();
    hub.login(1, 'alice', ['CODE']);
    hub.login(2, 'bob', []);
    take(1);
    take(2);
    hub.dispatch(1, { kind: 'chat', messages: [['alice', 'bob', 5, 'psst']] });
    expect(take(1)).toEqual([{ ERROR: expect.stringMatching(/stage 4/), CODE: 'ERR_DEST_UNSUPPORTED' }]);
    expect(take(2)).toEqual([]);
  });

  it('gives newcomers the history, oldest first, bounded by count', () => {
    const { hub, take } = roomHub(undefined, { maxHistory: 3 });
    hub.login(1, 'alice', []);
    for (const text of ['1', '2', '3', '4'])
      hub.dispatch(1, { kind: 'chat', messages: [['alice', 'ALL', 0, text]] });
    hub.login(2, 'bob', []);
    expect(take(2)[0].MESSAGES?.map((message) => message[3])).toEqual(['2', '3', '4']);
  });

  it('splits a broadcast that escaping makes larger than a frame, instead of failing', () => {
    const { hub, take } = roomHub();
    hub.login(1, 'alice', []);
    hub.login(2, 'bob', []);
    take(2);
    const emoji = '\u{1F600}'.repeat(16_384); // 64 KiB of UTF-8, 192 KiB once escaped
    const messages = Array.from({ length: 6 }, (): ['alice', 'ALL', number, string] => [
      'alice',
      'ALL',
      0,
      emoji,
    ]);
    hub.dispatch(1, { kind: 'chat', messages });
    const frames = take(2);
    expect(frames.length).toBeGreaterThan(1);
    expect(frames.flatMap((frame) => frame.MESSAGES ?? []).map((message) => message[3])).toEqual(
      messages.map(() => emoji),
    );
  });

  it('splits a login answer whose user list outgrows a frame: the rest follows as USERS_JOINED', () => {
    // 32 CJK characters escape to 192 bytes: ~5 400 such users fill 1 MiB; 200 fill 16 KiB.
    const { hub, take } = roomHub(undefined, { maxFrameBytes: 16 * 1024 });
    const cjk = (i: number) => `用户${String(i).padStart(5, '0')}`.padEnd(32, '名');
    for (let i = 0; i < 200; i++) hub.login(i, cjk(i), []);
    hub.login(99_999, 'late', []);
    const frames = take(99_999);
    expect(frames.length).toBeGreaterThan(1);
    expect(frames[0].USERNAME_ACCEPTED).toBe(true);
    const names = [
      ...(frames[0].USER_LIST ?? []),
      ...frames.slice(1).flatMap((frame) => frame.USERS_JOINED ?? []),
    ];
    expect(names).toHaveLength(201);
    expect(new Set(names).size).toBe(201);
  });

  it('keeps the login frame under the frame limit however large the history', () => {
    const { hub, take } = roomHub();
    hub.login(1, 'alice', []);
    const big = 'x'.repeat(60_000);
    for (let i = 0; i < 40; i++) hub.dispatch(1, { kind: 'chat', messages: [['alice', 'ALL', 0, big]] });
    hub.login(2, 'bob', []);
    const history = take(2)[0].MESSAGES ?? [];
    expect(history.length).toBeGreaterThan(0);
    expect(history.length).toBeLessThan(40);
    expect(JSON.stringify(history).length).toBeLessThan(1024 * 1024);
  });

  it('announces a departure once and frees the name', () => {
    const { hub, take } = roomHub();
    hub.login(1, 'alice', []);
    hub.login(2, 'bob', []);
    take(1);
    hub.disconnect(2);
    hub.disconnect(2);
    expect(take(1)).toEqual([{ USERS_LEFT: ['bob'] }]);
    expect(hub.login(3, 'BOB', []).kind).toBe('login-accepted');
  });

  it('ignores intents from a connection that already left (in flight from a worker)', () => {
    const { hub, take } = roomHub();
    hub.login(1, 'alice', []);
    hub.login(2, 'bob', []);
    hub.disconnect(2);
    take(1);
    hub.dispatch(2, { kind: 'chat', messages: [['bob', 'ALL', 0, 'late']] });
    expect(take(1)).toEqual([]);
  });

  it('answers an intent no feature handles with ERROR', () => {
    const { hub, take } = roomHub();
    hub.login(1, 'alice', []);
    take(1);
    hub.dispatch(1, { kind: 'who', name: 'bob' });
    expect(take(1)[0].ERROR).toMatch(/WHO is not supported/);
  });

  it('keeps usernames like __proto__ and constructor harmless', () => {
    const { hub, take } = roomHub();
    expect(hub.login(1, '__proto__', []).kind).toBe('login-accepted');
    expect(hub.login(2, 'constructor', []).kind).toBe('login-accepted');
    expect(hub.login(3, 'toString', []).kind).toBe('login-accepted');
    expect(take(3)[0].USER_LIST).toEqual(['__proto__', 'constructor', 'toString']);
  });
});
