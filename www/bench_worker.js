// Bench kernels in a worker (bench.js with ?threads=N): the threaded build (N > 1) needs a
// thread that may block while its pool works, which the page's is not; N = 1 runs the
// default build in the same kind of context, for a like-for-like comparison.
// &build=threads runs the threaded build on a pool of one thread too (its own overhead).
const params = new URL(self.location.href).searchParams;
const threads = Number(params.get('threads')) || 1;
const threadedBuild = threads > 1 || params.get('build') === 'threads';
const pkg = await import(threadedBuild ? './pkg-threads/osteon.js' : './pkg/osteon.js');
const wasm = await pkg.default();
if (threadedBuild) await pkg.initThreadPool(threads);

self.onmessage = ({ data: { kernel, runs, size } }) => {
  try {
    const r = pkg.benchKernel(kernel, runs, size);
    r.threads = pkg.computeThreads();
    r.threads_used = pkg.computeThreadsUsed();
    self.postMessage({ result: r, memory_bytes: wasm.memory.buffer.byteLength });
  } catch (e) {
    self.postMessage({ error: e.message || String(e), memory_bytes: wasm.memory.buffer.byteLength });
  }
};
self.postMessage({ ready: true });
