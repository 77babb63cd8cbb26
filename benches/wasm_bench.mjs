// Runs the bench page in Debian's Chromium, one fresh page (own wasm instance) per kernel
// so each kernel's peak wasm memory is its own, and prints one JSON document.
// BASE_URL must serve the repo root. Env: RUNS, SIZE (512x512x400), ONLY (k1,k2).
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
for (const kernel of kernels) {
  const q = new URLSearchParams({ only: kernel, runs, ...(size ? { size } : {}) });
  try {
    const r = await runPage(q.toString());
    out.userAgent = r.userAgent;
    out.size = r.size;
    out.rawInt16Bytes = r.rawInt16Bytes;
    out.memoryAtStart = r.memoryAtStart;
    out.results.push(...(r.results.length ? r.results : [{ kernel, error: r.error || 'no result' }]));
  } catch (e) {
    out.results.push({ kernel, error: String(e.message || e).slice(0, 200) });
  }
  console.error(`wasm ${kernel} done`);
}
console.log(JSON.stringify(out, null, 2));
await browser.close();
