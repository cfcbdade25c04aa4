/** Lets a background loop sleep until its next round or until someone has work for it now. */
export class Wakeup {
  #resolve: (() => void) | null = null;
  #pending = false;

  /** Wakes the loop (or makes its next wait return at once). */
  kick(): void {
    if (this.#resolve) {
      this.#resolve();
      this.#resolve = null;
    } else {
      this.#pending = true;
    }
  }

  /** Waits `ms`, or less if kicked. */
  wait(ms: number): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#resolve = null;
        resolve();
      }, ms);
      timer.unref?.();
      this.#resolve = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
