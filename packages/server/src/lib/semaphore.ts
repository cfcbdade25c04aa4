/** Bounds how many async jobs run at once; the rest wait in arrival order. */
export class Semaphore {
  #available: number;
  readonly #waiting: Array<() => void> = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new TypeError('Semaphore limit must be a positive integer');
    this.#available = limit;
  }

  /** Runs `job` once a slot is free. */
  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.#available > 0) this.#available--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await job();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#available++;
    }
  }

  /** Jobs waiting for a slot. */
  get queued(): number {
    return this.#waiting.length;
  }
}
