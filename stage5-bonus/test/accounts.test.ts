import { afterEach, describe, expect, it } from '@jest/globals';
import { ALL_FEATURES, Stage5Fixture } from './stage5-fixture.ts';

const fixture = new Stage5Fixture();
afterEach(() => fixture.stop());

const PASSWORD = 'correct horse';

describe('stage 5: accounts over real sockets', () => {
  it('registers a name at login, then requires its password', async () => {
    await fixture.start();
    const { client, answer } = await fixture.loginOk({
      USERNAME: 'alice',
      REGISTER: PASSWORD,
      FEATURES: ALL_FEATURES,
    });
    expect(answer.ACCOUNT).toEqual({ name: 'alice', registered: true });
    client.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));

    const guest = await fixture.login({ USERNAME: 'alice', FEATURES: ['CODE'] });
    expect(guest.answer).toMatchObject({ USERNAME_ACCEPTED: false, CODE: 'ERR_AUTH_REQUIRED' });
    const base = await fixture.login({ USERNAME: 'Alice' });
    expect(base.answer.USERNAME_ACCEPTED).toBe(false);
    expect(base.answer.INFO).toMatch(/registered/);

    const wrong = await fixture.login({ USERNAME: 'alice', PASSWORD: 'not it at all', FEATURES: ['CODE'] });
    expect(wrong.answer).toMatchObject({
      USERNAME_ACCEPTED: false,
      CODE: 'ERR_AUTH_FAILED',
      INFO: 'wrong name or password',
    });
    const unknown = await fixture.login({
      USERNAME: 'nobody',
      PASSWORD: 'whatever it is',
      FEATURES: ['CODE'],
    });
    expect(unknown.answer).toMatchObject({
      USERNAME_ACCEPTED: false,
      CODE: 'ERR_AUTH_FAILED',
      INFO: 'wrong name or password',
    });

    const right = await fixture.loginOk({ USERNAME: 'alice', PASSWORD: PASSWORD, FEATURES: ALL_FEATURES });
    expect(right.answer.ACCOUNT).toEqual({ name: 'alice', registered: true });
  });

  it('registers the current guest name with REGISTER after login, and changes the password with PASSWD', async () => {
    await fixture.start();
    const { client } = await fixture.loginOk({ USERNAME: 'bob', FEATURES: ALL_FEATURES });
    client.send({ REGISTER: 'short' });
    expect((await client.nextMatching((frame) => frame.ERROR !== undefined)).CODE).toBe('ERR_WEAK_PASSWORD');
    client.send({ REGISTER: PASSWORD });
    expect((await client.nextMatching((frame) => frame.ACCOUNT !== undefined)).ACCOUNT).toEqual({
      name: 'bob',
      registered: true,
    });
    client.send({ PASSWD: { old: 'wrong password', new: 'another secret' } });
    expect((await client.nextMatching((frame) => frame.ERROR !== undefined)).CODE).toBe('ERR_AUTH_FAILED');
    client.send({ PASSWD: { old: PASSWORD, new: 'another secret' } });
    expect((await client.nextMatching((frame) => frame.INFO !== undefined)).INFO).toMatch(
      /password is changed/,
    );
    client.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await fixture.login({ USERNAME: 'bob', PASSWORD })).answer.USERNAME_ACCEPTED).toBe(false);
    expect(
      (await fixture.login({ USERNAME: 'bob', PASSWORD: 'another secret' })).answer.USERNAME_ACCEPTED,
    ).toBe(true);
  });

  it('throttles failed logins per account with a clear wait', async () => {
    await fixture.start();
    const { client } = await fixture.loginOk({ USERNAME: 'carol', REGISTER: PASSWORD });
    client.destroy();
    const answers: (string | undefined)[] = [];
    for (let i = 0; i < 5; i++) {
      const { answer } = await fixture.login({
        USERNAME: 'carol',
        PASSWORD: `guess number ${i}`,
        FEATURES: ['CODE'],
      });
      answers.push(answer.CODE);
    }
    expect(answers.slice(0, 3)).toEqual(['ERR_AUTH_FAILED', 'ERR_AUTH_FAILED', 'ERR_AUTH_FAILED']);
    expect(answers).toContain('ERR_AUTH_THROTTLED');
    const { answer } = await fixture.login({ USERNAME: 'carol', PASSWORD, FEATURES: ['CODE'] });
    expect(answer).toMatchObject({ USERNAME_ACCEPTED: false, CODE: 'ERR_AUTH_THROTTLED' });
    expect(answer.INFO).toMatch(/try again in \d+ s/);
  });

  it('lets exactly one of 20 clients racing to register one name win', async () => {
    await fixture.start();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        fixture.login({
          USERNAME: i % 2 ? 'Dave' : 'dave',
          REGISTER: `${PASSWORD} ${i}`,
          FEATURES: ['CODE'],
        }),
      ),
    );
    expect(results.filter(({ answer }) => answer.USERNAME_ACCEPTED)).toHaveLength(1);
    expect(fixture.server!.store.accountCount).toBe(1);
  });

  it('refuses passwords over plain TCP from an address that is not trusted', async () => {
    await fixture.start({ isTrustedAddress: (address) => address === '127.0.0.1' });
    const { answer } = await fixture.login(
      { USERNAME: 'erin', REGISTER: PASSWORD, FEATURES: ['CODE'] },
      '127.0.0.2',
    );
    expect(answer).toMatchObject({ USERNAME_ACCEPTED: false, CODE: 'ERR_INSECURE_PASSWORD' });
    expect(answer.INFO).toMatch(/TLS/);
  });

  it('holds a guest name for its last address, and lets its token through from anywhere', async () => {
    await fixture.start();
    const first = await fixture.loginOk({ USERNAME: 'frank', FEATURES: ALL_FEATURES }, '127.0.0.3');
    const token = first.answer.RESUME;
    expect(token).toEqual(expect.any(String));
    first.client.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const other = await fixture.login({ USERNAME: 'frank', FEATURES: ['CODE'] }, '127.0.0.4');
    expect(other.answer).toMatchObject({ USERNAME_ACCEPTED: false, CODE: 'ERR_NAME_HELD' });
    other.client.destroy();
    const resumed = await fixture.loginOk(
      { USERNAME: 'frank', RESUME: token, FEATURES: ALL_FEATURES },
      '127.0.0.4',
    );
    expect(resumed.answer.RESUME).toBe(token);
  });
});
