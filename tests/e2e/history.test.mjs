// Determinism across the design call: the design-history record made in the browser
// lists the same output files with the same SHA-256 as `osteon replay` of the same link
// natively — labels, every part STL, the mirrored mesh object and the 3MF.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { useBrowser, openPage, waitForStudy, assertSameOrigin, download, nativeOsteon } from './harness.mjs';

const browser = useBrowser();

test('the browser and osteon replay give the same SHA-256 for every output of a design', { timeout: 300000 }, async (t) => {
  const bin = nativeOsteon();
  if (!bin) { t.skip('skipped: build the native CLI first (cargo build)'); return; }
  const { page, requests } = await openPage(browser());
  await page.click('#open-demo');
  await waitForStudy(page);
  await page.click('#auto-bones');
  await page.waitForFunction(() => window.osteon.seg && window.osteon.seg.parts.length === 12, null, { timeout: 60000 });
  // A manual edit and a mesh object, so the record covers both kinds of op.
  const talus = await page.evaluate(() => window.osteon.seg.parts.find((p) => p.name === 'left talus').label);
  await page.evaluate((label) => window.osteon.applyOp({ op: 'morphology', label, kind: 'dilate', radius_mm: 0.5 }), talus);
  await page.waitForFunction(() => window.osteon.seg.ops.length === 2, null, { timeout: 60000 });
  await page.evaluate((label) => window.osteon.worker.postMessage({ type: 'meshop', op: { op: 'mirror_mesh', source: { part: label }, plane: { sagittal: { x_mm: 0 } }, iso_hu: 720 } }), talus);
  await page.waitForFunction(() => window.osteon.seg.ops.length === 3, null, { timeout: 120000 });
  await page.waitForTimeout(500);
  const link = await page.evaluate(() => location.hash);
  const record = await download(page, '#design-history');
  assert.equal(record.name, 'design-history.json');
  const browserHistory = JSON.parse(record.bytes.toString('utf8'));
  assert.equal(await page.$$eval('#history-table tbody tr', (r) => r.length), browserHistory.outputs.length);
  assertSameOrigin(requests);
  await page.close();

  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'osteon-history-'));
  const native = JSON.parse(execFileSync(bin, ['replay', link, '--out', out, '--json'], { encoding: 'utf8', maxBuffer: 1 << 24 }));
  const nativeHistory = JSON.parse(fs.readFileSync(path.join(out, 'design-history.json'), 'utf8'));
  fs.rmSync(out, { recursive: true, force: true });
  const files = (h) => h.outputs.map((o) => `${o.file} ${o.bytes} ${o.sha256}`);
  assert.ok(browserHistory.outputs.length >= 15, `labels, 12 parts, the mirrored talus and the 3MF: ${files(browserHistory)}`);
  assert.deepEqual(files(browserHistory), files(nativeHistory));
  assert.deepEqual(browserHistory.ops, nativeHistory.ops);
  assert.equal(browserHistory.study_fingerprint, nativeHistory.study_fingerprint);
  assert.equal(native.files.find((f) => f.file === 'design-history.json').sha256.length, 64);
});

test('an implant-only link shows the mesh object without any CT', { timeout: 300000 }, async () => {
  const author = await openPage(browser());
  await author.page.click('#open-demo');
  await waitForStudy(author.page);
  await author.page.click('#auto-bones');
  await author.page.waitForFunction(() => window.osteon.seg && window.osteon.seg.parts.length === 12, null, { timeout: 60000 });
  const talus = await author.page.evaluate(() => window.osteon.seg.parts.find((p) => p.name === 'left talus').label);
  await author.page.evaluate((label) => window.osteon.worker.postMessage({ type: 'meshop', op: { op: 'mirror_mesh', source: { part: label }, plane: { sagittal: { x_mm: 0 } }, iso_hu: 720 } }), talus);
  await author.page.waitForSelector('#mesh-table tbody tr button:has-text("Link")', { timeout: 120000 });
  const report = await author.page.evaluate(() => window.osteon.meshTools.meshes.objects[0].report);
  await author.page.click('#mesh-table tbody tr button:has-text("Link")');
  await author.page.waitForFunction(() => window.osteon.implantLink, null, { timeout: 60000 });
  const url = await author.page.evaluate(() => window.osteon.implantLink);
  await author.page.close();
  assert.match(url, /#m=1\./);
  console.log(`implant-only link of the mirrored talus (${report.triangles} triangles): ${url.length} characters`);

  const { page, requests, errors } = await openPage(browser(), url);
  await page.waitForFunction(() => /Implant-only link/.test(document.getElementById('status').textContent), null, { timeout: 60000 });
  const info = await page.$eval('#info3d', (e) => e.textContent);
  assert.match(info, new RegExp(`${report.triangles.toLocaleString('en-US')} triangles`));
  const volume = await page.evaluate(() => window.osteon.implant.volume_mm3);
  assert.ok(Math.abs(volume - report.volume_mm3) / report.volume_mm3 < 1e-3, `volume ${volume} vs ${report.volume_mm3}`);
  assert.equal(await page.evaluate(() => window.osteon.study), null, 'no study is loaded');
  const lit = await page.evaluate(() => {
    const src = document.getElementById('canvas3d');
    const c = document.createElement('canvas');
    c.width = src.width; c.height = src.height;
    const ctx = c.getContext('2d');
    ctx.drawImage(src, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    const levels = new Set();
    for (let i = 0; i < d.length; i += 4) levels.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    return levels.size;
  });
  assert.ok(lit > 20, '3-D view looks blank');
  assert.deepEqual(errors, []);
  assertSameOrigin(requests);
  await page.close();
});

test('distance annotations and presenter mode travel in the design link', { timeout: 180000 }, async () => {
  const author = await openPage(browser());
  await author.page.click('#open-demo');
  await waitForStudy(author.page);
  await author.page.click('#tool-measure');
  const box = await author.page.$eval('.view[data-plane="0"] canvas', (c) => { const r = c.getBoundingClientRect(); return { x: r.x, y: r.y, w: r.width, h: r.height }; });
  await author.page.mouse.click(box.x + box.w * 0.4, box.y + box.h * 0.5);
  await author.page.mouse.click(box.x + box.w * 0.6, box.y + box.h * 0.55);
  await author.page.click('#presenter');
  assert.equal(await author.page.evaluate(() => document.body.classList.contains('presenter')), true);
  const made = await author.page.evaluate(() => window.osteon.measurements.map((m) => m.mm));
  assert.equal(made.length, 1);
  assert.ok(made[0] > 5, `distance ${made[0]} mm`);
  await author.page.waitForTimeout(500);
  const link = await author.page.evaluate(() => location.href);
  await author.page.close();

  const { page } = await openPage(browser(), link);
  await page.waitForFunction(() => window.osteon.study && window.osteon.measurements.length === 1, null, { timeout: 60000 });
  const replayed = await page.evaluate(() => window.osteon.measurements[0].mm);
  assert.ok(Math.abs(replayed - made[0]) < 1e-9, `${replayed} vs ${made[0]}`);
  assert.equal(await page.evaluate(() => document.body.classList.contains('presenter')), true);
  await page.close();
});
