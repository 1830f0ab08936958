/** Failed attempts before the first wait, and how the wait grows. */
export interface ThrottleRules {
  /** Failures allowed before waits begin. */
  freeFailures: number;
  /** The first wait; each further failure doubles it... */
  baseDelayMs: number;
  /** ...up to this. */
  maxDelayMs: number;
  /** A quiet period after which the failures are forgotten. */
  forgetAfterMs: number;
  /** Entries remembered; the oldest is forgotten first (a flood of names cannot grow memory). */
  maxEntries: number;
}

export const ACCOUNT_THROTTLE: ThrottleRules = {
  freeFailures: 3,
  baseDelayMs: 2_000,
  maxDelayMs: 5 * 60_000,
  forgetAfterMs: 15 * 60_000,
  maxEntries: 50_000,
};

export const ADDRESS_THROTTLE: ThrottleRules = {
  freeFailures: 10,
  baseDelayMs: 2_000,
  maxDelayMs: 5 * 60_000,
  forgetAfterMs: 15 * 60_000,
  maxEntries: 50_000,
};

interface Entry {
  failures: number;
  lastAt: number;
  until: number;
}

/**
 * Exponential back-off of failed attempts per key (an account, an address): after `freeFailures`
 * each failure makes the next attempt wait longer. The caller refuses attempts while waitMs > 0.
 */
export class LoginThrottle {
  readonly #rules: ThrottleRules;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();

  constructor(rules: ThrottleRules, now: () => number = Date.now) {
    this.#rules = rules;
    this.#now = now;
  }

  /** Milliseconds before `key` may try again (0: now). */
  waitMs(key: string): number {
    const entry = this.#fresh(key);
    return entry ? Math.max(0, entry.until - this.#now()) : 0;
  }

  fail(key: string): void {
    const now = this.#now();
    const entry = this.#fresh(key) ?? { failures: 0, lastAt: now, until: 0 };
    entry.failures++;
    entry.lastAt = now;
    const over = entry.failures - this.#rules.freeFailures;
    if (over > 0)
      entry.until = now + Math.min(this.#rules.maxDelayMs, this.#rules.baseDelayMs * 2 ** (over - 1));
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    if (this.#entries.size > this.#rules.maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
  }

  succeed(key: string): void {
    this.#entries.delete(key);
  }

  #fresh(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry && this.#now() - entry.lastAt > this.#rules.forgetAfterMs && this.#now() >= entry.until) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }
}

/** "3 s", "2 min": a wait for people. */
export function describeWait(ms: number): string {
  const seconds = Math.ceil(ms / 1000);
  return seconds < 120 ? `${seconds} s` : `${Math.ceil(seconds / 60)} min`;
}
