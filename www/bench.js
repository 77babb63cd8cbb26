// Bench page: times every kernel in this tab's wasm instance. ?reps=N&only=a,b
import init, { benchKernel, benchKernels } from './pkg/osteon.js';

async function main() {
  await init();
  const params = new URLSearchParams(location.search);
  const reps = Number(params.get('reps') || 5);
  const only = params.get('only') ? params.get('only').split(',') : benchKernels();
  const results = [];
  const out = document.getElementById('results');
  for (const kernel of only) {
    out.textContent = `running ${kernel}…\n` + JSON.stringify(results, null, 2);
    await new Promise((r) => setTimeout(r, 0));
    try {
      results.push(benchKernel(kernel, reps));
    } catch (e) {
      results.push({ kernel, error: e.message || String(e) });
    }
  }
  out.textContent = JSON.stringify({ target: 'wasm', userAgent: navigator.userAgent, results }, null, 2);
  document.body.dataset.done = 'true';
}

main();
