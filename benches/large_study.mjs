// Large-study check: loads a DICOM series (e.g. 512×512×1000 written by
// `osteon bench --write-data DIR --size 512x512x1000 --series-only`) into the real app in
// headless Chromium through the file input, runs Auto bones and Calculate parts, and
// prints one JSON document: time per step, the WebAssembly memory of the compute worker
// and of the page after each step (wasm memory never shrinks, so each figure is the peak
// so far), the peak resident memory of the whole browser, and whether anything failed.
// Not a CI test: it needs ~1 GB of data. Driven by `scripts/bench.sh --large`.
// Env: BASE_URL (serves the repo root), DATA (folder of DICOM files), CHROMIUM.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const require = createRequire(new URL('../tests/e2e/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const base = process.env.BASE_URL || 'http://127.0.0.1:8080/';
const data = process.env.DATA;
if (!data || !fs.existsSync(data)) {
  console.error('DATA must name a folder of DICOM files (osteon bench --write-data DIR --series-only)');
  process.exit(2);
}
const files = fs.readdirSync(data).filter((f) => f.endsWith('.dcm')).sort().map((f) => path.join(data, f));
const fileBytes = files.reduce((s, f) => s + fs.statSync(f).size, 0);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--headless=new', '--disable-dev-shm-usage', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
    '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
});

// Resident memory of the browser and all its descendants (Linux /proc), sampled
// every 250 ms; the peak is reported.
function descendants(root) {
  const children = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(d));
    } catch { /* process ended */ }
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]) || []));
  return out;
}
function rssBytes(pids) {
  let sum = 0;
  for (const p of pids) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) sum += Number(m[1]) * 1024;
    } catch { /* process ended */ }
  }
  return sum;
}
// Chromium is a child of this Node process: sum the tree below it (Node included, small).
let peakRss = 0;
const sampler = fs.existsSync('/proc/self/status')
  ? setInterval(() => { peakRss = Math.max(peakRss, rssBytes(descendants(process.pid))); }, 250) : null;

const out = {
  files: files.length, file_bytes: fileBytes, steps: [], failed: false, errors: [], console_errors: [],
};
const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
page.on('pageerror', (e) => out.errors.push(String(e).slice(0, 300)));
page.on('console', (m) => { if (m.type() === 'error') out.console_errors.push(m.text().slice(0, 300)); });

// The worker's and the page's wasm memory: calling the bindings' init again returns the
// instance already made in that context.
async function memory() {
  const get = async (url) => (await (await import(url)).default()).memory.buffer.byteLength;
  const pageBytes = await page.evaluate(get, new URL('www/pkg/osteon.js', base).href).catch(() => null);
  const worker = page.workers().find((w) => w.url().includes('worker.js'));
  const workerBytes = worker ? await worker.evaluate(get, new URL('www/pkg/osteon.js', base).href).catch(() => null) : null;
  return { worker_wasm_bytes: workerBytes, page_wasm_bytes: pageBytes };
}
async function status() {
  return page.$eval('#status', (e) => ({ state: e.dataset.state, text: e.textContent }));
}
async function waitStatus(re, timeoutMs) {
  await page.waitForFunction((src) => {
    const s = document.getElementById('status');
    return s.dataset.state === 'error' || (s.dataset.state === 'ready' && new RegExp(src).test(s.textContent));
  }, re.source, { timeout: timeoutMs, polling: 100 });
  const s = await status();
  if (s.state === 'error') throw new Error(s.text);
  return s;
}
async function step(name, action, re, timeoutMs = 20 * 60 * 1000) {
  const t0 = Date.now();
  const rec = { step: name };
  try {
    await action();
    const s = await waitStatus(re, timeoutMs);
    rec.ms = Date.now() - t0;
    rec.status = s.text;
  } catch (e) {
    rec.ms = Date.now() - t0;
    rec.error = String(e.message || e).slice(0, 300);
    out.failed = true;
  }
  Object.assign(rec, await memory(), { browser_rss_peak_bytes: peakRss });
  out.steps.push(rec);
  console.error(`[large] ${name}: ${rec.error ? 'FAILED ' + rec.error : rec.ms + ' ms'}; worker wasm ${(rec.worker_wasm_bytes / 2 ** 20).toFixed(0)} MiB, page wasm ${(rec.page_wasm_bytes / 2 ** 20).toFixed(0)} MiB`);
  return !rec.error;
}

try {
  await page.goto(base);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60000 });
  out.steps.push({ step: 'page ready', ...(await memory()) });
  let ok = await step('load (file input → volume on screen)', () => page.setInputFiles('#file-input', files), /loaded:/);
  if (ok) {
    out.study = (await status()).text;
    const t0 = Date.now();
    await page.waitForSelector('#canvas3d[data-ready="true"]', { timeout: 20 * 60 * 1000 }).catch((e) => out.errors.push(`3-D preview: ${e.message}`));
    out.steps.push({ step: '3-D preview surface', ms: Date.now() - t0, ...(await memory()), browser_rss_peak_bytes: peakRss });
    ok = await step('Auto bones', () => page.click('#auto-bones'), /part\(s\)\./);
  }
  if (ok) {
    out.parts = await page.$$eval('#parts-table tbody tr', (rows) => rows.length);
    await step('Calculate parts (every bone)', () => page.click('#calc-parts'), /watertight part surface/);
  }
} catch (e) {
  out.failed = true;
  out.errors.push(String(e.message || e).slice(0, 300));
}
if (sampler) clearInterval(sampler);
const dims = /(\d+) × (\d+) × (\d+)/.exec(out.study || '');
out.raw_int16_bytes = dims ? 2 * dims[1] * dims[2] * dims[3] : 2 * 512 * 512 * files.length;
const last = out.steps[out.steps.length - 1] || {};
out.peak_worker_wasm_bytes = last.worker_wasm_bytes;
out.peak_page_wasm_bytes = last.page_wasm_bytes;
out.worker_over_raw_int16 = last.worker_wasm_bytes / out.raw_int16_bytes;
out.page_over_raw_int16 = last.page_wasm_bytes / out.raw_int16_bytes;
out.browser_rss_peak_bytes = peakRss;
out.user_agent = await browser.version();
console.log(JSON.stringify(out, null, 2));
await browser.close();
process.exit(out.failed ? 1 : 0);
