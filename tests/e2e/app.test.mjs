// End-to-end: Debian's Chromium driven by playwright-core against the served app.
// Checks the demo study, a real DICOM series through the file input, non-blank MPR and
// 3-D views, and that no request leaves the page's origin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  BASE_URL, SHARED, ARTIFACTS, useBrowser, openPage, waitForStudy, assertSameOrigin,
} from './harness.mjs';

const browser = useBrowser();

/** Opens the app, recording every request and console error. */
async function openApp() {
  return openPage(browser(), BASE_URL);
}

/** Opens `url` (the app, possibly with a design link), recording requests and errors. */
async function openApp0(url) {
  return openPage(browser(), url);
}

/** Fraction of distinct grey/colour levels and non-black pixels in a canvas. */
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
    return { levels: levels.size, litFraction: lit / (d.length / 4), width: c.width, height: c.height };
  }, selector);
}

test('demo study opens in three MPR views and a 3-D view, with no request leaving the origin', async () => {
  const { page, requests, errors } = await openApp();
  await page.click('#open-demo');
  await waitForStudy(page);
  await page.waitForSelector('#canvas3d[data-ready="true"]', { timeout: 60000 });
  await page.screenshot({ path: path.join(ARTIFACTS, 'demo.png') });
  for (const plane of [0, 1, 2]) {
    const s = await canvasStats(page, `.view[data-plane="${plane}"] canvas`);
    assert.ok(s.levels > 20 && s.litFraction > 0.05, `MPR plane ${plane} looks blank: ${JSON.stringify(s)}`);
  }
  const s3 = await canvasStats(page, '#canvas3d');
  assert.ok(s3.levels > 20, `3-D view looks blank: ${JSON.stringify(s3)}`);
  const qa = await page.$$eval('#qa-table tbody tr', (rows) => rows.map((r) => [r.cells[0].textContent, r.className]));
  assert.ok(qa.length >= 6, `QA panel has ${qa.length} lines`);
  for (const [check, cls] of qa) assert.notEqual(cls, 'qa-fail', `demo study fails QA check "${check}"`);
  assert.deepEqual(errors, []);
  assertSameOrigin(requests);
  await page.close();
});

test('slice scrolling, window presets and the HU readout respond', async () => {
  const { page } = await openApp();
  await page.click('#open-demo');
  await waitForStudy(page);
  const info = () => page.$eval('.view[data-plane="0"] .info', (e) => e.textContent);
  const before = await info();
  const box = await page.locator('.view[data-plane="0"] canvas').boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, 100);
  await page.mouse.wheel(0, 100);
  await page.keyboard.press('ArrowDown');
  assert.notEqual(await info(), before, 'slice did not change on wheel/arrow');
  assert.match(await page.$eval('#cursor-readout', (e) => e.textContent), /-?\d+ HU/);
  await page.click('button[data-preset="soft"]');
  assert.equal(await page.$eval('#wl-readout', (e) => e.textContent), 'C 40 / W 400');
  await page.close();
});

test('a real CT series loads through the file input (shared data tier)', { timeout: 300000 }, async (t) => {
  const dir = path.join(SHARED, 'ct_head_invesalius_0051');
  if (!fs.existsSync(dir)) { t.skip('skipped: no shared data'); return; }
  const { page, requests, errors } = await openApp();
  const files = fs.readdirSync(dir).filter((f) => !f.endsWith('.md')).map((f) => path.join(dir, f));
  await page.setInputFiles('#file-input', files);
  await waitForStudy(page);
  await page.waitForSelector('#canvas3d[data-ready="true"]', { timeout: 120000 });
  await page.screenshot({ path: path.join(ARTIFACTS, 'head_ct.png') });
  const facts = await page.$eval('#study-facts', (e) => e.textContent);
  assert.match(facts, /512 × 512 × 108/);
  const spacing = await page.$$eval('#qa-table tbody tr', (rows) => rows.map((r) => r.textContent + '|' + r.className).find((t) => /slice spacing/i.test(t)));
  assert.ok(spacing && spacing.includes('qa-fail'), `1.5 mm spacing should fail QA: ${spacing}`);
  for (const plane of [0, 1, 2]) {
    const s = await canvasStats(page, `.view[data-plane="${plane}"] canvas`);
    assert.ok(s.levels > 20, `MPR plane ${plane} looks blank`);
  }
  assert.deepEqual(errors, []);
  assertSameOrigin(requests);
  await page.close();
});

test('a non-DICOM file gives a clear message and keeps the loaded study', async () => {
  const { page } = await openApp();
  await page.click('#open-demo');
  await waitForStudy(page);
  await page.setInputFiles('#file-input', [{ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a dicom file') }]);
  await page.waitForFunction(() => document.getElementById('status').dataset.state === 'error', null, { timeout: 30000 });
  const text = await page.$eval('#status', (e) => e.textContent);
  assert.match(text, /No loadable CT series/);
  const reasons = await page.$eval('#file-errors', (e) => e.textContent);
  assert.match(reasons, /notes\.txt/);
  const facts = await page.$eval('#study-facts', (e) => e.textContent);
  assert.match(facts, /demo/i, 'the demo study must still be shown');
  await page.close();
});

// Digests asserted natively in tests/dicom_real_data.rs: the browser must reach the same bits.
const TOTALSEG_J2K_SHA256 = 'bc64ae971ee73b3d9c7c8bc49b516fcf0f3a1a65e358a90d98fb2c0252f6bbed';

test('a JPEG 2000 series decodes in the browser to the same HU volume as natively (shared data tier)', { timeout: 300000 }, async (t) => {
  const dir = path.join(SHARED, 'ct_totalsegmentator_example/example_ct_dicom');
  if (!fs.existsSync(dir)) { t.skip('skipped: no shared data'); return; }
  const { page, errors } = await openApp();
  await page.setInputFiles('#file-input', fs.readdirSync(dir).map((f) => path.join(dir, f)));
  await waitForStudy(page);
  const sha = await page.evaluate(() => window.osteon.study.sha256);
  assert.equal(sha, TOTALSEG_J2K_SHA256);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a slice without PixelSpacing asks for the pixel size, then loads (shared data tier)', { timeout: 120000 }, async (t) => {
  const file = path.join(SHARED, 'edge_fodicom/CT-MONO2-16-ankle');
  if (!fs.existsSync(file)) { t.skip('skipped: no shared data'); return; }
  const { page } = await openApp();
  await page.setInputFiles('#file-input', [file]);
  await page.waitForSelector('#spacing-panel:not([hidden])', { timeout: 60000 });
  assert.match(await page.$eval('#spacing-reason', (e) => e.textContent), /no PixelSpacing/);
  await page.fill('#spacing-x', '0.4');
  await page.fill('#spacing-y', '0.4');
  await page.click('#spacing-apply');
  await waitForStudy(page);
  const facts = await page.$eval('#study-facts', (e) => e.textContent);
  assert.match(facts, /0\.400 × 0\.400/);
  await page.close();
});

test('the address bar holds the design; opening the link elsewhere replays the same view', async () => {
  const author = await openApp();
  await author.page.click('#open-demo');
  await waitForStudy(author.page);
  const box = await author.page.locator('.view[data-plane="0"] canvas').boundingBox();
  await author.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  for (let i = 0; i < 5; i++) await author.page.mouse.wheel(0, 100);
  await author.page.click('button[data-preset="soft"]');
  await author.page.waitForFunction(() => location.hash.startsWith('#d=1.'));
  await author.page.waitForTimeout(500);
  const link = await author.page.evaluate(() => location.href);
  const authorSlice = await author.page.$eval('.view[data-plane="0"] .info', (e) => e.textContent);
  assert.ok(!/ANONYMOUS|DEMO|2\.25\./.test(decodeURIComponent(link)), 'link must hold no header text');
  await author.page.close();

  const { page, requests } = await openApp0(link);
  await waitForStudy(page);
  assert.match(await page.$eval('#status', (e) => e.textContent), /study matches/);
  assert.equal(await page.$eval('.view[data-plane="0"] .info', (e) => e.textContent), authorSlice);
  assert.equal(await page.$eval('#wl-readout', (e) => e.textContent), 'C 40 / W 400');
  assertSameOrigin(requests);
  await page.close();
});

test('a damaged design link is refused with a clear message', async () => {
  const { page } = await openApp0(`${BASE_URL}#d=1.AAAAnotalink`);
  await page.waitForFunction(() => document.getElementById('status').dataset.state === 'error');
  assert.match(await page.$eval('#status', (e) => e.textContent), /Cannot open this design link: the design link is damaged/);
  await page.close();
});

test('a design link for another study is refused when a different study is loaded (shared data tier)', { timeout: 300000 }, async (t) => {
  const dir = path.join(SHARED, 'ct_head_invesalius_0051');
  if (!fs.existsSync(dir)) { t.skip('skipped: no shared data'); return; }
  const author = await openApp();
  await author.page.click('#open-demo');
  await waitForStudy(author.page);
  await author.page.waitForFunction(() => location.hash.startsWith('#d=1.'));
  const hash = await author.page.evaluate(() => location.hash);
  await author.page.close();
  // Same design, but pretend it was made on a DICOM study: the app then waits for a drop.
  const { page } = await openApp0(BASE_URL);
  const foreign = await page.evaluate(async (h) => {
    const m = await import('./www/pkg/osteon.js');
    const d = m.decodeDesignLink(h);
    d.ops = [{ op: 'load_series' }];
    return m.encodeDesignLink(d);
  }, hash);
  await page.goto(`${BASE_URL}${foreign}`);
  await page.waitForFunction(() => document.getElementById('status').dataset.state === 'needs-input');
  assert.match(await page.$eval('#status', (e) => e.textContent), /drop your copy/);
  const files = fs.readdirSync(dir).filter((f) => !f.endsWith('.md')).map((f) => path.join(dir, f));
  await page.setInputFiles('#file-input', files);
  await page.waitForFunction(() => document.getElementById('status').dataset.state === 'error', null, { timeout: 120000 });
  assert.match(await page.$eval('#status', (e) => e.textContent), /belongs to a different study/);
  await page.close();
});

test('after one visit the app starts and opens the demo study offline', async () => {
  const context = await browser().newContext({ viewport: { width: 1500, height: 950 } });
  const page = await context.newPage();
  await page.goto(BASE_URL);
  await page.waitForSelector('body[data-ready="true"]');
  await page.evaluate(async () => {
    const reg = await navigator.serviceWorker.ready;
    const cache = await caches.open('osteon-v1');
    for (let i = 0; i < 100 && (await cache.keys()).length < 9; i++) await new Promise((r) => setTimeout(r, 100));
    return reg.active.state;
  });
  await context.setOffline(true);
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30000 });
  await page.click('#open-demo');
  await waitForStudy(page);
  await page.waitForSelector('#canvas3d[data-ready="true"]', { timeout: 60000 });
  await context.close();
});

test('Auto bones makes one part per bone, parts export, and the link replays the same labels', { timeout: 180000 }, async () => {
  const author = await openApp();
  await author.page.click('#open-demo');
  await waitForStudy(author.page);
  await author.page.click('#auto-bones');
  await author.page.waitForFunction(() => /part\(s\)/.test(document.getElementById('status').textContent), null, { timeout: 60000 });
  const parts = await author.page.$$eval('#parts-table tbody tr', (rows) => rows.map((r) => r.cells[1].textContent));
  assert.equal(parts.length, 12, `parts: ${parts}`);
  assert.equal(parts.filter((p) => p.startsWith('left')).length, 6);
  const labelsSha = await author.page.evaluate(() => window.osteon.seg.labels_sha256);
  // Same digest as natively (tests/design_replay.rs): bit-identical across platforms.
  assert.equal(labelsSha, '5f704aeed0693fe6680e8bcc749747d602ec44bf775c01d04e73b33d6e6fed6b');
  await author.page.click('#calc-parts');
  await author.page.waitForFunction(() => document.getElementById('status').textContent.startsWith('Calculated'), null, { timeout: 60000 });
  const s3 = await canvasStats(author.page, '#canvas3d');
  assert.ok(s3.levels > 20, '3-D parts view looks blank');
  await author.page.screenshot({ path: path.join(ARTIFACTS, 'auto_bones.png') });
  const [download] = await Promise.all([
    author.page.waitForEvent('download'),
    author.page.click('#parts-table tbody tr:first-child button:has-text("STL")'),
  ]);
  assert.match(download.suggestedFilename(), /^right_calcaneus\.stl$/);
  const stl = fs.readFileSync(await download.path());
  assert.equal(stl.length, 84 + 50 * stl.readUInt32LE(80), 'binary STL size matches its triangle count');
  // Undo removes the parts, redo brings them back.
  await author.page.click('#undo');
  await author.page.waitForFunction(() => document.querySelectorAll('#parts-table tbody tr').length === 0);
  await author.page.click('#redo');
  await author.page.waitForFunction(() => document.querySelectorAll('#parts-table tbody tr').length === 12);
  await author.page.waitForTimeout(500);
  const link = await author.page.evaluate(() => location.href);
  await author.page.close();

  const { page, requests } = await openApp0(link);
  await page.waitForFunction(() => window.osteon && window.osteon.seg && window.osteon.seg.parts.length === 12, null, { timeout: 120000 });
  assert.equal(await page.evaluate(() => window.osteon.seg.labels_sha256), labelsSha, 'replayed labels differ');
  assertSameOrigin(requests);
  await page.close();
});

test('growing from a seed in air is refused with a clear message and nothing changes', async () => {
  const { page } = await openApp();
  await page.click('#open-demo');
  await waitForStudy(page);
  await page.click('#grow-mode');
  const box = await page.locator('.view[data-plane="0"] canvas').boundingBox();
  await page.mouse.click(box.x + 5, box.y + 5);
  await page.waitForFunction(() => document.getElementById('status').dataset.state === 'error');
  assert.match(await page.$eval('#status', (e) => e.textContent), /outside the .* range|in air/i);
  assert.equal(await page.$$eval('#parts-table tbody tr', (r) => r.length), 0);
  await page.close();
});

test('split mode guides the user and refuses clicks outside the part', { timeout: 120000 }, async () => {
  const { page } = await openApp();
  await page.click('#open-demo');
  await waitForStudy(page);
  await page.click('#auto-bones');
  await page.waitForFunction(() => document.querySelectorAll('#parts-table tbody tr').length === 12, null, { timeout: 60000 });
  // The crosshair starts at the centre of the right talus: find it on the axial canvas.
  const at = await page.evaluate(() => {
    const v = window.osteon.views[0];
    const l = v.layout();
    const r = v.canvas.getBoundingClientRect();
    const [i, j] = window.osteon.cursor;
    return { x: r.left + (l.ox + (i + 0.5) * l.sx) / devicePixelRatio, y: r.top + (l.oy + (j + 0.5) * l.sy) / devicePixelRatio, corner: { x: r.left + 4, y: r.top + 4 } };
  });
  await page.click('#split-mode');
  await page.mouse.click(at.corner.x, at.corner.y);
  assert.match(await page.$eval('#status', (e) => e.textContent), /Click inside a coloured part/);
  await page.mouse.click(at.x, at.y);
  assert.match(await page.$eval('#status', (e) => e.textContent), /Now click inside the other bone joined to right talus/);
  await page.mouse.click(at.x, at.y);
  await page.waitForFunction(() => document.getElementById('status').dataset.state === 'error', null, { timeout: 30000 });
  assert.match(await page.$eval('#status', (e) => e.textContent), /no joint between the two seeds|seeds/);
  assert.equal(await page.$$eval('#parts-table tbody tr', (r) => r.length), 12, 'a refused split must change nothing');
  await page.close();
});
