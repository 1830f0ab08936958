import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** scrypt's cost: N = 2^15 with r = 8 takes 32 MiB and ~50-100 ms here (RELIABILITY principle 10). */
export interface ScryptCost {
  N: number;
  r: number;
  p: number;
}

export const DEFAULT_SCRYPT_COST: ScryptCost = { N: 2 ** 15, r: 8, p: 1 };
const KEY_BYTES = 32;
const SALT_BYTES = 16;
/** Hashes at once: scrypt shares libuv's 4 threads with file writes (8 at once stalled a write 1.6 s). */
export const MAX_CONCURRENT_HASHES = 2;

export interface PasswordVerifier {
  salt: string;
  hash: string;
  cost: ScryptCost;
}

/**
 * Password hashing off the main thread (node:crypto's async scrypt runs in libuv's pool), at most
 * MAX_CONCURRENT_HASHES at once, the rest waiting in order.
 */
export class PasswordHasher {
  readonly cost: ScryptCost;
  #running = 0;
  readonly #waiting: (() => void)[] = [];
  /** A verifier nobody has, checked when the name is unknown so that takes as long as a wrong password. */
  #decoy: Promise<PasswordVerifier> | undefined;

  constructor(cost: ScryptCost = DEFAULT_SCRYPT_COST) {
    this.cost = cost;
  }

  /** A new verifier (fresh salt) for a password. */
  async create(password: string): Promise<PasswordVerifier> {
    const salt = randomBytes(SALT_BYTES);
    const hash = await this.#derive(password, salt, this.cost);
    return { salt: salt.toString('base64'), hash: hash.toString('base64'), cost: { ...this.cost } };
  }

  /** Whether the password matches; constant-time compare. `undefined` checks against a decoy. */
  async verify(password: string, verifier: PasswordVerifier | undefined): Promise<boolean> {
    const target = verifier ?? (await (this.#decoy ??= this.create(randomBytes(16).toString('hex'))));
    const expected = Buffer.from(target.hash, 'base64');
    const actual = await this.#derive(password, Buffer.from(target.salt, 'base64'), target.cost);
    return actual.length === expected.length && timingSafeEqual(actual, expected) && verifier !== undefined;
  }

  async #derive(password: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
    await this.#slot();
    try {
      const options: ScryptOptions = { ...cost, maxmem: 256 * cost.N * cost.r + 1024 * 1024 };
      return await new Promise<Buffer>((resolve, reject) =>
        scrypt(password.normalize('NFKC'), salt, KEY_BYTES, options, (error, key) =>
          error ? reject(error) : resolve(key),
        ),
      );
    } finally {
      this.#running--;
      this.#waiting.shift()?.();
    }
  }

  #slot(): Promise<void> {
    if (this.#running < MAX_CONCURRENT_HASHES) {
      this.#running++;
      return Promise.resolve();
    }
    return new Promise((resolve) =>
      this.#waiting.push(() => {
        this.#running++;
        resolve();
      }),
    );
  }
}
