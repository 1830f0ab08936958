import {
  DEST_ALL,
  ProtocolError,
  checkUsername,
  decodePayload,
  errorFrame,
  isProtocolError,
  LOGIN_KEYS,
  parseClientFrame,
  quoteInput,
  stringifyAscii,
  type ClientFrame,
  type ServerFrame,
} from '#shared';
import type { HubReply, SessionIntent, SessionOptions } from './thread-messages.ts';

/** Frames a client may pipeline behind its USERNAME while the Hub decides on the name. */
const MAX_FRAMES_WHILE_CLAIMING = 64;

/**
 * One connection's protocol state, sans-I/O: frames in, intents out. It owns what needs no global
 * knowledge (decoding, validation, login state, the SRC check) so that work runs on a worker thread;
 * the Hub owns everything shared. Stage 4 and later reuse it unchanged.
 */
export class Session {
  #state: 'anonymous' | 'claiming' | 'ready' = 'anonymous';
  #name = '';
  /** Extension keys (e.g. CODE) may be sent only to a client that asked for them. */
  #features = new Set<string>();
  #queued: Uint8Array[] = [];
  #rest: ClientFrame | undefined;
  readonly #options: SessionOptions;

  constructor(options: SessionOptions) {
    this.#options = options;
  }

  get name(): string | undefined {
    return this.#state === 'ready' ? this.#name : undefined;
  }

  handleFrame(payload: Uint8Array): SessionIntent[] {
    if (this.#state === 'claiming') {
      if (this.#queued.length >= MAX_FRAMES_WHILE_CLAIMING) {
        return [this.#error(new ProtocolError('ERR_RATE_LIMITED', 'wait for the login answer'))];
      }
      this.#queued.push(payload);
      return [];
    }
    try {
      return this.#handle(parseClientFrame(decodePayload(payload), this.#options.limits));
    } catch (error) {
      if (!isProtocolError(error)) throw error;
      return [this.#error(error)];
    }
  }

  handleReply(reply: HubReply): SessionIntent[] {
    if (this.#state !== 'claiming') return [];
    if (reply.kind === 'login-accepted') {
      this.#state = 'ready';
      this.#name = reply.name;
      this.#features = new Set(reply.features);
    } else {
      this.#state = 'anonymous';
    }
    const intents: SessionIntent[] = [];
    const rest = this.#rest;
    this.#rest = undefined;
    if (rest) intents.push(...this.#guarded(() => this.#handle(rest)));
    const queued = this.#queued;
    this.#queued = [];
    for (const payload of queued) intents.push(...this.handleFrame(payload));
    return intents;
  }

  #handle(frame: ClientFrame): SessionIntent[] {
    if (frame.FEATURES?.includes('CODE') && this.#state === 'anonymous') this.#features.add('CODE');
    if (frame.USERNAME !== undefined) return this.#login(frame);
    for (const key of LOGIN_KEYS) {
      if (frame[key] !== undefined) throw new ProtocolError('ERR_BAD_TYPE', `${key} goes with USERNAME`);
    }
    if (this.#state !== 'ready') throw new ProtocolError('ERR_NOT_LOGGED_IN');
    const intents: SessionIntent[] = [];
    if (frame.MESSAGES) {
      // All or nothing: one spoofed SRC and nothing in the frame is delivered.
      const spoofed = frame.MESSAGES.find(([src]) => src !== this.#name);
      if (spoofed)
        throw new ProtocolError(
          'ERR_SPOOFED_SRC',
          `you are ${quoteInput(this.#name)}, not ${quoteInput(spoofed[0])}`,
        );
      for (const [, dest, , content] of frame.MESSAGES) {
        if (dest === DEST_ALL) this.#faultCommand(content);
      }
      intents.push({ kind: 'chat', messages: frame.MESSAGES });
    }
    if (frame.WHO !== undefined) intents.push({ kind: 'who', name: frame.WHO });
    if (frame.REGISTER !== undefined) intents.push({ kind: 'register', password: frame.REGISTER });
    if (frame.PASSWD !== undefined) intents.push({ kind: 'passwd', change: frame.PASSWD });
    return intents;
  }

  #login(frame: ClientFrame): SessionIntent[] {
    if (this.#state === 'ready')
      throw new ProtocolError('ERR_ALREADY_LOGGED_IN', `as ${quoteInput(this.#name)}`);
    const {
      USERNAME: name = '',
      FEATURES: features = [],
      PASSWORD: password,
      REGISTER: register,
      RESUME: resume,
      SINCE: since,
      ...rest
    } = frame;
    const hasRest = Object.keys(rest).length > 0;
    const why = checkUsername(name);
    if (why) {
      const refusal: ServerFrame = { USERNAME_ACCEPTED: false, INFO: why };
      if (this.#features.has('CODE')) refusal.CODE = 'ERR_NAME_INVALID';
      const intents: SessionIntent[] = [{ kind: 'reply', json: stringifyAscii(refusal) }];
      // What rode along is answered as after any refusal, not dropped in silence.
      if (hasRest) intents.push(this.#error(new ProtocolError('ERR_NOT_LOGGED_IN')));
      return intents;
    }
    this.#state = 'claiming';
    if (hasRest) this.#rest = rest;
    const credentials = { password, register, resume, since };
    const hasCredentials = Object.values(credentials).some((value) => value !== undefined);
    return [{ kind: 'login', name, features, ...(hasCredentials ? { credentials } : {}) }];
  }

  #guarded(run: () => SessionIntent[]): SessionIntent[] {
    try {
      return run();
    } catch (error) {
      if (!isProtocolError(error)) throw error;
      return [this.#error(error)];
    }
  }

  #error(error: ProtocolError): SessionIntent {
    return { kind: 'reply', json: stringifyAscii(errorFrame(error, this.#features.has('CODE'))) };
  }

  /** Test and demo hooks, off unless the server was built with faultCommands. */
  #faultCommand(content: string): void {
    if (!this.#options.faultCommands) return;
    const burn = /^\/burn (\d{1,5})$/.exec(content);
    if (burn) {
      const until = Date.now() + Number(burn[1]);
      while (Date.now() < until) {
        // spin: a session stuck on CPU, to show it does not stall the others
      }
    }
    if (content === '/crash') throw new Error('crash requested by /crash (fault commands are on)');
  }
}
