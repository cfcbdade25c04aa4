import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** A running background checkpointer; `stop` closes its connection and ends its thread. */
export interface Checkpointer {
  stop(): Promise<void>;
}

/**
 * Moves SQLite's WAL checkpoints off the server's thread. By default the connection that commits
 * also checkpoints every ~1,000 pages, copying them into the database file and syncing it while
 * every request waits; here a worker thread with a connection of its own runs a PASSIVE
 * checkpoint every `intervalMs`, which never blocks the server's reads or writes. The server's
 * connection keeps a far higher automatic threshold, so the WAL stays bounded if the worker
 * ever falls behind or stops.
 * @see https://www.sqlite.org/wal.html#checkpointing
 */
export function startCheckpointer(
  filename: string,
  options: { intervalMs: number; onError: (message: string) => void },
): Checkpointer {
  const driverPath = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(new URL('./checkpoint-worker.cjs', import.meta.url), {
    workerData: { filename, driverPath, intervalMs: options.intervalMs },
  });
  // The server's own lifetime decides when the process ends, never this thread.
  worker.unref();
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.on('message', (message: { type: string; message: string }) => {
    if (message.type === 'error') options.onError(message.message);
  });
  worker.on('error', (error) => options.onError(error.message));
  return {
    async stop() {
      worker.postMessage('stop');
      await exited;
    },
  };
}
