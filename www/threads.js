// The threaded wasm build for the compute worker (www/pkg-threads: shared memory and a
// rayon pool, src/parallel.rs). Imported by worker_threads.js before worker.js, which
// takes the build from globalThis.OSTEON_THREADS. `?threads=N` on the worker's URL sets
// the pool size (default: one thread per core); the calling worker waits while the pool
// runs the units, so N threads compute.
import init, { Session, initThreadPool, computeThreads, computeThreadsUsed } from './pkg-threads/osteon.js';

const asked = Number(new URL(self.location.href).searchParams.get('threads'));
const threads = asked >= 1 ? asked : Math.max(1, navigator.hardwareConcurrency || 1);
globalThis.OSTEON_THREADS = {
  Session,
  threadsUsed: computeThreadsUsed,
  ready: init().then(() => initThreadPool(threads)).then(() => computeThreads()),
};
