// Bench page: times kernels in this tab's wasm instance. ?runs=N&only=a,b&size=512x512x400
// After each kernel it records the wasm memory size (WebAssembly memory never shrinks,
// so this is the peak so far); open one page per kernel for per-kernel peaks, as
// benches/wasm_bench.mjs does. With &threads=N the kernels run in a worker
// (bench_worker.js): the threaded build on N threads (cross-origin isolated page only,
// scripts/serve.py), or the default build for N = 1.
import init, { benchKernel, benchKernels } from './pkg/osteon.js';

/** benchKernel in a bench_worker.js of `threads` threads; the same shape of result. */
async function workerBench(threads, build) {
  const worker = new Worker(new URL(`./bench_worker.js?threads=${threads}${build ? `&build=${build}` : ''}`, import.meta.url), { type: 'module' });
  const next = () => new Promise((resolve, reject) => {
    worker.onmessage = (e) => resolve(e.data);
    worker.onerror = (e) => reject(new Error(e.message || 'the bench worker failed to start'));
  });
  await next();
  return async (kernel, runs, size) => {
    const reply = next();
    worker.postMessage({ kernel, runs, size });
    const r = await reply;
    if (r.error) throw Object.assign(new Error(r.error), { memory_bytes: r.memory_bytes });
    return { ...r.result, memory_bytes: r.memory_bytes };
  };
}

async function main() {
  const wasm = await init();
  const params = new URLSearchParams(location.search);
  const threads = Number(params.get('threads') || 0);
  const run = threads >= 1 ? await workerBench(threads, params.get('build')) : null;
  const runs = Number(params.get('runs') || params.get('reps') || 5);
  const size = params.get('size') || '';
  const only = params.get('only') ? params.get('only').split(',') : benchKernels().map((k) => k.name);
  const dims = (size || '512x512x400').split('x').map(Number);
  const rawInt16Bytes = 2 * dims[0] * dims[1] * dims[2];
  const memoryAtStart = wasm.memory.buffer.byteLength;
  const results = [];
  const out = document.getElementById('results');
  for (const kernel of only) {
    out.textContent = `running ${kernel}…\n` + JSON.stringify(results, null, 2);
    await new Promise((r) => setTimeout(r, 0));
    try {
      const r = run ? await run(kernel, runs, size) : benchKernel(kernel, runs, size);
      if (!run) r.memory_bytes = wasm.memory.buffer.byteLength;
      r.memory_over_raw_int16 = r.memory_bytes / rawInt16Bytes;
      results.push(r);
    } catch (e) {
      results.push({ kernel, error: e.message || String(e), memory_bytes: e.memory_bytes || wasm.memory.buffer.byteLength });
    }
  }
  out.textContent = JSON.stringify({ target: 'wasm', threads: threads || null, crossOriginIsolated: globalThis.crossOriginIsolated, userAgent: navigator.userAgent, size: dims, memoryAtStart, rawInt16Bytes, results }, null, 2);
  document.body.dataset.done = 'true';
}

main().catch((e) => {
  document.getElementById('results').textContent = JSON.stringify({ target: 'wasm', error: e.message || String(e), results: [] });
  document.body.dataset.done = 'true';
});
