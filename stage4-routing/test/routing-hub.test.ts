import { describe, expect, it } from '@jest/globals';
import { Hub } from '#stage3/hub';
import { RecordingOutbox } from '#stage3/recording-outbox';
import { registerRouting } from '../src/routing-server.ts';

const T0 = 1_700_000_000_000;

function routingHub() {
  let now = T0;
  const outbox = new RecordingOutbox();
  const hub = new Hub({ outbox, welcome: 'hi', now: () => now });
  registerRouting(hub);
  const join = (conn: number, name: string, features: string[] = ['CODE', 'WHO']) => {
    hub.login(conn, name, features);
    outbox.take(conn);
  };
  return { hub, outbox, join, advance: (ms: number) => (now += ms) };
}

describe('stage 4: routing Hub (sans-I/O)', () => {
  it('delivers a private message to its recipient only, with the server time', () => {
    const { hub, outbox, join } = routingHub();
    join(1, 'alice');
    join(2, 'bob');
    join(3, 'carol');
    for (const conn of [1, 2]) outbox.take(conn);
    hub.dispatch(1, { kind: 'chat', messages: [['alice', 'bob', 0, 'psst']] });
    expect(outbox.take(2)).toEqual([{ MESSAGES: [['alice', 'bob', T0 / 1000, 'psst']] }]);
    expect(outbox.take(1)).toEqual([]); // not echoed to the sender
    expect(outbox.take(3)).toEqual([]);
  });

  it('finds the recipient whatever the case of DEST, and writes their own spelling', () => {
    const { hub, outbox, join } = routingHub();
    join(1, 'alice');
    join(2, 'Bob');
    hub.dispatch(1, { kind: 'chat', messages: [['alice', 'BOB', 0, 'hi']] });
    expect(outbox.take(2)[0].MESSAGES?.[0][1]).toBe('Bob');
  });

  it('keeps the order of a frame that mixes public and private messages', () => {
    const { hub, outbox, join } = routingHub();
    join(1, 'alice');
    join(2, 'bob');
    outbox.take(2);
    hub.dispatch(1, {
      kind: 'chat',
      messages: [
        ['alice', 'bob', 0, 'one'],
        ['alice', 'ALL', 0, 'two'],
        ['alice', 'ALL', 0, 'three'],
        ['alice', 'bob', 0, 'four'],
      ],
    });
    expect(outbox.take(2).flatMap((frame) => frame.MESSAGES?.map((message) => message[3]))).toEqual([
      'one',
      'two',
      'three',
      'four',
    ]);
  });

  it('answers a message to a name never seen with ERR_UNKNOWN_USER', () => {
    const { hub, outbox, join } = routingHub();
    join(1, 'alice');
    hub.dispatch(1, { kind: 'chat', messages: [['alice', 'nobody', 0, 'hello?']] });
    expect(outbox.take(1)).toEqual([
      {
        ERROR: expect.stringMatching(/nobody called nobody has been here.*not delivered/),
        CODE: 'ERR_UNKNOWN_USER',
      },
    ]);
  });

  it('answers a message to someone who left with ERR_USER_OFFLINE and when they were last seen', () => {
    const { hub, outbox, join, advance } = routingHub();
    join(1, 'alice');
    join(2, 'bob');
    hub.disconnect(2);
    advance(5 * 60_000);
    outbox.take(1);
    hub.dispatch(1, { kind: 'chat', messages: [['alice', 'bob', 0, 'still there?']] });
    expect(outbox.take(1)).toEqual([
      {
        ERROR: expect.stringMatching(
          /bob is not online: last seen 5 minute\(s\) ago \(2023-11-14 22:13 UTC\)/,
        ),
        CODE: 'ERR_USER_OFFLINE',
      },
    ]);
  });

  it('tells the sender when the recipient vanished with the message in flight', () => {
    const { hub, outbox, join } = routingHub();
    join(1, 'alice');
    join(2, 'bob');
    outbox.take(1);
    hub.dispatch(1, { kind: 'chat', messages: [['alice', 'bob', 0, 'are you getting this']] });
    outbox.lose(2);
    expect(outbox.take(1)).toEqual([
      {
        ERROR: expect.stringMatching(/bob left before your message reached them: "are you getting this"/),
        CODE: 'ERR_UNDELIVERED',
      },
    ]);
  });

  it('tells the sender when the recipient is dropped as the message is queued (send refused)', () => {
    const { hub, outbox, join } = routingHub();
    join(1, 'alice');
    join(2, 'bob');
    outbox.take(1);
    outbox.close(2); // e.g. dropped at the send-queue cap by this very message
    hub.dispatch(1, { kind: 'chat', messages: [['alice', 'bob', 0, 'big']] });
    expect(outbox.take(1)[0].CODE).toBe('ERR_UNDELIVERED');
  });

  it('delivers a message to oneself, saying it is a note to self', () => {
    const { hub, outbox, join } = routingHub();
    join(1, 'alice');
    hub.dispatch(1, { kind: 'chat', messages: [['alice', 'alice', 0, 'remember milk']] });
    expect(outbox.take(1)).toEqual([
      {
        MESSAGES: [['alice', 'alice', T0 / 1000, 'remember milk']],
        INFO: expect.stringMatching(/note to self/),
      },
    ]);
  });

  it('gives a newcomer the public history and the private messages addressed to them, oldest first', () => {
    const { hub, outbox, join } = routingHub();
    join(1, 'alice');
    join(2, 'bob');
    hub.dispatch(1, { kind: 'chat', messages: [['alice', 'ALL', 0, 'public']] });
    hub.dispatch(1, { kind: 'chat', messages: [['alice', 'bob', 0, 'for bob']] });
    hub.disconnect(2);
    hub.login(3, 'carol', []);
    expect(outbox.take(3)[0].MESSAGES?.map((message) => message[3])).toEqual(['public']);
    hub.login(4, 'bob', []);
    expect(outbox.take(4)[0].MESSAGES?.map((message) => message[3])).toEqual(['public', 'for bob']);
  });

  it('answers WHO with the extension to clients that asked for it, and in words to others', () => {
    const { hub, outbox, join, advance } = routingHub();
    join(1, 'alice');
    join(2, 'plain', []);
    join(3, 'bob');
    hub.disconnect(3);
    advance(2 * 3_600_000);
    outbox.take(1);
    outbox.take(2);
    hub.dispatch(1, { kind: 'who', name: 'BOB' });
    expect(outbox.take(1)).toEqual([
      { WHO: { name: 'bob', online: false, lastSeen: T0 / 1000, known: true } },
    ]);
    hub.dispatch(1, { kind: 'who', name: 'plain' });
    expect(outbox.take(1)).toEqual([{ WHO: { name: 'plain', online: true, lastSeen: null, known: true } }]);
    hub.dispatch(1, { kind: 'who', name: 'ghost' });
    expect(outbox.take(1)[0].WHO).toEqual({ name: 'ghost', online: false, lastSeen: null, known: false });
    hub.dispatch(2, { kind: 'who', name: 'bob' });
    expect(outbox.take(2)).toEqual([
      { INFO: expect.stringMatching(/bob is not online: last seen 2 hour\(s\) ago/) },
    ]);
  });
});
