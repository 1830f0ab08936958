import { describe, expect, it } from '@jest/globals';
import { DEFAULT_PROTOCOL_LIMITS, type ServerFrame } from '#shared';
import { Session } from '../src/session.ts';
import type { SessionIntent } from '../src/thread-messages.ts';

const options = { limits: DEFAULT_PROTOCOL_LIMITS, faultCommands: false };
const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const replyOf = (intents: SessionIntent[]): ServerFrame => {
  const reply = intents.find((intent) => intent.kind === 'reply');
  if (!reply || reply.kind !== 'reply') throw new Error(`no reply in ${JSON.stringify(intents)}`);
  return JSON.parse(reply.json) as ServerFrame;
};

function loggedIn(name = 'alice', features: string[] = []): Session {
  const session = new Session(options);
  session.handleFrame(bytes({ USERNAME: name }));
  session.handleReply({ kind: 'login-accepted', name, features });
  return session;
}

describe('stage 3: Session (sans-I/O)', () => {
  it('turns a valid USERNAME into a login intent and waits for the Hub', () => {
    const session = new Session(options);
    expect(session.handleFrame(bytes({ USERNAME: 'alice', FEATURES: ['CODE'] }))).toEqual([
      { kind: 'login', name: 'alice', features: ['CODE'] },
    ]);
    expect(session.name).toBeUndefined();
    session.handleReply({ kind: 'login-accepted', name: 'alice', features: ['CODE'] });
    expect(session.name).toBe('alice');
  });

  it('refuses an invalid name itself, with USERNAME_ACCEPTED false and the reason', () => {
    const session = new Session(options);
    const frame = replyOf(session.handleFrame(bytes({ USERNAME: 'bad name' })));
    expect(frame.USERNAME_ACCEPTED).toBe(false);
    expect(frame.INFO).toMatch(/spaces/);
    expect(frame.CODE).toBeUndefined(); // no FEATURES asked: no extension keys
  });

  it('answers frames before login with ERR_NOT_LOGGED_IN', () => {
    const session = new Session(options);
    const frame = replyOf(session.handleFrame(bytes({ MESSAGES: [['a', 'ALL', 1, 'x']] })));
    expect(frame.ERROR).toMatch(/log in/);
  });

  it('holds frames pipelined behind USERNAME until the Hub answers, then handles them in order', () => {
    const session = new Session(options);
    session.handleFrame(bytes({ USERNAME: 'alice', MESSAGES: [['alice', 'ALL', 1, 'first']] }));
    expect(session.handleFrame(bytes({ MESSAGES: [['alice', 'ALL', 1, 'second']] }))).toEqual([]);
    const intents = session.handleReply({ kind: 'login-accepted', name: 'alice', features: [] });
    expect(intents.map((intent) => intent.kind === 'chat' && intent.messages[0][3])).toEqual([
      'first',
      'second',
    ]);
  });

  it('after a refusal, pipelined messages are answered with ERR_NOT_LOGGED_IN and a retry works', () => {
    const session = new Session(options);
    session.handleFrame(bytes({ USERNAME: 'bob', FEATURES: ['CODE'], MESSAGES: [['bob', 'ALL', 1, 'x']] }));
    const intents = session.handleReply({ kind: 'login-refused' });
    expect(replyOf(intents).CODE).toBe('ERR_NOT_LOGGED_IN');
    expect(session.handleFrame(bytes({ USERNAME: 'bob2' }))).toEqual([
      { kind: 'login', name: 'bob2', features: [] },
    ]);
  });

  it('refuses a spoofed SRC and delivers nothing of that frame', () => {
    const session = loggedIn('alice', ['CODE']);
    const intents = session.handleFrame(
      bytes({
        MESSAGES: [
          ['alice', 'ALL', 1, 'fine'],
          ['bob', 'ALL', 1, 'spoof'],
        ],
      }),
    );
    expect(intents).toHaveLength(1);
    expect(replyOf(intents).CODE).toBe('ERR_SPOOFED_SRC');
  });

  it('refuses a second login on the same connection', () => {
    const session = loggedIn('alice', ['CODE']);
    expect(replyOf(session.handleFrame(bytes({ USERNAME: 'other' }))).CODE).toBe('ERR_ALREADY_LOGGED_IN');
  });

  it('reports bad payloads with their codes and keeps going', () => {
    const session = loggedIn('alice', ['CODE']);
    const codeOf = (payload: Uint8Array) => replyOf(session.handleFrame(payload)).CODE;
    expect(codeOf(new Uint8Array([0xff]))).toBe('ERR_BAD_UTF8');
    expect(codeOf(new TextEncoder().encode('{oops'))).toBe('ERR_BAD_JSON');
    expect(codeOf(bytes([1, 2]))).toBe('ERR_NOT_OBJECT');
    expect(codeOf(bytes({ NOPE: 1 }))).toBe('ERR_UNKNOWN_KEY');
    expect(codeOf(bytes({ __proto__: 1 }))).toBe('ERR_EMPTY'); // JSON.stringify drops an inherited key
    expect(codeOf(new TextEncoder().encode('{"__proto__": {"polluted": true}}'))).toBe('ERR_UNKNOWN_KEY');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(session.handleFrame(bytes({ MESSAGES: [['alice', 'ALL', 1, 'still fine']] }))[0].kind).toBe(
      'chat',
    );
  });

  it('runs fault commands only when the server enables them', () => {
    const session = loggedIn();
    expect(() => session.handleFrame(bytes({ MESSAGES: [['alice', 'ALL', 1, '/crash']] }))).not.toThrow();
    const faulty = new Session({ ...options, faultCommands: true });
    faulty.handleFrame(bytes({ USERNAME: 'alice' }));
    faulty.handleReply({ kind: 'login-accepted', name: 'alice', features: [] });
    expect(() => faulty.handleFrame(bytes({ MESSAGES: [['alice', 'ALL', 1, '/crash']] }))).toThrow(/crash/);
  });
});
