// Runs on a worker thread started by checkpointer.ts: its own connection to the database file,
// copying committed WAL frames back into the database at a steady pace. Plain CommonJS so that it
// loads in a worker without the TypeScript loader.
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driverPath);

const db = new Database(workerData.filename, { fileMustExist: true });
// PASSIVE never waits for the server's connection: it copies what it can and returns.
const checkpoint = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort.postMessage({
      type: 'error',
      message: error instanceof Error ? error.message : String(error),
    });
  }
};
const timer = setInterval(checkpoint, workerData.intervalMs);

parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort.close();
});
