import { describe, expect, it } from '@jest/globals';
import {
  CLIENT_KEY_NAMES,
  DEFAULT_PROTOCOL_LIMITS,
  MAX_MESSAGES_PER_FRAME,
  SERVER_KEY_NAMES,
  decodePayload,
  parseClientFrame,
  parseServerFrame,
  type ProtocolLimits,
} from '#shared';
import { expectProtocolError } from './expect-protocol-error.ts';

/** Parses wire JSON text as the server does: bytes -> object -> ClientFrame. */
function client(json: string, limits?: ProtocolLimits) {
  return parseClientFrame(decodePayload(Buffer.from(json, 'utf8')), limits);
}

/** Parses wire JSON text as a client does. */
function server(json: string, limits?: ProtocolLimits) {
  return parseServerFrame(decodePayload(Buffer.from(json, 'utf8')), limits);
}

const SMALL: ProtocolLimits = { maxContentBytes: 10, maxMessagesPerFrame: 3 };

function messages(count: number): string {
  return JSON.stringify({
    MESSAGES: Array.from({ length: count }, (_, i) => ['alice', 'ALL', 1732233600 + i, `m${i}`]),
  });
}

describe('shared: protocol parseClientFrame', () => {
  it('accepts the base examples of PROTOCOL-BASE.md', () => {
    expect(client('{"USERNAME": "alice"}')).toEqual({ USERNAME: 'alice' });
    expect(
      client(
        '{"MESSAGES": [["alice", "ALL", 1732233600, "hi all"], ["alice", "bob", 1732233601, "hi bob"]]}',
      ),
    ).toEqual({
      MESSAGES: [
        ['alice', 'ALL', 1732233600, 'hi all'],
        ['alice', 'bob', 1732233601, 'hi bob'],
      ],
    });
  });

  it('accepts the extension keys, piggy-backed with USERNAME', () => {
    expect(client('{"USERNAME":"alice","FEATURES":["WHO","CODE"]}')).toEqual({
      USERNAME: 'alice',
      FEATURES: ['WHO', 'CODE'],
    });
    expect(client('{"WHO":"bob"}')).toEqual({ WHO: 'bob' });
    expect(client('{"USERNAME":"alice","FEATURES":[]}')).toEqual({ USERNAME: 'alice', FEATURES: [] });
  });

  it('leaves name rules to checkUsername: any string passes as USERNAME', () => {
    expect(client('{"USERNAME":""}')).toEqual({ USERNAME: '' });
    expect(client('{"USERNAME":"ALL"}')).toEqual({ USERNAME: 'ALL' });
  });

  it('accepts a timestamp of 0 and of the largest safe integer', () => {
    expect(
      client(`{"MESSAGES":[["a","ALL",0,""],["a","ALL",${Number.MAX_SAFE_INTEGER},"x"]]}`).MESSAGES,
    ).toHaveLength(2);
  });

  it.each([
    ['an unknown key alone', '{"HELLO":1}'],
    ['an unknown key next to a known one', '{"WHO":"bob","EXTRA":true}'],
    ['a key in the wrong case', '{"username":"alice"}'],
    ['a server-only key', '{"USERNAME_ACCEPTED":true}'],
    ['"__proto__"', '{"__proto__":{"USERNAME":"alice"}}'],
    ['"constructor"', '{"constructor":"alice"}'],
    ['"toString"', '{"toString":"alice"}'],
    ['"hasOwnProperty"', '{"MESSAGES":[["a","ALL",1,"x"]],"hasOwnProperty":1}'],
  ])('refuses %s with ERR_UNKNOWN_KEY', (_name, json) => {
    const error = expectProtocolError(() => client(json), 'ERR_UNKNOWN_KEY');
    expect(error.fatal).toBe(false);
  });

  it('names the unknown key in the error, quoted and cut short', () => {
    expect(expectProtocolError(() => client('{"HELLO":1}'), 'ERR_UNKNOWN_KEY').message).toContain('"HELLO"');
    const long = 'K'.repeat(1000);
    expect(expectProtocolError(() => client(`{"${long}":1}`), 'ERR_UNKNOWN_KEY').message.length).toBeLessThan(
      120,
    );
  });

  it.each([
    ['ESC', '{"\\u001b[2J":1}', '"\\x1b[2J"'],
    ['a newline forging an INFO line', '{"x\\nINFO: y":1}', '"x\\nINFO: y"'],
    ['a bidi override', '{"a\\u202eb":1}', '"a\\u202eb"'],
    ['a BEL-ended OSC title', '{"\\u001b]0;t\\u0007":1}', '"\\x1b]0;t\\x07"'],
  ])('quotes an unknown key holding %s inertly', (_what, json, quoted) => {
    const error = expectProtocolError(() => client(json), 'ERR_UNKNOWN_KEY');
    expect(error.message).toBe(`unknown key: ${quoted}`);
    expect(error.message).not.toMatch(/[\p{Cc}\p{Cf}]/u);
  });

  it.each([
    ['USERNAME a number', '{"USERNAME":42}'],
    ['USERNAME null', '{"USERNAME":null}'],
    ['USERNAME an array', '{"USERNAME":["alice"]}'],
    ['MESSAGES an object', '{"MESSAGES":{"0":["alice","ALL",1,"x"]}}'],
    ['MESSAGES a string', '{"MESSAGES":"hi"}'],
    ['a message of 3 elements', '{"MESSAGES":[["alice","ALL","hi"]]}'],
    ['a message of 5 elements', '{"MESSAGES":[["alice","ALL",1,"hi","extra"]]}'],
    [
      'a message that is an object',
      '{"MESSAGES":[{"SRC":"alice","DEST":"ALL","TIMESTAMP":1,"CONTENT":"hi"}]}',
    ],
    ['a TIMESTAMP string', '{"MESSAGES":[["alice","ALL","1732233600","hi"]]}'],
    ['a TIMESTAMP null', '{"MESSAGES":[["alice","ALL",null,"hi"]]}'],
    ['a SRC number', '{"MESSAGES":[[1,"ALL",1,"hi"]]}'],
    ['a DEST null', '{"MESSAGES":[["alice",null,1,"hi"]]}'],
    ['a CONTENT object', '{"MESSAGES":[["alice","ALL",1,{"text":"hi"}]]}'],
    ['a bad second message after a good one', '{"MESSAGES":[["alice","ALL",1,"ok"],["alice","ALL",1]]}'],
    ['WHO a number', '{"WHO":7}'],
  ])('refuses %s with ERR_BAD_TYPE', (_name, json) => {
    const error = expectProtocolError(() => client(json), 'ERR_BAD_TYPE');
    expect(error.fatal).toBe(false);
  });

  it('refuses more messages than maxMessagesPerFrame with ERR_TOO_MANY', () => {
    expect(client(messages(3), SMALL).MESSAGES).toHaveLength(3);
    expectProtocolError(() => client(messages(4), SMALL), 'ERR_TOO_MANY');
    expect(client(messages(MAX_MESSAGES_PER_FRAME)).MESSAGES).toHaveLength(MAX_MESSAGES_PER_FRAME);
    expectProtocolError(() => client(messages(MAX_MESSAGES_PER_FRAME + 1)), 'ERR_TOO_MANY');
  });

  it('ignores FEATURES it cannot read (more than 32, not strings): the login goes on with none', () => {
    const features = (n: number) =>
      JSON.stringify({ USERNAME: 'a', FEATURES: Array.from({ length: n }, (_, i) => `F${i}`) });
    expect(client(features(32)).FEATURES).toHaveLength(32);
    expect(client(features(33))).toEqual({ USERNAME: 'a' });
    expect(client('{"USERNAME":"alice","FEATURES":"WHO"}')).toEqual({ USERNAME: 'alice' });
    expect(client('{"USERNAME":"alice","FEATURES":["WHO",1]}')).toEqual({ USERNAME: 'alice' });
  });

  it('lets a login carry keys of another implementation (PROTOCOL-BASE: "more keys at login")', () => {
    expect(client('{"USERNAME":"alice","VERSION":2,"CLIENT":"other"}')).toEqual({ USERNAME: 'alice' });
    expect(client('{"USERNAME":"alice","hasOwnProperty":1,"__proto__":{}}')).toEqual({ USERNAME: 'alice' });
    expect(({} as Record<string, unknown>).USERNAME).toBeUndefined();
  });

  it('accepts any finite TIMESTAMP (the server restamps it): floats, negatives, large values', () => {
    for (const stamp of ['1732233600.5', '-1', '1e300']) {
      expect(client(`{"MESSAGES":[["alice","ALL",${stamp},"hi"]]}`).MESSAGES?.[0][2]).toBe(Number(stamp));
    }
  });

  it('measures CONTENT in UTF-8 bytes: multi-byte characters count for more than one', () => {
    const content = (text: string) => JSON.stringify({ MESSAGES: [['alice', 'ALL', 1, text]] });
    expect(client(content('a'.repeat(10)), SMALL).MESSAGES?.[0][3]).toBe('a'.repeat(10));
    expectProtocolError(() => client(content('a'.repeat(11)), SMALL), 'ERR_TOO_LONG');
    expect(client(content('é'.repeat(5)), SMALL).MESSAGES).toHaveLength(1); // 10 bytes
    expectProtocolError(() => client(content('é'.repeat(6)), SMALL), 'ERR_TOO_LONG'); // 6 chars, 12 bytes
    expectProtocolError(() => client(content('😀😀😀'), SMALL), 'ERR_TOO_LONG'); // 6 UTF-16 units, 12 bytes
    // the same, written as \u escapes on the wire: the limit is on the decoded text
    expectProtocolError(
      () => client('{"MESSAGES":[["a","ALL",1,"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"]]}', SMALL),
      'ERR_TOO_LONG',
    );
  });

  it('has a default CONTENT limit of 64 KiB', () => {
    const content = (length: number) =>
      JSON.stringify({ MESSAGES: [['alice', 'ALL', 1, 'x'.repeat(length)]] });
    expect(client(content(DEFAULT_PROTOCOL_LIMITS.maxContentBytes)).MESSAGES).toHaveLength(1);
    expectProtocolError(() => client(content(DEFAULT_PROTOCOL_LIMITS.maxContentBytes + 1)), 'ERR_TOO_LONG');
  });

  it('refuses a SRC, DEST or WHO over 256 bytes with ERR_TOO_LONG', () => {
    const long = 'b'.repeat(257);
    expectProtocolError(() => client(JSON.stringify({ MESSAGES: [[long, 'ALL', 1, 'x']] })), 'ERR_TOO_LONG');
    expectProtocolError(() => client(JSON.stringify({ MESSAGES: [['a', long, 1, 'x']] })), 'ERR_TOO_LONG');
    expectProtocolError(() => client(JSON.stringify({ WHO: long })), 'ERR_TOO_LONG');
  });

  it('refuses a frame with nothing to do with ERR_EMPTY: {} and an empty MESSAGES', () => {
    expectProtocolError(() => client('{}'), 'ERR_EMPTY');
    expectProtocolError(() => client('{"MESSAGES":[]}'), 'ERR_EMPTY');
  });

  it('refuses a lone surrogate in CONTENT (valid JSON escape, not valid text) with ERR_BAD_UTF8', () => {
    expectProtocolError(() => client('{"MESSAGES":[["alice","ALL",1,"\\ud800"]]}'), 'ERR_BAD_UTF8');
    expectProtocolError(() => client('{"MESSAGES":[["alice","ALL",1,"x\\udc00y"]]}'), 'ERR_BAD_UTF8');
    expectProtocolError(() => client('{"WHO":"\\ud83d"}'), 'ERR_BAD_UTF8');
    // a proper pair is fine
    expect(client('{"MESSAGES":[["alice","ALL",1,"\\ud83d\\ude00"]]}').MESSAGES?.[0][3]).toBe('😀');
  });

  it('returns a fresh object holding only the known keys', () => {
    const input = { USERNAME: 'alice' };
    const parsed = parseClientFrame(input);
    expect(parsed).not.toBe(input);
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
  });
});

describe('shared: protocol parseServerFrame', () => {
  it('accepts the base server frames', () => {
    expect(server('{"USERNAME_ACCEPTED": false, "INFO": "that username is taken"}')).toEqual({
      USERNAME_ACCEPTED: false,
      INFO: 'that username is taken',
    });
    const accept = server(
      '{"USERNAME_ACCEPTED":true,"INFO":"welcome","USER_LIST":["alice","bob"],"MESSAGES":[["bob","ALL",1732233600,"hi"]]}',
    );
    expect(accept).toEqual({
      USERNAME_ACCEPTED: true,
      INFO: 'welcome',
      USER_LIST: ['alice', 'bob'],
      MESSAGES: [['bob', 'ALL', 1732233600, 'hi']],
    });
    expect(server('{"USERS_JOINED":["alice"]}')).toEqual({ USERS_JOINED: ['alice'] });
    expect(server('{"USERS_LEFT":["alice"]}')).toEqual({ USERS_LEFT: ['alice'] });
    expect(server('{"ERROR":"SRC must be your own username"}')).toEqual({
      ERROR: 'SRC must be your own username',
    });
  });

  it('accepts an empty history, and more history than a client may send in one frame', () => {
    expect(server('{"USERNAME_ACCEPTED":true,"USER_LIST":["a"],"MESSAGES":[]}').MESSAGES).toEqual([]);
    expect(server(messages(MAX_MESSAGES_PER_FRAME + 50)).MESSAGES).toHaveLength(MAX_MESSAGES_PER_FRAME + 50);
  });

  it('accepts the extension keys', () => {
    expect(server('{"USERNAME_ACCEPTED":true,"FEATURES":["WHO"]}')).toEqual({
      USERNAME_ACCEPTED: true,
      FEATURES: ['WHO'],
    });
    expect(server('{"ERROR":"that user is not online","CODE":"ERR_USER_OFFLINE"}')).toEqual({
      ERROR: 'that user is not online',
      CODE: 'ERR_USER_OFFLINE',
    });
    expect(server('{"WHO":{"name":"bob","online":false,"lastSeen":1732233600,"known":true}}')).toEqual({
      WHO: { name: 'bob', online: false, lastSeen: 1732233600, known: true },
    });
    expect(
      server('{"WHO":{"name":"carol","online":false,"lastSeen":null,"known":false}}').WHO?.lastSeen,
    ).toBeNull();
  });

  it('ignores unknown keys next to known ones (a newer or foreign server)', () => {
    expect(server('{"INFO":"hi","FUTURE":{"x":1},"constructor":1,"__proto__":{"ERROR":5}}')).toEqual({
      INFO: 'hi',
    });
  });

  it.each([
    ['USERNAME_ACCEPTED a string', '{"USERNAME_ACCEPTED":"true"}'],
    ['USERNAME_ACCEPTED 1', '{"USERNAME_ACCEPTED":1}'],
    ['INFO a number', '{"INFO":1}'],
    ['USER_LIST a string', '{"USER_LIST":"alice"}'],
    ['USER_LIST holding null', '{"USER_LIST":["alice",null]}'],
    ['USERS_JOINED a string', '{"USERS_JOINED":"alice"}'],
    ['USERS_LEFT an object', '{"USERS_LEFT":{"alice":true}}'],
    ['ERROR an object', '{"ERROR":{"code":"X"}}'],
    ['a message with a string TIMESTAMP', '{"MESSAGES":[["bob","ALL","1","hi"]]}'],
    ['CODE a number', '{"ERROR":"x","CODE":3}'],
    ['WHO a string', '{"WHO":"bob"}'],
    [
      'WHO with lastSeen a string',
      '{"WHO":{"name":"bob","online":false,"lastSeen":"yesterday","known":true}}',
    ],
    ['WHO without online', '{"WHO":{"name":"bob","lastSeen":null,"known":true}}'],
    ['a wrong type next to an unknown key', '{"FUTURE":1,"INFO":false}'],
  ])('refuses %s with ERR_BAD_TYPE', (_name, json) => {
    expectProtocolError(() => server(json), 'ERR_BAD_TYPE');
  });

  it('refuses a lone surrogate in server text too', () => {
    expectProtocolError(() => server('{"INFO":"\\udfff"}'), 'ERR_BAD_UTF8');
  });
});

describe('shared: protocol key tables', () => {
  it('list every base key and the extension keys, each table in its direction', () => {
    expect([...CLIENT_KEY_NAMES].sort()).toEqual([
      'FEATURES',
      'MESSAGES',
      'PASSWD',
      'PASSWORD',
      'REGISTER',
      'RESUME',
      'SINCE',
      'USERNAME',
      'WHO',
    ]);
    expect([...SERVER_KEY_NAMES].sort()).toEqual([
      'ACCOUNT',
      'AWAY',
      'CODE',
      'ERROR',
      'FEATURES',
      'IDS',
      'INFO',
      'MESSAGES',
      'RECEIPTS',
      'RESUME',
      'USERNAME_ACCEPTED',
      'USERS_JOINED',
      'USERS_LEFT',
      'USER_LIST',
      'WHO',
    ]);
  });
});
