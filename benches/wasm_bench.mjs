// Runs the bench page in Debian's Chromium, one fresh page (own wasm instance) per kernel
// so each kernel's peak wasm memory is its own, and prints one JSON document.
// BASE_URL must serve the repo root. Env: RUNS, SIZE (512x512x400), ONLY (k1,k2).
// THREADS=1,2 (needs a cross-origin isolated server, scripts/serve.py): each kernel runs
// in a bench worker once per thread count, back to back, ROUNDS times (alternating the
// order); `by_threads` holds the results per count (the median round for each kernel).
import { createRequire } from 'node:module';

// playwright-core is installed with the e2e tests.
const require = createRequire(new URL('../tests/e2e/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const base = process.env.BASE_URL || 'http://127.0.0.1:8080/';
const runs = process.env.RUNS || process.env.REPS || '5';
const size = process.env.SIZE || '';
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--headless=new', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});

async function runPage(query) {
  const page = await browser.newPage();
  try {
    await page.goto(`${base}www/bench.html?${query}`);
    await page.waitForSelector('body[data-done="true"]', { timeout: 30 * 60 * 1000 });
    return JSON.parse(await page.$eval('#results', (e) => e.textContent));
  } finally {
    await page.close();
  }
}

let kernels = process.env.ONLY ? process.env.ONLY.split(',') : null;
if (!kernels) {
  const page = await browser.newPage();
  await page.goto(`${base}www/bench.html?only=link_roundtrip&runs=1`);
  await page.waitForSelector('body[data-done="true"]');
  kernels = await page.evaluate(async () => (await import('./pkg/osteon.js')).benchKernels().map((k) => k.name));
  await page.close();
}
const out = { target: 'wasm', size: null, rawInt16Bytes: null, results: [] };
async function runKernel(kernel, threads) {
  const q = new URLSearchParams({ only: kernel, runs, ...(size ? { size } : {}), ...(threads ? { threads } : {}) });
  try {
    const r = await runPage(q.toString());
    out.userAgent = r.userAgent;
    out.size = r.size;
    out.rawInt16Bytes = r.rawInt16Bytes;
    out.memoryAtStart = r.memoryAtStart;
    return r.results.length ? r.results : [{ kernel, error: r.error || 'no result' }];
  } catch (e) {
    return [{ kernel, error: String(e.message || e).slice(0, 200) }];
  }
}
const threadCounts = process.env.THREADS ? process.env.THREADS.split(',').map(Number) : null;
const rounds = Number(process.env.ROUNDS || 1);
if (threadCounts) out.by_threads = Object.fromEntries(threadCounts.map((n) => [n, []]));
for (const kernel of kernels) {
  if (!threadCounts) {
    out.results.push(...await runKernel(kernel));
  } else {
    const seen = Object.fromEntries(threadCounts.map((n) => [n, []]));
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 ? [...threadCounts].reverse() : threadCounts;
      for (const n of order) seen[n].push(...await runKernel(kernel, n));
    }
    for (const n of threadCounts) {
      const ok = seen[n].filter((r) => !r.error).sort((a, b) => a.median_ms - b.median_ms);
      const pick = ok.length ? ok[Math.floor(ok.length / 2)] : seen[n][0];
      out.by_threads[n].push({ ...pick, rounds_ms: ok.map((r) => r.median_ms) });
    }
    out.results.push(out.by_threads[threadCounts[0]].at(-1));
  }
  console.error(`wasm ${kernel} done`);
}
console.log(JSON.stringify(out, null, 2));
await browser.close();
