import { ERROR_CODES } from '../error-codes.ts';
import { DEST_ALL, MAX_FRAME_BYTES } from '../limits.ts';
import { frameBytes } from '../payload-codec.ts';
import { BASE_SERVER_KEYS } from '../protocol.ts';
import { previewFrame, type ProbeClient, type WireFrame } from './probe-client.ts';

/**
 * The black-box conformance scenarios (after Ergo's irctest): each one states a behaviour of
 * ../../../PROTOCOL-BASE.md and checks it over real sockets against any server, ours or another
 * student's. So they rely on the base protocol only: never on our extension keys (except in the
 * `extensions` group, which runs only when the server answers FEATURES), never on Msg's own rules
 * that the base leaves open (which names are valid beyond the empty one, whether `Bob` and `bob` are
 * the same user: those scenarios require `msgNameRules` and are skipped without it), never on the
 * wording of INFO or ERROR, and never on how a server groups its keys into frames (waits look for the
 * key they need and skip the rest: USERS_JOINED and USERS_LEFT of other users, chat of a live
 * server). Names and message contents are random, so scenarios can run against a live shared server,
 * and each connection stays far below the rate limit (a burst of 20 frames, then 10/s).
 */

/** What the server under test is expected to do beyond the common base. */
export interface ConformanceProfile {
  /** Private messages are routed (stage 4 on); stage 3 answers ERROR to any DEST but ALL. */
  privateMessages: boolean;
  /** The server's frame limit: a payload of exactly this many bytes passes its framing layer. */
  maxFrameBytes: number;
  /**
   * The server applies Msg's name rules (docs/PROTOCOL.md), which PROTOCOL-BASE.md does not define:
   * no spaces or control characters, not `ALL`, and names equal in any letter case are one user. Off
   * for a foreign server, which may rightly accept all of those.
   */
  msgNameRules: boolean;
}

export const DEFAULT_CONFORMANCE_PROFILE: ConformanceProfile = {
  privateMessages: false,
  maxFrameBytes: MAX_FRAME_BYTES,
  msgNameRules: false,
};

export type ScenarioGroup = 'login' | 'chat' | 'private' | 'errors' | 'framing' | 'extensions';
/** A profile capability a scenario needs; without it the scenario is skipped. */
export type ScenarioRequirement = 'private' | 'msg-name-rules';

/** What each requirement stands for, and how to turn it on (in the skip reason and the CLI's --list). */
export const REQUIREMENT_NOTES: Record<ScenarioRequirement, string> = {
  private: 'private messages (profile privateMessages, CLI --private)',
  'msg-name-rules':
    "Msg's own name rules, not part of PROTOCOL-BASE.md (profile msgNameRules, CLI --msg-rules)",
};

/** What a scenario may use; the runner owns (and closes) every connection made through it. */
export interface ScenarioContext {
  readonly profile: ConformanceProfile;
  /** How long to wait for a frame that should come. */
  readonly replyMs: number;
  /** How long "nothing arrives" must last to count as silence. */
  readonly silenceMs: number;
  connect(): Promise<ProbeClient>;
  /** A username nobody has used: `c` + random base36. */
  freshName(): string;
  /** A random marker for message contents, to tell our messages from anyone else's. */
  freshToken(): string;
  sleep(ms: number): Promise<void>;
  /** Ends the scenario as skipped (the server lacks an optional capability). */
  skip(reason: string): never;
}

export interface Scenario {
  /**
   * `group.behaviour` or `group.behaviour.case`, stable: the CLI's --only and --skip take it, or any
   * prefix of it ending at a dot (a family: `errors`, `errors.wrong-types`).
   */
  id: string;
  group: ScenarioGroup;
  /** The behaviour, as a sentence. */
  title: string;
  requires?: ScenarioRequirement[];
  /**
   * The scenario sends what may knock a fragile server over (oversize lengths, invalid UTF-8, raw
   * non-ASCII, trickled bytes, half frames): it runs after the ordinary behaviour is measured.
   */
  isDisruptive?: boolean;
  timeoutMs?: number;
  run(ctx: ScenarioContext): Promise<void>;
}

/** The requirements of `scenario` that `profile` does not meet. */
export function missingRequirements(scenario: Scenario, profile: ConformanceProfile): ScenarioRequirement[] {
  const has: Record<ScenarioRequirement, boolean> = {
    private: profile.privateMessages,
    'msg-name-rules': profile.msgNameRules,
  };
  return (scenario.requires ?? []).filter((requirement) => !has[requirement]);
}

// ---- checks on every frame a client received (the runner applies them after each scenario) ----

const isStringList = (value: unknown) =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');

function isWireMessage(value: unknown): boolean {
  if (!Array.isArray(value) || value.length !== 4) return false;
  const [src, dest, timestamp, content] = value as unknown[];
  return (
    typeof src === 'string' &&
    typeof dest === 'string' &&
    typeof timestamp === 'number' &&
    Number.isSafeInteger(timestamp) &&
    timestamp >= 0 &&
    typeof content === 'string'
  );
}

const BASE_KEY_TYPES: Record<string, [(value: unknown) => boolean, string]> = {
  USERNAME_ACCEPTED: [(value) => typeof value === 'boolean', 'true or false'],
  INFO: [(value) => typeof value === 'string', 'a string'],
  ERROR: [(value) => typeof value === 'string', 'a string'],
  USER_LIST: [isStringList, 'a list of names'],
  USERS_JOINED: [isStringList, 'a list of names'],
  USERS_LEFT: [isStringList, 'a list of names'],
  MESSAGES: [
    (value) => Array.isArray(value) && value.every(isWireMessage),
    'a list of [SRC, DEST, TIMESTAMP (integer), CONTENT]',
  ],
};

/** What is wrong with the base keys of one server frame (empty when nothing is). */
export function baseKeyProblems(frame: WireFrame): string[] {
  const problems: string[] = [];
  for (const [key, [isValid, expected]] of Object.entries(BASE_KEY_TYPES)) {
    if (Object.hasOwn(frame, key) && !isValid(frame[key])) {
      problems.push(`${key} must be ${expected}: ${previewFrame(frame)}`);
    }
  }
  return problems;
}

/** Keys outside the base set in the frames a client received. */
export function extensionKeysReceived(client: ProbeClient): { key: string; frame: WireFrame }[] {
  const found: { key: string; frame: WireFrame }[] = [];
  for (const frame of client.received) {
    for (const key of Object.keys(frame)) if (!BASE_SERVER_KEYS.has(key)) found.push({ key, frame });
  }
  return found;
}

/**
 * Everything wrong with what one client received: undecodable frames, base keys of the wrong type,
 * and extension keys sent to a client that never sent FEATURES.
 */
export function receivedProblems(client: ProbeClient): string[] {
  const problems = [...client.problems, ...client.received.flatMap(baseKeyProblems)];
  if (!client.sentFeatures) {
    for (const { key, frame } of extensionKeysReceived(client)) {
      problems.push(`key ${key} sent to a client that never sent FEATURES: ${previewFrame(frame)}`);
    }
  }
  return problems;
}

// ---- helpers ------------------------------------------------------------------------------------

/** Fails the scenario with exactly `message` (node:assert would append a diff to it). */
function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

function checkEqual(actual: unknown, expected: unknown, message: string): void {
  check(Object.is(actual, expected), message);
}

function checkNotEqual(actual: unknown, unexpected: unknown, message: string): void {
  check(!Object.is(actual, unexpected), message);
}

/** Same JSON value (the kit compares only what came off the wire). */
function checkSame(actual: unknown, expected: unknown, message: string): void {
  check(JSON.stringify(actual) === JSON.stringify(expected), message);
}

interface Login {
  client: ProbeClient;
  name: string;
  /** The frame that carried USERNAME_ACCEPTED: true. */
  accept: WireFrame;
}

type Entry = unknown[];

const has = (key: string) => (frame: WireFrame) => Object.hasOwn(frame, key);
const nowSeconds = () => Math.floor(Date.now() / 1000);
const quote = (value: unknown) => JSON.stringify(value);

function chat(src: string, dest: string, content: string): object {
  return { MESSAGES: [[src, dest, nowSeconds(), content]] };
}

function entriesOf(frame: WireFrame): Entry[] {
  return Array.isArray(frame.MESSAGES)
    ? frame.MESSAGES.filter((entry): entry is Entry => Array.isArray(entry))
    : [];
}

function entryWith(frame: WireFrame, content: string): Entry | undefined {
  return entriesOf(frame).find((entry) => entry[3] === content);
}

const carries = (content: string) => (frame: WireFrame) => entryWith(frame, content) !== undefined;
const mentions = (key: string, name: string) => (frame: WireFrame) =>
  Array.isArray(frame[key]) && (frame[key] as unknown[]).includes(name);

/** Sends USERNAME on `client` (a new connection by default) and requires USERNAME_ACCEPTED: true. */
async function login(ctx: ScenarioContext, name = ctx.freshName(), client?: ProbeClient): Promise<Login> {
  const connection = client ?? (await ctx.connect());
  connection.send({ USERNAME: name });
  const accept = await connection.waitFor('USERNAME_ACCEPTED', has('USERNAME_ACCEPTED'), ctx.replyMs);
  checkEqual(
    accept.USERNAME_ACCEPTED,
    true,
    `the login as ${quote(name)} was refused: ${previewFrame(accept)}`,
  );
  return { client: connection, name, accept };
}

/** Sends USERNAME and requires a refusal: USERNAME_ACCEPTED false with an INFO string. */
async function expectRefused(
  ctx: ScenarioContext,
  client: ProbeClient,
  name: string,
  why: string,
): Promise<void> {
  client.send({ USERNAME: name });
  const answer = await client.waitFor(
    `USERNAME_ACCEPTED for ${quote(name)}`,
    has('USERNAME_ACCEPTED'),
    ctx.replyMs,
  );
  checkEqual(answer.USERNAME_ACCEPTED, false, `${why}: ${quote(name)} was accepted: ${previewFrame(answer)}`);
  checkEqual(
    typeof answer.INFO,
    'string',
    `a refusal carries an INFO string saying why: ${previewFrame(answer)}`,
  );
}

/** Waits for the ERROR that answers the input just sent; its text is free, its type is a string. */
async function expectError(ctx: ScenarioContext, client: ProbeClient, input: string): Promise<WireFrame> {
  const frame = await client.waitFor(`ERROR (the answer to ${input})`, has('ERROR'), ctx.replyMs);
  checkEqual(typeof frame.ERROR, 'string', `ERROR must be a string: ${previewFrame(frame)}`);
  return frame;
}

/** Waits for a MESSAGES entry whose CONTENT is `content`. */
async function waitForEntry(
  ctx: ScenarioContext,
  client: ProbeClient,
  content: string,
  who: string,
): Promise<Entry> {
  const frame = await client.waitFor(
    `MESSAGES holding ${quote(content)} (${who})`,
    carries(content),
    ctx.replyMs,
  );
  return entryWith(frame, content)!;
}

function assertTimestamp(value: unknown): void {
  check(
    typeof value === 'number' && Number.isInteger(value),
    `TIMESTAMP must be an integer JSON number, got ${quote(value)}`,
  );
  const now = nowSeconds();
  check(
    Math.abs(value - now) < 86_400,
    `TIMESTAMP ${value} is not in seconds since the epoch (now is ${now})`,
  );
}

/** A delivered message is exactly [SRC, DEST, TIMESTAMP (integer seconds), CONTENT]. */
function assertEntry(entry: Entry, src: string, dest: string, content: string, who: string): void {
  checkEqual(entry.length, 4, `${who}: a message is a 4-element array, got ${quote(entry)}`);
  checkSame(
    [entry[0], entry[1], entry[3]],
    [src, dest, content],
    `${who}: expected [${quote(src)}, ${quote(dest)}, TIMESTAMP, ${quote(content)}], got ${quote(entry)}`,
  );
  assertTimestamp(entry[2]);
}

/**
 * The connection is still logged in and served: its message to ALL reaches another user (`observer`,
 * or a fresh one). Another user, not the sender's own copy: only chat.broadcast depends on the echo.
 */
async function assertStillChatting(ctx: ScenarioContext, user: Login, observer?: Login): Promise<void> {
  const watcher = observer ?? (await login(ctx));
  const content = `still here ${ctx.freshToken()}`;
  user.client.send(chat(user.name, DEST_ALL, content));
  await waitForEntry(
    ctx,
    watcher.client,
    content,
    `${user.name}'s message, showing the connection still works`,
  );
}

/** Logs in several users one after the other (concurrent logins would race their USERS_JOINED). */
async function loginMany(ctx: ScenarioContext, count: number): Promise<Login[]> {
  const users: Login[] = [];
  for (let i = 0; i < count; i++) users.push(await login(ctx));
  return users;
}

/** A message entry with SRC `name` in what `client` received, other than `allowed`. */
function strayMessagesFrom(client: ProbeClient, name: string, allowed: string[]): Entry[] {
  return client.received
    .flatMap(entriesOf)
    .filter((entry) => entry[0] === name && !allowed.includes(entry[3] as string));
}

function header(length: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(length, 0);
  return bytes;
}

/** Waits for an ERROR or the close that answers a fatal framing error. */
async function expectErrorOrClose(ctx: ScenarioContext, client: ProbeClient, input: string): Promise<void> {
  const deadline = Date.now() + ctx.replyMs;
  for (;;) {
    const frame = await client.next(Math.max(1, deadline - Date.now())).catch(() => {
      throw new Error(`${input} was answered with neither ERROR nor a close within ${ctx.replyMs} ms`);
    });
    if (frame === undefined || Object.hasOwn(frame, 'ERROR')) return;
  }
}

/** A message frame of the wrong type, built for the sender `name` at time `now`. */
type WrongTypeCase = [
  suffix: string,
  what: string,
  build: (name: string, now: number, token: string) => object,
];

const WRONG_TYPE_CASES: WrongTypeCase[] = [
  ['messages-string', 'MESSAGES as a string', (_name, _now, token) => ({ MESSAGES: `hello ${token}` })],
  [
    'message-string',
    'a message that is a string, not an array',
    (_name, _now, token) => ({ MESSAGES: [`hello ${token}`] }),
  ],
  ['message-3-elements', 'a message of 3 elements', (name, now) => ({ MESSAGES: [[name, DEST_ALL, now]] })],
  [
    'timestamp-string',
    'TIMESTAMP as a string',
    (name, now, token) => ({ MESSAGES: [[name, DEST_ALL, String(now), `string time ${token}`]] }),
  ],
  ['content-number', 'CONTENT as a number', (name, now) => ({ MESSAGES: [[name, DEST_ALL, now, 42]] })],
];

/** errors.wrong-types.*: one scenario per malformed message, so each refusal is its own line. */
function wrongTypeScenarios(): Scenario[] {
  return WRONG_TYPE_CASES.map(([suffix, what, build]) => ({
    id: `errors.wrong-types.${suffix}`,
    group: 'errors',
    title: `${what} is answered with ERROR, nothing of it is delivered, and the connection stays usable`,
    async run(ctx) {
      const [observer, user] = await loginMany(ctx, 2);
      user.client.send(build(user.name, nowSeconds(), ctx.freshToken()));
      await expectError(ctx, user.client, what);
      const content = `well typed ${ctx.freshToken()}`;
      user.client.send(chat(user.name, DEST_ALL, content));
      await waitForEntry(ctx, observer.client, content, `${user.name}'s message after the refusal`);
      const stray = strayMessagesFrom(observer.client, user.name, [content]);
      checkSame(stray, [], `the refused frame (${what}) was delivered: ${quote(stray)}`);
    },
  }));
}

// ---- the scenarios ------------------------------------------------------------------------------

const loginScenarios: Scenario[] = [
  {
    id: 'login.accepted',
    group: 'login',
    title:
      'a login is accepted with USERNAME_ACCEPTED true, an INFO string and a USER_LIST holding the new user and those already online',
    async run(ctx) {
      const first = await login(ctx);
      const second = await login(ctx);
      // Base servers send all three keys in one frame; a server that splits them still passes.
      const seen: WireFrame = { ...second.accept };
      while (!Object.hasOwn(seen, 'INFO') || !Object.hasOwn(seen, 'USER_LIST')) {
        Object.assign(
          seen,
          await second.client.waitFor(
            'the rest of the accept (INFO, USER_LIST)',
            (frame) => has('INFO')(frame) || has('USER_LIST')(frame),
            ctx.replyMs,
          ),
        );
      }
      checkEqual(typeof seen.INFO, 'string', `INFO must be a string: ${previewFrame(seen)}`);
      check(isStringList(seen.USER_LIST), `USER_LIST must be a list of names: ${previewFrame(seen)}`);
      const list = seen.USER_LIST as string[];
      check(list.includes(second.name), `USER_LIST lacks the new user ${second.name}: ${quote(list)}`);
      check(list.includes(first.name), `USER_LIST lacks ${first.name}, who is online: ${quote(list)}`);
    },
  },
  {
    id: 'login.users-joined',
    group: 'login',
    title: 'when a user logs in, the users already online receive USERS_JOINED with the name',
    async run(ctx) {
      const [first, second] = await loginMany(ctx, 2);
      await first.client.waitFor(
        `USERS_JOINED with ${second.name}`,
        mentions('USERS_JOINED', second.name),
        ctx.replyMs,
      );
    },
  },
  {
    id: 'login.duplicate-refused',
    group: 'login',
    title:
      'a name that is online is refused with USERNAME_ACCEPTED false and INFO, and another name then succeeds on the same connection',
    async run(ctx) {
      const holder = await login(ctx);
      const other = await ctx.connect();
      await expectRefused(ctx, other, holder.name, 'a name already online must be refused');
      const retry = await login(ctx, ctx.freshName(), other);
      await holder.client.waitFor(
        `USERS_JOINED with ${retry.name}`,
        mentions('USERS_JOINED', retry.name),
        ctx.replyMs,
      );
      const announced = holder.client.received.find(mentions('USERS_JOINED', holder.name));
      checkEqual(announced, undefined, `the refused duplicate was announced: ${previewFrame(announced)}`);
    },
  },
  {
    id: 'login.extra-keys-accepted',
    group: 'login',
    title:
      'a login frame carrying a key of its own next to USERNAME (e.g. VERSION) is accepted: a client may send more keys at login',
    async run(ctx) {
      const observer = await login(ctx);
      const client = await ctx.connect();
      const name = ctx.freshName();
      client.send({ USERNAME: name, VERSION: 1 });
      const answer = await client.waitFor(
        `USERNAME_ACCEPTED (the answer to a login with VERSION)`,
        (frame) => has('USERNAME_ACCEPTED')(frame) || has('ERROR')(frame),
        ctx.replyMs,
      );
      checkEqual(
        answer.USERNAME_ACCEPTED,
        true,
        `a login with an extra key must be accepted (PROTOCOL-BASE: "a client may send more keys at login"): ${previewFrame(answer)}`,
      );
      await assertStillChatting(ctx, { client, name, accept: answer }, observer);
    },
  },
  {
    id: 'login.empty-name-refused',
    group: 'login',
    title: 'the empty name is refused, and a valid one then succeeds on the same connection',
    async run(ctx) {
      const client = await ctx.connect();
      await expectRefused(ctx, client, '', 'the empty name must be refused');
      await login(ctx, ctx.freshName(), client);
    },
  },
  {
    id: 'login.case-variant-refused',
    group: 'login',
    requires: ['msg-name-rules'],
    title: "a name differing only in letter case from an online one ('Bob' vs 'bob') is refused",
    async run(ctx) {
      const holder = await login(ctx);
      const variant = holder.name[0].toUpperCase() + holder.name.slice(1);
      const other = await ctx.connect();
      await expectRefused(ctx, other, variant, `${quote(variant)} is the same user as ${quote(holder.name)}`);
    },
  },
  {
    id: 'login.invalid-names-refused',
    group: 'login',
    requires: ['msg-name-rules'],
    title:
      "names that Msg's rules forbid (with a space, a newline, a control character; 'ALL') are refused, and a valid one then succeeds on the same connection",
    async run(ctx) {
      const client = await ctx.connect();
      const base = ctx.freshName();
      const invalid: [string, string][] = [
        [`${base} x`, 'a name with a space'],
        [`${base}\nx`, 'a name with a newline'],
        [`${base}\u0007x`, 'a name with a control character'],
        [DEST_ALL, `${DEST_ALL}, the broadcast destination`],
      ];
      for (const [name, what] of invalid) await expectRefused(ctx, client, name, `${what} must be refused`);
      await login(ctx, ctx.freshName(), client);
    },
  },
  {
    id: 'login.users-left',
    group: 'login',
    title: 'when a user closes its connection, the others receive USERS_LEFT with the name',
    async run(ctx) {
      const [stayer, leaver] = await loginMany(ctx, 2);
      leaver.client.close();
      await stayer.client.waitFor(
        `USERS_LEFT with ${leaver.name}`,
        mentions('USERS_LEFT', leaver.name),
        ctx.replyMs,
      );
    },
  },
];

const chatScenarios: Scenario[] = [
  {
    id: 'chat.broadcast',
    group: 'chat',
    title:
      'a message to ALL reaches every client, the sender included, as [SRC, DEST, TIMESTAMP (integer seconds), CONTENT]',
    async run(ctx) {
      const users = await loginMany(ctx, 3);
      const sender = users[0];
      const content = `hello all ${ctx.freshToken()}`;
      sender.client.send(chat(sender.name, DEST_ALL, content));
      for (const user of users) {
        const who = user === sender ? `the sender ${user.name}` : user.name;
        assertEntry(await waitForEntry(ctx, user.client, content, who), sender.name, DEST_ALL, content, who);
      }
    },
  },
  ...(['raw', 'escaped'] as const).map((form): Scenario => ({
    id: `chat.non-ascii.${form}`,
    group: 'chat',
    isDisruptive: form === 'raw',
    title:
      form === 'raw'
        ? 'non-ASCII content sent as raw UTF-8 (2-, 3- and 4-byte characters, so N counts more bytes than characters) reaches others unchanged'
        : 'non-ASCII content sent as \\u escapes (pure ASCII on the wire, surrogate pairs included) reaches others unchanged',
    async run(ctx) {
      const [sender, reader] = await loginMany(ctx, 2);
      const content =
        form === 'raw' ? `${ctx.freshToken()} héllo wörld — 日本語 🎉 Ω` : `${ctx.freshToken()} ça 中文 🚀 ∑`;
      sender.client.send(chat(sender.name, DEST_ALL, content), form === 'raw' ? 'utf8' : 'ascii');
      assertEntry(
        await waitForEntry(ctx, reader.client, content, reader.name),
        sender.name,
        DEST_ALL,
        content,
        reader.name,
      );
    },
  })),
  {
    id: 'chat.history',
    group: 'chat',
    title: "a newcomer's accept carries MESSAGES holding earlier public messages, oldest first",
    async run(ctx) {
      const [author, watcher] = await loginMany(ctx, 2);
      const contents = [`earlier one ${ctx.freshToken()}`, `earlier two ${ctx.freshToken()}`];
      for (const content of contents) {
        author.client.send(chat(author.name, DEST_ALL, content));
        await waitForEntry(ctx, watcher.client, content, watcher.name); // handled before the newcomer asks
      }
      const newcomer = await login(ctx);
      // Base servers put the history in the accept frame; MESSAGES frames right after it also count.
      const history = entriesOf(newcomer.accept);
      const found = () => contents.map((content) => history.findIndex((entry) => entry[3] === content));
      while (found().includes(-1)) {
        const frame = await newcomer.client.waitFor(
          `history MESSAGES holding ${quote(contents)}`,
          (each) => entriesOf(each).length > 0,
          ctx.replyMs,
        );
        history.push(...entriesOf(frame));
      }
      const [first, second] = found();
      check(
        first < second,
        `history must be oldest first: ${quote(contents[1])} came before ${quote(contents[0])}`,
      );
      assertEntry(history[first], author.name, DEST_ALL, contents[0], `${newcomer.name}'s history`);
    },
  },
  {
    id: 'chat.spoofed-src-refused',
    group: 'chat',
    title: 'a message whose SRC is not the sender is answered with ERROR and delivered to nobody',
    async run(ctx) {
      const [spoofer, victim] = await loginMany(ctx, 2);
      const content = `spoofed ${ctx.freshToken()}`;
      spoofer.client.send(chat(victim.name, DEST_ALL, content));
      await expectError(ctx, spoofer.client, `a message with SRC ${victim.name} from ${spoofer.name}`);
      await Promise.all(
        [spoofer, victim].map((user) =>
          user.client.expectNone(`the spoofed message reached ${user.name}`, carries(content), ctx.silenceMs),
        ),
      );
    },
  },
];

const errorScenarios: Scenario[] = [
  {
    id: 'errors.before-login',
    group: 'errors',
    title:
      'MESSAGES before login is answered with ERROR, delivered to nobody, and login then succeeds on the same connection',
    async run(ctx) {
      const bystander = await login(ctx);
      const client = await ctx.connect();
      const content = `before login ${ctx.freshToken()}`;
      client.send(chat(ctx.freshName(), DEST_ALL, content));
      await expectError(ctx, client, 'MESSAGES before login');
      await bystander.client.expectNone(
        'a message sent before login was delivered',
        carries(content),
        ctx.silenceMs,
      );
      await login(ctx, ctx.freshName(), client);
    },
  },
  {
    id: 'errors.invalid-json',
    group: 'errors',
    title:
      'a payload that is not JSON is answered with ERROR, before and after login, and the connection stays usable',
    async run(ctx) {
      const client = await ctx.connect();
      client.sendPayload('{"USERNAME": ');
      await expectError(ctx, client, 'truncated JSON before login');
      const user = await login(ctx, ctx.freshName(), client);
      client.sendPayload('this is not json');
      await expectError(ctx, client, 'a payload that is not JSON');
      await assertStillChatting(ctx, user);
    },
  },
  {
    id: 'errors.not-object',
    group: 'errors',
    title:
      'JSON whose top level is not an object (array, string, number, null) is answered with ERROR and the connection stays usable',
    async run(ctx) {
      const user = await login(ctx);
      for (const payload of ['[1, 2]', '"USERNAME"', '42', 'null']) {
        user.client.sendPayload(payload);
        await expectError(ctx, user.client, `the JSON ${payload}`);
      }
      await assertStillChatting(ctx, user);
    },
  },
  {
    id: 'errors.wrong-types.username-number',
    group: 'errors',
    title:
      'a USERNAME that is a number is refused (ERROR or USERNAME_ACCEPTED false), and a valid name then succeeds on the same connection',
    async run(ctx) {
      const client = await ctx.connect();
      client.send({ USERNAME: 42 });
      const answer = await client.waitFor(
        'ERROR or USERNAME_ACCEPTED (the answer to USERNAME 42)',
        (frame) => has('ERROR')(frame) || has('USERNAME_ACCEPTED')(frame),
        ctx.replyMs,
      );
      checkNotEqual(answer.USERNAME_ACCEPTED, true, `USERNAME 42 was accepted: ${previewFrame(answer)}`);
      await login(ctx, ctx.freshName(), client);
    },
  },
  ...wrongTypeScenarios(),
  {
    id: 'errors.invalid-utf8',
    group: 'errors',
    isDisruptive: true,
    title:
      'a payload that is not valid UTF-8 (a stray 0xff, a truncated sequence, an encoded surrogate) is refused with ERROR, never delivered, and the connection stays usable',
    async run(ctx) {
      const [observer, user] = await loginMany(ctx, 2);
      const token = ctx.freshToken();
      const invalid: [number[], string][] = [
        [[0xff], 'a stray 0xff byte'],
        [[0xe6, 0x97], 'a truncated 3-byte sequence'],
        [[0xed, 0xa0, 0x80], 'an encoded surrogate (CESU-8)'],
      ];
      for (const [bytes, what] of invalid) {
        const before = `{"MESSAGES": [[${quote(user.name)}, "ALL", ${nowSeconds()}, "bad utf-8 ${token} `;
        user.client.sendPayload(
          Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from('"]]}')]),
        );
        await expectError(ctx, user.client, `a payload holding ${what}`);
      }
      await assertStillChatting(ctx, user, observer);
      const delivered = observer.client.received
        .flatMap(entriesOf)
        .find((entry) => String(entry[3]).includes(token));
      checkEqual(
        delivered,
        undefined,
        `an invalid UTF-8 message was delivered (decoded leniently?): ${quote(delivered)}`,
      );
    },
  },
  {
    id: 'errors.base-keys-only',
    group: 'errors',
    title:
      'a client that never sent FEATURES receives only base keys, in refusals, errors, accepts and chat alike',
    async run(ctx) {
      const holder = await login(ctx);
      const client = await ctx.connect();
      // A taken name, not the empty one: every server refuses it, so this checks only the keys.
      await expectRefused(ctx, client, holder.name, 'a name already online must be refused');
      client.send(chat(holder.name, DEST_ALL, 'not logged in'));
      await expectError(ctx, client, 'MESSAGES before login');
      const user = await login(ctx, ctx.freshName(), client);
      client.sendPayload('not json');
      await expectError(ctx, client, 'a payload that is not JSON');
      client.send(chat(holder.name, DEST_ALL, `spoofed ${ctx.freshToken()}`));
      await expectError(ctx, client, 'a spoofed SRC');
      await assertStillChatting(ctx, user);
      for (const each of [holder.client, client]) {
        const extension = extensionKeysReceived(each)[0];
        checkEqual(
          extension,
          undefined,
          `key ${extension?.key} reached a client that never sent FEATURES: ${previewFrame(extension?.frame)}`,
        );
      }
    },
  },
];

const privateScenarios: Scenario[] = [
  {
    id: 'private.only-recipient',
    group: 'private',
    requires: ['private'],
    title:
      'a message to one user reaches that user as [SRC, DEST, TIMESTAMP, CONTENT], and a third user receives nothing',
    async run(ctx) {
      const [sender, recipient, third] = await loginMany(ctx, 3);
      const content = `just for you ${ctx.freshToken()}`;
      sender.client.send(chat(sender.name, recipient.name, content));
      const entry = await waitForEntry(ctx, recipient.client, content, `the recipient ${recipient.name}`);
      assertEntry(entry, sender.name, recipient.name, content, recipient.name);
      await third.client.expectNone(
        `a private message for ${recipient.name} reached ${third.name}`,
        carries(content),
        ctx.silenceMs,
      );
    },
  },
  {
    id: 'private.unknown-user',
    group: 'private',
    // No requirement: a server that routes nothing but ALL must refuse this too.
    title: 'a message to a user who has never been seen is answered with ERROR',
    async run(ctx) {
      const sender = await login(ctx);
      const nobody = ctx.freshName();
      sender.client.send(chat(sender.name, nobody, `to nobody ${ctx.freshToken()}`));
      await expectError(ctx, sender.client, `a message to ${nobody}, who has never been seen`);
    },
  },
  {
    id: 'private.history',
    group: 'private',
    requires: ['private'],
    title:
      "a newcomer's history holds the private messages addressed to them, and nobody else's history does",
    async run(ctx) {
      const [sender, recipient] = await loginMany(ctx, 2);
      const content = `private, kept ${ctx.freshToken()}`;
      sender.client.send(chat(sender.name, recipient.name, content));
      await waitForEntry(ctx, recipient.client, content, `the recipient ${recipient.name}`);
      recipient.client.close();
      await sender.client.waitFor(
        `USERS_LEFT with ${recipient.name}`,
        mentions('USERS_LEFT', recipient.name),
        ctx.replyMs,
      );
      const stranger = await login(ctx);
      const back = await login(ctx, recipient.name);
      const history = [...entriesOf(back.accept)];
      while (!history.some((entry) => entry[3] === content)) {
        const frame = await back.client.waitFor(
          `history MESSAGES holding ${quote(content)}`,
          (each) => entriesOf(each).length > 0,
          ctx.replyMs,
        );
        history.push(...entriesOf(frame));
      }
      assertEntry(
        history.find((entry) => entry[3] === content)!,
        sender.name,
        recipient.name,
        content,
        `${recipient.name}'s history`,
      );
      checkEqual(
        entryWith(stranger.accept, content),
        undefined,
        `${stranger.name}'s history holds a private message for ${recipient.name}`,
      );
      await stranger.client.expectNone(
        `a private message for ${recipient.name} reached ${stranger.name}`,
        carries(content),
        ctx.silenceMs,
      );
    },
  },
];

const framingScenarios: Scenario[] = [
  {
    id: 'framing.header-split',
    group: 'framing',
    isDisruptive: true,
    title:
      'frames whose 4-byte header arrives split 1+3, 2+2 and 3+1 (in separate writes) are parsed as if whole',
    async run(ctx) {
      const observer = await login(ctx);
      const client = await ctx.connect();
      const name = ctx.freshName();
      const contents = [`split 2+2 ${ctx.freshToken()}`, `split 3+1 ${ctx.freshToken()}`];
      const send = (message: object, split: number) => {
        const frame = frameBytes(JSON.stringify(message));
        return client.writeInPieces(frame, [split, 4 - split], 20); // head, rest of header, body
      };
      await send({ USERNAME: name }, 1);
      const accept = await client.waitFor(
        'USERNAME_ACCEPTED (header split 1+3)',
        has('USERNAME_ACCEPTED'),
        ctx.replyMs,
      );
      checkEqual(accept.USERNAME_ACCEPTED, true, `the login as ${name} was refused: ${previewFrame(accept)}`);
      for (const [index, content] of contents.entries()) {
        await send(chat(name, DEST_ALL, content), index + 2);
        await waitForEntry(
          ctx,
          observer.client,
          content,
          `${observer.name}, header split ${index + 2}+${2 - index}`,
        );
      }
    },
  },
  {
    id: 'framing.trickle',
    group: 'framing',
    isDisruptive: true,
    title:
      'a whole frame written one byte at a time, splitting multi-byte UTF-8 characters, is parsed as if whole',
    async run(ctx) {
      const [user, reader] = await loginMany(ctx, 2);
      const content = `trickled ${ctx.freshToken()} é日🎉`;
      const frame = frameBytes(JSON.stringify(chat(user.name, DEST_ALL, content)));
      await user.client.writeInPieces(frame, new Array<number>(frame.length).fill(1), 2);
      assertEntry(
        await waitForEntry(ctx, reader.client, content, reader.name),
        user.name,
        DEST_ALL,
        content,
        reader.name,
      );
    },
  },
  {
    id: 'framing.coalesced',
    group: 'framing',
    title: 'a login and four messages sent in one write are all handled, in order',
    async run(ctx) {
      const observer = await login(ctx);
      const client = await ctx.connect();
      const name = ctx.freshName();
      const token = ctx.freshToken();
      const contents = [1, 2, 3, 4].map((n) => `coalesced ${token} #${n}`);
      const frames = [{ USERNAME: name }, ...contents.map((content) => chat(name, DEST_ALL, content))];
      client.sendRaw(Buffer.concat(frames.map((frame) => frameBytes(JSON.stringify(frame)))));
      const accept = await client.waitFor('USERNAME_ACCEPTED', has('USERNAME_ACCEPTED'), ctx.replyMs);
      checkEqual(accept.USERNAME_ACCEPTED, true, `the login as ${name} was refused: ${previewFrame(accept)}`);
      // The observer sees them only if the login was handled first (else: ERROR, not logged in).
      const ours = () =>
        observer.client.received.flatMap(entriesOf).filter((entry) => contents.includes(entry[3] as string));
      while (ours().length < contents.length) {
        await observer.client.waitFor(
          `MESSAGES holding the coalesced messages (${ours().length} of ${contents.length} so far)`,
          (frame) => entriesOf(frame).some((entry) => contents.includes(entry[3] as string)),
          ctx.replyMs,
        );
      }
      checkSame(
        ours().map((entry) => entry[3]),
        contents,
        'the messages of one write must be delivered in the order sent',
      );
    },
  },
  {
    id: 'framing.exact-limit',
    group: 'framing',
    isDisruptive: true,
    title:
      'a frame of exactly maxFrameBytes (a login padded with JSON whitespace) passes the framing layer: it is answered and the connection stays open',
    async run(ctx) {
      const client = await ctx.connect();
      const name = ctx.freshName();
      // Whitespace between JSON tokens is insignificant: this is an ordinary, valid login.
      const head = `{"USERNAME": ${quote(name)}`;
      const padding = ctx.profile.maxFrameBytes - head.length - 1;
      check(padding >= 0, `maxFrameBytes ${ctx.profile.maxFrameBytes} is too small for a login`);
      const payload = `${head}${' '.repeat(padding)}}`;
      client.sendPayload(payload);
      const answer = await client.waitFor(
        'an answer to the frame of exactly maxFrameBytes',
        (frame) => has('USERNAME_ACCEPTED')(frame) || has('ERROR')(frame),
        ctx.replyMs,
      );
      const user =
        answer.USERNAME_ACCEPTED === true
          ? { client, name, accept: answer }
          : await login(ctx, ctx.freshName(), client);
      checkEqual(client.isClosed, false, 'the connection was closed after a frame within the limit');
      await assertStillChatting(ctx, user);
    },
  },
  {
    id: 'framing.half-frame-disconnect',
    group: 'framing',
    isDisruptive: true,
    title:
      'a client that sends half a frame and disconnects is announced as left, its name is free again, and others are still served',
    async run(ctx) {
      const [stayer, quitter] = await loginMany(ctx, 2);
      quitter.client.sendRaw(Buffer.concat([header(100), Buffer.from('{"MESSAGES": ')]));
      await ctx.sleep(20);
      quitter.client.destroy();
      await stayer.client.waitFor(
        `USERS_LEFT with ${quitter.name}`,
        mentions('USERS_LEFT', quitter.name),
        ctx.replyMs,
      );
      await assertStillChatting(ctx, stayer);
      await login(ctx, quitter.name);
    },
  },
  {
    id: 'framing.oversize',
    group: 'framing',
    isDisruptive: true,
    title:
      'a length above maxFrameBytes (and 0xFFFFFFFF) is answered with ERROR and/or a close without waiting for the body, and the server still serves others',
    async run(ctx) {
      const bystander = await login(ctx);
      for (const length of [ctx.profile.maxFrameBytes + 1, 0xffffffff]) {
        const client = await ctx.connect();
        client.sendRaw(header(length)); // and never a byte of the body
        await expectErrorOrClose(ctx, client, `the length ${length} (limit ${ctx.profile.maxFrameBytes})`);
        client.destroy();
      }
      await assertStillChatting(ctx, bystander);
      await login(ctx);
    },
  },
];

const extensionScenarios: Scenario[] = [
  {
    id: 'extensions.error-code',
    group: 'extensions',
    title:
      'a client granted FEATURES ["CODE"] receives a CODE from the error-code table with every ERROR (runs only if the server answers FEATURES)',
    async run(ctx) {
      const client = await ctx.connect();
      const name = ctx.freshName();
      client.send({ USERNAME: name, FEATURES: ['CODE'] });
      const accept = await client.waitFor(
        'USERNAME_ACCEPTED',
        (frame) => has('USERNAME_ACCEPTED')(frame) || has('ERROR')(frame),
        ctx.replyMs,
      );
      const granted =
        accept.USERNAME_ACCEPTED === true && Array.isArray(accept.FEATURES) ? accept.FEATURES : undefined;
      if (!granted) return ctx.skip('the server does not answer FEATURES');
      if (!granted.includes('CODE')) ctx.skip('the server does not grant CODE');
      const cases: [() => void, string, string][] = [
        [() => client.sendPayload('not json'), 'ERR_BAD_JSON', 'a payload that is not JSON'],
        [() => client.sendPayload('[1, 2]'), 'ERR_NOT_OBJECT', 'a JSON array'],
        [() => client.send(chat(ctx.freshName(), DEST_ALL, 'spoofed')), 'ERR_SPOOFED_SRC', 'a spoofed SRC'],
      ];
      for (const [send, code, what] of cases) {
        send();
        const error = await expectError(ctx, client, what);
        check(
          Object.hasOwn(ERROR_CODES, String(error.CODE)),
          `CODE must be one of the error-code table, got ${previewFrame(error)}`,
        );
        checkEqual(error.CODE, code, `${what}: expected CODE ${code}: ${previewFrame(error)}`);
      }
    },
  },
];

const ALL_SCENARIOS: readonly Scenario[] = [
  ...loginScenarios,
  ...chatScenarios,
  ...errorScenarios,
  ...privateScenarios,
  ...framingScenarios,
  ...extensionScenarios,
];

/**
 * Every scenario, in the order the runner uses: the ordinary behaviour first, then the disruptive
 * scenarios, the gentlest first (raw UTF-8 before an oversize length), so that a fragile server is
 * measured as far as it goes before something knocks it over.
 */
export const SCENARIOS: readonly Scenario[] = [
  ...ALL_SCENARIOS.filter((scenario) => !scenario.isDisruptive),
  ...ALL_SCENARIOS.filter((scenario) => scenario.isDisruptive),
];
