import { afterEach, describe, expect, it } from '@jest/globals';
import { ALL_FEATURES, Stage5Fixture } from './stage5-fixture.ts';

const fixture = new Stage5Fixture();
afterEach(() => fixture.stop());

const PASSWORD = 'correct horse';
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('stage 5: durable messaging over real sockets', () => {
  it('queues a message for an offline registered user and delivers it once at next login, marked away', async () => {
    await fixture.start();
    const bob = await fixture.loginOk({ USERNAME: 'bob', REGISTER: PASSWORD, FEATURES: ALL_FEATURES });
    bob.client.destroy();
    const alice = await fixture.loginOk({ USERNAME: 'alice', FEATURES: ALL_FEATURES });
    await pause(50);
    alice.client.send({ MESSAGES: [['alice', 'bob', 0, 'see you at 9']] });
    const receipt = await alice.client.nextMatching((frame) => frame.RECEIPTS !== undefined);
    expect(receipt.RECEIPTS).toEqual([
      { id: expect.any(Number), dest: 'bob', status: 'queued', reason: expect.stringMatching(/offline/) },
    ]);

    const back = await fixture.loginOk({ USERNAME: 'bob', PASSWORD, FEATURES: ALL_FEATURES });
    expect(back.answer.MESSAGES).toEqual([]);
    const away = await back.client.nextMatching((frame) => frame.AWAY === true);
    expect(away.MESSAGES?.map((message) => message[3])).toEqual(['see you at 9']);
    expect(away.IDS).toEqual([receipt.RECEIPTS![0].id]);
    back.client.destroy();
    await pause(50);

    const again = await fixture.loginOk({ USERNAME: 'bob', PASSWORD, FEATURES: ALL_FEATURES });
    expect(again.answer.MESSAGES?.map((message) => message[3])).toEqual(['see you at 9']); // history now
    expect(await again.client.expectSilence(200)).toBeUndefined(); // not away a second time
  });

  it('keeps stage 4 answers for unknown names, with a refused receipt', async () => {
    await fixture.start();
    const { client } = await fixture.loginOk({ USERNAME: 'alice', FEATURES: ALL_FEATURES });
    client.send({ MESSAGES: [['alice', 'nobody', 0, 'hello?']] });
    expect((await client.nextMatching((frame) => frame.ERROR !== undefined)).CODE).toBe('ERR_UNKNOWN_USER');
    const { RECEIPTS } = await client.nextMatching((frame) => frame.RECEIPTS !== undefined);
    expect(RECEIPTS).toEqual([{ id: null, dest: 'nobody', status: 'refused', reason: expect.any(String) }]);
  });

  it('replays exactly what a client missed after the id it gives in SINCE', async () => {
    await fixture.start();
    const alice = await fixture.loginOk({ USERNAME: 'alice', REGISTER: PASSWORD, FEATURES: ALL_FEATURES });
    alice.client.send({ MESSAGES: [['alice', 'ALL', 0, 'one']] });
    const seen = await alice.client.nextMatching(
      (frame) => frame.IDS !== undefined && frame.MESSAGES !== undefined,
    );
    alice.client.destroy();
    const carol = await fixture.loginOk({ USERNAME: 'carol', FEATURES: ALL_FEATURES });
    carol.client.send({
      MESSAGES: [
        ['carol', 'ALL', 0, 'two'],
        ['carol', 'alice', 0, 'three'],
      ],
    });
    await carol.client.nextMatching((frame) => frame.RECEIPTS !== undefined);

    const back = await fixture.loginOk({
      USERNAME: 'alice',
      PASSWORD,
      SINCE: seen.IDS![0],
      FEATURES: ALL_FEATURES,
    });
    const away = await back.client.nextMatching((frame) => frame.AWAY === true);
    expect(back.answer.MESSAGES?.map((message) => message[3])).toEqual(['two']);
    expect(away.MESSAGES?.map((message) => message[3])).toEqual(['three']);
  });

  it('shows a new guest taking a free name none of the previous holder private history', async () => {
    await fixture.start();
    const first = await fixture.loginOk({ USERNAME: 'gus', FEATURES: ALL_FEATURES });
    const other = await fixture.loginOk({ USERNAME: 'hal', FEATURES: ALL_FEATURES });
    other.client.send({ MESSAGES: [['hal', 'gus', 0, 'secret for gus']] });
    await first.client.nextMatching((frame) => frame.MESSAGES !== undefined);
    first.client.destroy();
    await pause(50);
    const stranger = await fixture.loginOk({ USERNAME: 'gus', FEATURES: ALL_FEATURES }); // same address, no token
    expect(stranger.answer.MESSAGES).toEqual([]);
    stranger.client.destroy();
    await pause(50);
    const resumed = await fixture.loginOk({
      USERNAME: 'gus',
      RESUME: stranger.answer.RESUME,
      FEATURES: ALL_FEATURES,
    });
    expect(resumed.answer.RESUME).toBe(stranger.answer.RESUME);
  });

  it('keeps public history, private conversations and ids across a restart (lowdb)', async () => {
    const dir = fixture.dataDir();
    await fixture.start({ documents: fixture.lowdb(dir) });
    const alice = await fixture.loginOk({ USERNAME: 'alice', REGISTER: PASSWORD, FEATURES: ALL_FEATURES });
    const bob = await fixture.loginOk({ USERNAME: 'bob', REGISTER: PASSWORD, FEATURES: ALL_FEATURES });
    alice.client.send({
      MESSAGES: [
        ['alice', 'ALL', 0, 'public one'],
        ['alice', 'bob', 0, 'private one'],
      ],
    });
    const { RECEIPTS } = await alice.client.nextMatching((frame) => frame.RECEIPTS !== undefined);
    expect(RECEIPTS?.map((receipt) => receipt.status)).toEqual(['delivered', 'delivered']);
    await bob.client.nextMatching((frame) => frame.MESSAGES?.[0]?.[3] === 'private one');

    await fixture.restart(dir);
    const back = await fixture.loginOk({ USERNAME: 'bob', PASSWORD, FEATURES: ALL_FEATURES });
    expect(back.answer.MESSAGES?.map((message) => message[3])).toEqual(['public one', 'private one']);
    expect(back.answer.IDS).toEqual(RECEIPTS?.map((receipt) => receipt.id));
    back.client.send({ MESSAGES: [['bob', 'ALL', 0, 'after the restart']] });
    const next = await back.client.nextMatching((frame) => frame.MESSAGES?.[0]?.[3] === 'after the restart');
    expect(next.IDS![0]).toBeGreaterThan(Math.max(...RECEIPTS!.map((receipt) => receipt.id!)));
    const guest = await fixture.loginOk({ USERNAME: 'zed' });
    expect(guest.answer.MESSAGES?.map((message) => message[3])).toEqual(['public one', 'after the restart']);
  });
});
