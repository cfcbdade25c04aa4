import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SingleFlight } from '../../src/single-flight.ts';

/** A job whose settlement the test controls. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('SingleFlight', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('concurrent callers with one key share one job', async () => {
    const flight = new SingleFlight<string>({ rememberMs: 1000 });
    const job = deferred<string>();
    const start = vi.fn(() => job.promise);
    const calls = [flight.run('k', start), flight.run('k', start), flight.run('k', start)];
    job.resolve('successor');
    expect(await Promise.all(calls)).toEqual(['successor', 'successor', 'successor']);
    expect(start).toHaveBeenCalledTimes(1);
  });

  it('different keys run separately', async () => {
    const flight = new SingleFlight<string>({ rememberMs: 1000 });
    const start = vi.fn(async (v: string) => v);
    expect(await Promise.all([flight.run('a', () => start('a')), flight.run('b', () => start('b'))])).toEqual(
      ['a', 'b'],
    );
    expect(start).toHaveBeenCalledTimes(2);
  });

  it('a result is shared with late callers for rememberMs after it settles, then a new job runs', async () => {
    const flight = new SingleFlight<number>({ rememberMs: 1000 });
    let runs = 0;
    const start = async () => ++runs;
    expect(await flight.run('k', start)).toBe(1);
    vi.advanceTimersByTime(999);
    expect(await flight.run('k', start)).toBe(1);
    vi.advanceTimersByTime(1);
    expect(await flight.run('k', start)).toBe(2);
  });

  it('a failure is shared with the callers waiting on it, but not remembered', async () => {
    const flight = new SingleFlight<string>({ rememberMs: 1000 });
    const job = deferred<string>();
    const first = flight.run('k', () => job.promise);
    const second = flight.run('k', async () => 'not called');
    job.reject(new Error('invalid_grant'));
    await expect(first).rejects.toThrow('invalid_grant');
    await expect(second).rejects.toThrow('invalid_grant');
    expect(await flight.run('k', async () => 'retried')).toBe('retried');
  });

  it('a job that throws synchronously rejects its caller without wedging the key', async () => {
    const flight = new SingleFlight<string>({ rememberMs: 1000 });
    expect(() =>
      flight.run('k', () => {
        throw new Error('sync');
      }),
    ).toThrow('sync');
    expect(await flight.run('k', async () => 'ok')).toBe('ok');
  });
});
