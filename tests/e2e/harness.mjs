// Shared set-up of the end-to-end tests: Debian's Chromium driven by playwright-core
// against the served app (BASE_URL), with every request and console message recorded.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const BASE_URL = process.env.BASE_URL || 'http://127.0.0.1:8080/';
export const ORIGIN = new URL(BASE_URL).origin;
export const SHARED = path.resolve(here, '../../../shared/data');
export const ARTIFACTS = path.join(here, 'artifacts');
export const ROOT = path.resolve(here, '../..');
fs.mkdirSync(ARTIFACTS, { recursive: true });

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--headless=new', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-default-apps', '--no-first-run',
  '--disable-quic', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
];

/** Launches one browser for the calling test file; returns a getter. */
export function useBrowser() {
  let browser;
  before(async () => {
    browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_ARGS });
  });
  after(async () => { await browser?.close(); });
  return () => browser;
}

/** Opens `url` in a new page of `browser`, recording requests, errors and console text. */
export async function openPage(browser, url = BASE_URL, options = {}) {
  const page = await browser.newPage({ viewport: { width: 1500, height: 950 }, acceptDownloads: true, ...options });
  const requests = [];
  const errors = [];
  const console = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { console.push(m.text()); if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30000 });
  return { page, requests, errors, console };
}

/** Waits until the app's status line says ready (or fails with its text). */
export async function waitForStudy(page, timeout = 120000) {
  await page.waitForFunction(() => {
    const s = document.getElementById('status').dataset.state;
    return s === 'ready' || s === 'error';
  }, null, { timeout });
  const state = await page.$eval('#status', (e) => e.dataset.state);
  const text = await page.$eval('#status', (e) => e.textContent);
  assert.equal(state, 'ready', `app status: ${text}`);
}

/** Opens the demo study, runs Auto bones (12 parts) and Calculate parts. */
export async function openDemoWithParts(page) {
  await page.click('#open-demo');
  await waitForStudy(page);
  await page.click('#auto-bones');
  await page.waitForFunction(() => window.osteon.seg && window.osteon.seg.parts.length === 12, null, { timeout: 60000 });
  await waitForStudy(page);
  await page.click('#calc-parts');
  await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('Calculated'), null, { timeout: 60000 });
}

/** Fails when a request went anywhere but the page's origin (data: and blob: are local). */
export function assertSameOrigin(requests) {
  const outside = requests.filter((u) => !u.startsWith(ORIGIN) && !u.startsWith('data:') && !u.startsWith('blob:'));
  assert.deepEqual(outside, [], 'requests left the page origin');
}

/** Clicks `selector` and returns the downloaded file's name and bytes. */
export async function download(page, selector) {
  const [d] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  return { name: d.suggestedFilename(), bytes: fs.readFileSync(await d.path()) };
}

/**
 * The native CLI built last, or null (the native test tier builds target/debug/osteon; a
 * stale release build is not used once a newer debug build exists).
 */
export function nativeOsteon() {
  const bins = ['release', 'debug'].map((p) => path.join(ROOT, 'target', p, 'osteon')).filter((b) => fs.existsSync(b));
  bins.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  return bins[0] || null;
}

/**
 * The design-history record `osteon replay` writes for `link` with the native CLI built
 * last, or null when there is none (the native test tier builds it).
 */
export function nativeReplayRecord(link) {
  const bin = nativeOsteon();
  if (!bin) { console.log('# native comparison skipped: cargo build --bin osteon first'); return null; }
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'osteon-replay-'));
  try {
    execFileSync(bin, ['replay', link, '--out', out, '--json'], { encoding: 'utf8', maxBuffer: 1 << 24, timeout: 600000 });
    return JSON.parse(fs.readFileSync(path.join(out, 'design-history.json'), 'utf8'));
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}
