import { hash, verify } from '@node-rs/argon2';
import { Semaphore } from '../lib/semaphore.ts';

/**
 * argon2id parameters recommended by OWASP (m=19456 KiB, t=2, p=1).
 * @see https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html#argon2id
 */
export const passwordParams = { memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/** Shortest and longest password accepted at sign-up (bytes bound the hashing cost). */
export const passwordMinLength = 8;
export const passwordMaxLength = 256;

/** Hashes and verifies passwords with argon2id, with a bounded number of hashes in flight. */
export class PasswordHasher {
  readonly #slots: Semaphore;
  // 2 is Algorithm.Argon2id (a const enum, which verbatimModuleSyntax cannot import).
  readonly #options = { algorithm: 2 as const, ...passwordParams };
  #dummyHash: Promise<string> | undefined;

  constructor(options: { concurrency: number }) {
    this.#slots = new Semaphore(options.concurrency);
  }

  /** A PHC string for a new password. */
  hash(password: string): Promise<string> {
    return this.#slots.run(() => hash(password, this.#options));
  }

  /**
   * Checks a password against a stored hash. Passing `null` (unknown email) still spends one
   * verification, so both answers take the same time.
   */
  async verify(storedHash: string | null, password: string): Promise<boolean> {
    this.#dummyHash ??= this.hash('sesame-timing-equaliser');
    const target = storedHash ?? (await this.#dummyHash);
    const ok = await this.#slots.run(() => verify(target, password).catch(() => false));
    return storedHash !== null && ok;
  }

  /** True when a stored hash was made with other parameters and should be replaced at next sign-in. */
  needsRehash(storedHash: string): boolean {
    const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(storedHash);
    if (!match) return true;
    return (
      Number(match[1]) !== passwordParams.memoryCost ||
      Number(match[2]) !== passwordParams.timeCost ||
      Number(match[3]) !== passwordParams.parallelism
    );
  }

  /** Hashes waiting for a slot (for metrics and tests). */
  get queued(): number {
    return this.#slots.queued;
  }
}
