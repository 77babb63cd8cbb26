// End-to-end: the Mesh panel. Demo → Auto bones → Calculate parts → select the left
// talus → Mirror → Register to the right talus; the report shows RMS and overlap, the
// design link changes, the exported STL has the reported digest, undo removes the mesh
// object, and reopening the link reproduces the same mesh bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  BASE_URL, ARTIFACTS, useBrowser, openPage, waitForStudy as waitForReady, assertSameOrigin,
} from './harness.mjs';

// Same digest as natively (tests/design_meshes.rs, REGISTERED_TALUS_PINNED_STL_SHA256): a
// registration made in the app records the current settings (coarse-to-fine ICP).
const REGISTERED_TALUS_STL_SHA256 = '9c21f0787183a54dbd5217eb0c0da6469b49071aba873d4d498ac771603c073b';

const browser = useBrowser();

/** Opens `url` (the app, possibly with a design link), recording requests and errors. */
async function openApp(url = BASE_URL) {
  return openPage(browser(), url, { viewport: { width: 1500, height: 1100 } });
}

const meshRows = (page) => page.$$eval('#mesh-table tbody tr', (rows) => rows.map((r) => ({ id: r.dataset.id, name: r.cells[1].textContent, sha: r.dataset.sha })));

test('mirror the left talus, register it onto the right talus, undo, and replay the link', { timeout: 300000 }, async () => {
  const { page, requests, errors } = await openApp();
  await page.click('#open-demo');
  await waitForReady(page);
  await page.click('#auto-bones');
  await page.waitForFunction(() => document.querySelectorAll('#parts-table tbody tr').length === 12, null, { timeout: 60000 });
  await waitForReady(page);
  await page.click('#calc-parts');
  await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('Calculated'), null, { timeout: 60000 });

  // The right talus holds the demo's focus voxel; the left one its mirror image in x.
  const { left, right } = await page.evaluate(() => {
    const app = window.osteon;
    const [i, j, k] = app.study.focus_voxel;
    const right = app.viewer.labelAt(i, j, k);
    let left = app.viewer.labelAt(app.study.dims[0] - 1 - i, j, k);
    if (!left || left === right) {
      const name = app.seg.parts.find((p) => p.label === right).name.replace(/^right/, 'left');
      left = app.seg.parts.find((p) => p.name === name).label;
    }
    return { left, right };
  });
  assert.ok(left && right && left !== right, `talus labels ${left}, ${right}`);

  await page.click(`#parts-table tbody tr[data-label="${left}"] td:nth-child(3)`);
  await page.waitForFunction(() => /^Part:/.test(document.getElementById('mesh-selected').textContent));
  const linkBefore = await page.evaluate(() => location.hash);
  await page.selectOption('#mesh-plane', 'sagittal');
  await page.click('#mesh-mirror');
  await page.waitForFunction(() => document.querySelectorAll('#mesh-table tbody tr').length === 1, null, { timeout: 60000 });
  await waitForReady(page);
  const [mirrored] = await meshRows(page);
  assert.match(mirrored.name, /\(mirrored\)$/);
  assert.notEqual(await page.evaluate(() => location.hash), linkBefore, 'the link must change with the mirror op');

  // The new object is selected; register it onto the right talus.
  await page.selectOption('#mesh-register-target', `part:${right}`);
  await page.click('#mesh-register');
  await page.waitForSelector('#mesh-report[data-rms]', { timeout: 120000 });
  await waitForReady(page);
  const report = await page.$eval('#mesh-report', (e) => ({ rms: Number(e.dataset.rms), overlap: Number(e.dataset.overlap), sha: e.dataset.sha, text: e.textContent }));
  console.log(`browser: RMS ${report.rms.toFixed(3)} mm, overlap ${report.overlap.toFixed(3)}, STL SHA-256 ${report.sha}`);
  assert.ok(report.rms < 1.0, `RMS ${report.rms}`);
  assert.ok(report.overlap >= 0.9, `overlap ${report.overlap}`);
  assert.match(report.text, /RMS/);
  assert.match(report.text, /Overlap/);
  assert.match(report.sha, /^[0-9a-f]{64}$/);
  assert.equal(report.sha, REGISTERED_TALUS_STL_SHA256, 'browser mesh differs from the native one');
  const ops = await page.evaluate(() => window.osteon.design.ops.map((o) => o.op));
  assert.deepEqual(ops.slice(-2), ['mirror_mesh', 'register_mesh']);
  await page.screenshot({ path: path.join(ARTIFACTS, 'mesh_registered.png') });

  // The exported STL is the object the digest describes.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.click('#mesh-table tbody tr:first-child button:has-text("STL")'),
  ]);
  assert.match(download.suggestedFilename(), /_mirrored\.stl$/);
  const stl = fs.readFileSync(await download.path());
  assert.equal(crypto.createHash('sha256').update(stl).digest('hex'), report.sha);

  const link = await page.evaluate(() => location.href);

  // Undo the registration, then the mirror: the mesh object is gone, the parts stay.
  await page.click('#undo');
  await page.waitForFunction(() => !document.getElementById('mesh-report').dataset.rms && document.querySelectorAll('#mesh-table tbody tr').length === 1, null, { timeout: 60000 });
  await page.click('#undo');
  await page.waitForFunction(() => document.querySelectorAll('#mesh-table tbody tr').length === 0, null, { timeout: 60000 });
  assert.equal(await page.$$eval('#parts-table tbody tr', (r) => r.length), 12);
  assert.ok(await page.evaluate(() => window.osteon.surfaceInfo.size === 12), 'part surfaces must survive undoing a mesh op');
  assert.deepEqual(errors, []);
  assertSameOrigin(requests);
  await page.close();

  // The link replays on a fresh page to the same mesh bytes.
  const other = await openApp(link);
  await other.page.waitForFunction(() => document.querySelectorAll('#mesh-table tbody tr').length === 1, null, { timeout: 180000 });
  const [replayed] = await meshRows(other.page);
  assert.equal(replayed.sha, report.sha, 'the replayed mesh differs');
  assert.deepEqual(other.errors, []);
  assertSameOrigin(other.requests);
  await other.page.close();
});

test('a bad mesh parameter is refused with a clear message and nothing changes', { timeout: 180000 }, async () => {
  const { page } = await openApp();
  await page.click('#open-demo');
  await waitForReady(page);
  await page.click('#auto-bones');
  await page.waitForFunction(() => document.querySelectorAll('#parts-table tbody tr').length === 12, null, { timeout: 60000 });
  await waitForReady(page);
  await page.click('#parts-table tbody tr:first-child td:nth-child(3)');
  const linkBefore = await page.evaluate(() => location.hash);
  await page.fill('#mesh-remesh-edge', '0.01');
  await page.click('#mesh-remesh');
  await page.waitForFunction(() => document.getElementById('status').dataset.state === 'error', null, { timeout: 60000 });
  assert.match(await page.$eval('#status', (e) => e.textContent), /target edge length between 0\.2 and 20 mm/);
  assert.equal(await page.$$eval('#mesh-table tbody tr', (r) => r.length), 0);
  assert.equal(await page.evaluate(() => location.hash), linkBefore);
  await page.close();
});
