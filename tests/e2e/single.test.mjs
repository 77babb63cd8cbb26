// End-to-end: the single-file build (dist/osteon.html, scripts/build-single.sh) opened
// straight from disk (file://, no server) in headless Chromium with every network request
// blocked, running the same demo workflow as the served app's offline and Auto-bones tests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { ARTIFACTS, CHROMIUM_ARGS } from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, '../..');
const SINGLE = path.join(ROOT, 'dist/osteon.html');
// Same digest as tests/design_replay.rs and the Auto-bones test in app.test.mjs.
const AUTO_BONES_LABELS_SHA256 = '5f704aeed0693fe6680e8bcc749747d602ec44bf775c01d04e73b33d6e6fed6b';

let browser;
let html;
before(async () => {
  // Always re-bundle (about a second) so the test never runs a stale file; the script
  // builds www/pkg first only when it is missing.
  execFileSync('bash', [path.join(ROOT, 'scripts/build-single.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
  html = fs.readFileSync(SINGLE, 'utf8');
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_ARGS });
});
after(async () => { await browser?.close(); });

const isLocal = (u) => u.startsWith('file:') || u.startsWith('data:') || u.startsWith('blob:');

/**
 * A browser context where every request that is not the file itself, data: or blob: is
 * aborted and recorded; `requests` holds every URL the pages asked for.
 */
async function blockedContext() {
  const context = await browser.newContext({ viewport: { width: 1500, height: 950 }, acceptDownloads: true });
  const blocked = [];
  const requests = [];
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (isLocal(u)) return route.continue();
    blocked.push(u);
    return route.abort('blockedbyclient');
  });
  await context.setOffline(true);
  context.on('request', (r) => requests.push(r.url()));
  return { context, blocked, requests };
}

async function openSingle(context, hash = '') {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(pathToFileURL(SINGLE).href + hash);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60000 });
  return { page, errors };
}

async function waitForStudy(page) {
  await page.waitForFunction(() => {
    const s = document.getElementById('status').dataset.state;
    return s === 'ready' || s === 'error';
  }, null, { timeout: 120000 });
  const state = await page.$eval('#status', (e) => e.dataset.state);
  assert.equal(state, 'ready', `app status: ${await page.$eval('#status', (e) => e.textContent)}`);
}

/** Distinct colours and lit fraction of a canvas (same measure as app.test.mjs). */
async function canvasStats(page, selector) {
  return page.evaluate((sel) => {
    const src = document.querySelector(sel);
    const c = document.createElement('canvas');
    c.width = src.width; c.height = src.height;
    const ctx = c.getContext('2d');
    ctx.drawImage(src, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    const levels = new Set();
    let lit = 0;
    for (let i = 0; i < d.length; i += 4) {
      levels.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      if (d[i] + d[i + 1] + d[i + 2] > 60) lit++;
    }
    return { levels: levels.size, litFraction: lit / (d.length / 4) };
  }, selector);
}

test('the single file is self-contained: one inline script and style, the wasm once, no external URL', () => {
  const size = fs.statSync(SINGLE).size;
  console.log(`# dist/osteon.html: ${size} bytes (${(size / 1048576).toFixed(2)} MiB)`);
  const wasm = fs.readFileSync(path.join(ROOT, 'www/pkg/osteon_bg.wasm'));
  assert.ok(size > wasm.length, 'the file must hold the wasm');
  const b64 = wasm.toString('base64');
  assert.equal(html.split(b64).length - 1, 1, 'the wasm is inlined exactly once');
  assert.deepEqual(html.match(/https?:\/\//g), null, 'no http:// or https:// anywhere in the file');
  assert.doesNotMatch(html, /\s(src|href)="(?!data:)/, 'no src/href to another file');
  assert.doesNotMatch(html, /\bimport\s*\(|\bimport\s+[\w{*][^;]*\sfrom\s*['"]/, 'no import left for the browser to fetch');
  const csp = html.match(/<meta http-equiv="Content-Security-Policy" content="([^"]*)">/)[1];
  console.log(`# CSP: ${csp}`);
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /connect-src 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|'self'|\*/);
  const scripts = [...html.matchAll(/<script type="module">([\s\S]*?)<\/script>/g)];
  assert.equal(scripts.length, 1, 'one inline module script');
});

test('from disk with the network blocked: demo, Auto bones, parts, STL export, copy link and replay', { timeout: 300000 }, async () => {
  const { context, blocked, requests } = await blockedContext();
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const { page, errors } = await openSingle(context);
  // The CSP itself refuses a request the app might make: the fetch fails before the network.
  const attempt = await page.evaluate(async () => {
    const seen = [];
    document.addEventListener('securitypolicyviolation', (e) => seen.push(e.effectiveDirective));
    let refused = false;
    try { await fetch('https://example.org/x'); } catch { refused = true; }
    await new Promise((r) => setTimeout(r, 100));
    return { refused, seen };
  });
  assert.deepEqual(attempt, { refused: true, seen: ['connect-src'] });
  errors.length = 0; // the refused fetch above logs a CSP error on purpose

  await page.click('#open-demo');
  await waitForStudy(page);
  await page.waitForSelector('#canvas3d[data-ready="true"]', { timeout: 60000 });
  for (const plane of [0, 1, 2]) {
    const s = await canvasStats(page, `.view[data-plane="${plane}"] canvas`);
    assert.ok(s.levels > 20 && s.litFraction > 0.05, `MPR plane ${plane} looks blank: ${JSON.stringify(s)}`);
  }
  await page.click('#auto-bones');
  await page.waitForFunction(() => /part\(s\)/.test(document.getElementById('status').textContent), null, { timeout: 120000 });
  const parts = await page.$$eval('#parts-table tbody tr', (rows) => rows.map((r) => r.cells[1].textContent));
  assert.equal(parts.length, 12, `parts: ${parts}`);
  assert.equal(parts.filter((p) => p.startsWith('left')).length, 6);
  const labelsSha = await page.evaluate(() => window.osteon.seg.labels_sha256);
  assert.equal(labelsSha, AUTO_BONES_LABELS_SHA256);
  await page.click('#calc-parts');
  await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('Calculated'), null, { timeout: 120000 });
  const s3 = await canvasStats(page, '#canvas3d');
  assert.ok(s3.levels > 20, '3-D parts view looks blank');
  await page.screenshot({ path: path.join(ARTIFACTS, 'single_file.png') });

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.click('#parts-table tbody tr:first-child button:has-text("STL")'),
  ]);
  assert.match(download.suggestedFilename(), /^right_calcaneus\.stl$/);
  const stl = fs.readFileSync(await download.path());
  assert.ok(stl.length > 84, 'STL is empty');
  assert.equal(stl.length, 84 + 50 * stl.readUInt32LE(80), 'binary STL size matches its triangle count');

  await page.click('#copy-link');
  await page.waitForFunction(() => /Design link copied|Copy this link/.test(document.getElementById('status').textContent));
  assert.match(await page.$eval('#status', (e) => e.textContent), /Design link copied/, 'clipboard permission was granted');
  const href = await page.evaluate(() => location.href);
  assert.match(href, /^file:.*#d=1\./);
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), href, 'the clipboard holds the link');
  assert.deepEqual(errors, []);
  await page.close();

  // The copied link, opened from the same file, replays the same labels.
  const hash = new URL(href).hash;
  const replay = await openSingle(context, hash);
  await replay.page.waitForFunction(() => window.osteon && window.osteon.seg && window.osteon.seg.parts.length === 12, null, { timeout: 120000 });
  assert.equal(await replay.page.evaluate(() => window.osteon.seg.labels_sha256), labelsSha, 'replayed labels differ');
  assert.deepEqual(replay.errors, []);
  await replay.page.close();

  assert.deepEqual(blocked, [], 'a request to the network was attempted');
  assert.deepEqual(requests.filter((u) => !isLocal(u)), []);
  assert.ok(requests.some((u) => u.startsWith('file:')), 'the request log saw the file itself');
  await context.close();
});
