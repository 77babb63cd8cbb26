// End-to-end: the Edit panel on the demo study. Paint, undo, erase and dilate change the
// selected part's voxel count and the design link; the 3-D clipping plane and part
// opacity change the 3-D view's pixels. Same browser setup as app.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { chromium } from 'playwright-core';
import { nativeOsteon } from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const BASE_URL = process.env.BASE_URL || 'http://127.0.0.1:8080/';
const ARTIFACTS = path.join(here, 'artifacts');
fs.mkdirSync(ARTIFACTS, { recursive: true });

const CHROMIUM_ARGS = [
  '--no-sandbox', '--headless=new', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-default-apps', '--no-first-run',
  '--disable-quic', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
];

let browser;
before(async () => {
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_ARGS });
});
after(async () => { await browser?.close(); });

async function openApp() {
  const page = await browser.newPage({ viewport: { width: 1500, height: 950 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(BASE_URL);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30000 });
  return { page, errors };
}

async function waitReady(page) {
  await page.waitForFunction(() => {
    const s = document.getElementById('status').dataset.state;
    return s === 'ready' || s === 'error';
  }, null, { timeout: 120000 });
  const state = await page.$eval('#status', (e) => e.dataset.state);
  assert.equal(state, 'ready', `app status: ${await page.$eval('#status', (e) => e.textContent)}`);
}

/** Voxel count of part `label` as the app knows it (from the worker's report). */
const voxelsOf = (page, label) => page.evaluate((l) => window.osteon.seg.parts.find((p) => p.label === l)?.voxels ?? 0, label);

/** Runs `action` and waits until the worker has answered: new labels, or an error. */
async function afterOp(page, action) {
  const version = await page.evaluate(() => window.osteon.labelsVersion);
  await action();
  await page.waitForFunction((v) => window.osteon.labelsVersion > v || document.getElementById('status').dataset.state === 'error',
    version, { timeout: 60000 });
  assert.notEqual(await page.$eval('#status', (e) => e.dataset.state), 'error', await page.$eval('#status', (e) => e.textContent));
}

/** Screen position of the centre of voxel `v` on the axial view. */
function axialScreen(page, v) {
  return page.evaluate((vox) => {
    const view = window.osteon.views[0];
    const l = view.layout();
    const r = view.canvas.getBoundingClientRect();
    return { x: r.left + (l.ox + (vox[0] + 0.5) * l.sx) / devicePixelRatio, y: r.top + (l.oy + (vox[1] + 0.5) * l.sy) / devicePixelRatio, sx: l.sx / devicePixelRatio };
  }, v);
}

async function drag(page, a, b) {
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move(b.x, b.y, { steps: 12 });
  await page.mouse.up();
}

/** A digest of the 3-D canvas' pixels. */
function pixels3d(page) {
  return page.evaluate(() => {
    const src = document.getElementById('canvas3d');
    const c = document.createElement('canvas');
    c.width = src.width; c.height = src.height;
    const ctx = c.getContext('2d');
    ctx.drawImage(src, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    let h = 0;
    let lit = 0;
    for (let i = 0; i < d.length; i += 4) {
      h = (h * 31 + d[i] + 7 * d[i + 1] + 13 * d[i + 2]) >>> 0;
      if (d[i] + d[i + 1] + d[i + 2] > 90) lit++;
    }
    return { h, lit };
  });
}

async function setRange(page, id, value) {
  await page.evaluate(([i, v]) => {
    const e = document.getElementById(i);
    e.value = String(v);
    e.dispatchEvent(new Event('input', { bubbles: true }));
    e.dispatchEvent(new Event('change', { bubbles: true }));
  }, [id, value]);
}

test('paint, undo, erase and dilate edit the selected part through the design link', { timeout: 300000 }, async () => {
  const { page, errors } = await openApp();
  await page.click('#open-demo');
  await waitReady(page);
  await page.click('#auto-bones');
  await page.waitForFunction(() => document.querySelectorAll('#parts-table tbody tr').length === 12, null, { timeout: 90000 });
  await waitReady(page);
  // The crosshair starts in the right talus: select its row.
  const cursor = await page.evaluate(() => [...window.osteon.cursor]);
  const label = await page.evaluate((c) => window.osteon.viewer.labelAt(...c), cursor);
  assert.ok(label > 0, 'the crosshair should start inside a part');
  await page.click(`#parts-table tbody tr[data-label="${label}"] td.name`);
  assert.match(await page.$eval('#edit-target', (e) => e.textContent), /right talus/);
  const start = await voxelsOf(page, label);
  const headers = await page.$$eval('#parts-table thead th', (t) => t.map((h) => h.textContent));
  assert.deepEqual(headers.slice(2, 5), ['voxels', 'mm³', 'mm²']);
  const cells = await page.$$eval(`#parts-table tbody tr[data-label="${label}"] td`, (t) => t.map((c) => c.textContent));
  assert.equal(cells[2].replace(/,/g, ''), String(start), 'the table shows the voxel count');

  // Paint: a 3 mm circle stroke from the talus centre outwards adds voxels.
  await page.click('[data-tool="paint"]');
  await setRange(page, 'brush-radius', 3);
  const hashBefore = await page.evaluate(() => location.hash);
  const a = await axialScreen(page, cursor);
  const b = { x: a.x + 60 * a.sx, y: a.y };
  await afterOp(page, () => drag(page, a, b));
  const painted = await voxelsOf(page, label);
  assert.ok(painted > start, `paint: ${start} -> ${painted}`);
  await page.waitForFunction((h) => location.hash !== h, hashBefore);
  const ops = await page.evaluate(() => window.osteon.design.ops.map((o) => o.op));
  assert.equal(ops[ops.length - 1], 'paint');
  await page.screenshot({ path: path.join(ARTIFACTS, 'edit_paint.png') });

  // Undo (Ctrl+Z) restores the count exactly; redo (Ctrl+Shift+Z) repeats the stroke.
  await page.mouse.move(10, 10);
  await afterOp(page, () => page.keyboard.press('Control+z'));
  assert.equal(await voxelsOf(page, label), start);
  await afterOp(page, () => page.keyboard.press('Control+Shift+z'));
  assert.equal(await voxelsOf(page, label), painted);

  // Erase through the centre removes voxels.
  await page.click('[data-tool="erase"]');
  await afterOp(page, () => drag(page, { x: a.x - 8 * a.sx, y: a.y }, { x: a.x + 8 * a.sx, y: a.y }));
  const erased = await voxelsOf(page, label);
  assert.ok(erased < painted, `erase: ${painted} -> ${erased}`);

  // A refused edit (erase outside the part) changes nothing and says why.
  const corner = await axialScreen(page, [2, 2, cursor[2]]);
  await page.evaluate(() => { document.getElementById('status').dataset.state = 'busy'; });
  await drag(page, corner, { x: corner.x + 2, y: corner.y });
  await page.waitForFunction(() => document.getElementById('status').dataset.state === 'error', null, { timeout: 30000 });
  assert.match(await page.$eval('#status', (e) => e.textContent), /changed nothing/);
  assert.equal(await voxelsOf(page, label), erased);

  // Dilate by 1 mm grows the part.
  await page.keyboard.press('Escape');
  await page.fill('#morph-mm', '1');
  await afterOp(page, () => page.click('[data-morph="dilate"]'));
  const dilated = await voxelsOf(page, label);
  assert.ok(dilated > erased, `dilate: ${erased} -> ${dilated}`);
  const last = await page.evaluate(() => window.osteon.design.ops.at(-1));
  assert.deepEqual(last, { op: 'morphology', label, kind: 'dilate', radius_mm: 1 });

  // The link replays to the same labels elsewhere.
  await page.waitForTimeout(500);
  const link = await page.evaluate(() => location.href);
  const sha = await page.evaluate(() => window.osteon.seg.labels_sha256);
  const other = await openApp();
  await other.page.goto(link);
  // auto_bones, paint, erase, morphology (the refused erase is not in the design).
  await other.page.waitForFunction(() => window.osteon && window.osteon.seg && window.osteon.seg.ops.length === 4, null, { timeout: 120000 });
  assert.equal(await other.page.evaluate(() => window.osteon.seg.labels_sha256), sha);
  await other.page.close();
  assert.deepEqual(errors, []);
  await page.close();
});

test('the clipping plane and part opacity change the 3-D view and travel in the link', { timeout: 300000 }, async () => {
  const { page, errors } = await openApp();
  await page.click('#open-demo');
  await waitReady(page);
  await page.waitForSelector('#canvas3d[data-ready="true"]', { timeout: 60000 });
  const plain = await pixels3d(page);
  await page.selectOption('#clip-axis', '2');
  await setRange(page, 'clip-pos', 500);
  const clipped = await pixels3d(page);
  assert.notEqual(clipped.h, plain.h, 'clipping did not change the 3-D view');
  assert.ok(clipped.lit < plain.lit, `clipping should remove surface: ${plain.lit} -> ${clipped.lit}`);
  await setRange(page, 'clip-pos', 800);
  const moved = await pixels3d(page);
  assert.notEqual(moved.h, clipped.h, 'moving the plane did not change the view');
  await page.check('#clip-flip');
  assert.notEqual((await pixels3d(page)).h, moved.h, 'flipping did not change the view');
  await page.selectOption('#clip-axis', '-1');
  assert.equal((await pixels3d(page)).h, plain.h, 'turning clipping off restores the view');

  // Opacity of a calculated part.
  await page.click('#auto-bones');
  await page.waitForFunction(() => document.querySelectorAll('#parts-table tbody tr').length === 12, null, { timeout: 90000 });
  await page.click('#calc-parts');
  await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('Calculated'), null, { timeout: 120000 });
  const opaque = await pixels3d(page);
  // The largest part is drawn big enough to see a change.
  const label = await page.evaluate(() => [...window.osteon.seg.parts].sort((x, y) => y.voxels - x.voxels)[0].label);
  await page.click(`#parts-table tbody tr[data-label="${label}"] td.name`);
  await setRange(page, 'part-opacity', 30);
  const faded = await pixels3d(page);
  assert.notEqual(faded.h, opaque.h, 'opacity did not change the 3-D view');
  await page.screenshot({ path: path.join(ARTIFACTS, 'edit_opacity.png') });

  await page.selectOption('#clip-axis', '0');
  await setRange(page, 'clip-pos', 400);
  await page.waitForTimeout(500);
  const view = await page.evaluate(async () => {
    const m = await import('./www/pkg/osteon.js');
    return m.decodeDesignLink(location.hash).view;
  });
  assert.deepEqual(view.part_opacity, [[label, 0.3]]);
  assert.equal(view.clip.axis, 0);
  assert.equal(view.clip.flip, true);
  assert.deepEqual(errors, []);
  await page.close();
});

test('lasso fills a loop into the selected part and a cut line splits it in two', { timeout: 300000 }, async () => {
  const { page, errors } = await openApp();
  await page.click('#open-demo');
  await waitReady(page);
  await page.click('#auto-bones');
  await page.waitForFunction(() => document.querySelectorAll('#parts-table tbody tr').length === 12, null, { timeout: 90000 });
  await waitReady(page);
  const cursor = await page.evaluate(() => [...window.osteon.cursor]);
  const label = await page.evaluate((c) => window.osteon.viewer.labelAt(...c), cursor);
  await page.click(`#parts-table tbody tr[data-label="${label}"] td.name`);
  const start = await voxelsOf(page, label);

  // A square loop of 16 × 16 voxels next to the bone, on this axial slice only.
  await page.click('[data-tool="lasso"]');
  const [i, j, k] = cursor;
  const loop = (m) => [[i + 30 - m, j - 8 - m], [i + 46 + m, j - 8 - m], [i + 46 + m, j + 8 + m], [i + 30 - m, j + 8 + m], [i + 30 - m, j - 8 - m]];
  // Screen points are computed just before each drag: the layout may shift in between.
  const drawLoop = async (margin = 0) => {
    await page.waitForTimeout(300); // a longer status line may re-flow the views first
    const pts = [];
    for (const c of loop(margin)) pts.push(await axialScreen(page, [c[0], c[1], k]));
    await page.mouse.move(pts[0].x, pts[0].y);
    await page.mouse.down();
    for (const p of pts.slice(1)) await page.mouse.move(p.x, p.y, { steps: 6 });
    await page.mouse.up();
  };
  await afterOp(page, drawLoop);
  const filled = await voxelsOf(page, label);
  assert.ok(filled > start && filled - start <= 17 * 17, `lasso: ${start} -> ${filled}`);
  const op = await page.evaluate(() => window.osteon.design.ops.at(-1));
  assert.equal(op.op, 'lasso_fill');
  assert.equal(op.axis, 2);
  assert.equal(op.index, k);
  // A slightly larger loop with Lasso erase takes those voxels away again. (Mouse
  // sampling and a re-flow of the views can move a drawn vertex by a voxel or so, so the
  // erase loop has a 3-voxel margin.)
  await page.click('[data-tool="lasso-erase"]');
  await afterOp(page, () => drawLoop(3));
  const eraseOp = await page.evaluate(() => window.osteon.design.ops.at(-1));
  assert.equal(eraseOp.op, 'lasso_erase');
  assert.equal(eraseOp.index, k);
  // Every filled voxel is gone; the margin ring may also take a few of the bone's own.
  const erased = await voxelsOf(page, label);
  assert.ok(erased <= start && start - erased <= 23 * 23 - 17 * 17, `lasso erase: ${start} -> ${filled} -> ${erased}`);
  await afterOp(page, () => page.keyboard.press('Control+z'));
  assert.equal(await voxelsOf(page, label), filled);

  // Cut: click inside on the side to keep, then drag a line across the bone.
  await page.click('[data-tool="cut"]');
  const keep = await axialScreen(page, [i - 6, j, k]);
  await page.mouse.click(keep.x, keep.y);
  assert.match(await page.$eval('#status', (e) => e.textContent), /drag the cut line/);
  const top = await axialScreen(page, [i, j - 60, k]);
  const bottom = await axialScreen(page, [i, j + 60, k]);
  await afterOp(page, () => drag(page, top, bottom));
  const parts = await page.evaluate(() => window.osteon.seg.parts.map((p) => [p.label, p.name, p.voxels]));
  assert.equal(parts.length, 13);
  const kept = parts.find((p) => p[0] === label);
  const cutOff = parts[parts.length - 1];
  assert.match(cutOff[1], /\(2\)$/);
  assert.equal(kept[2] + cutOff[2], filled, 'the two halves hold every voxel of the part');
  // The crosshair voxel's column left of the line keeps the label.
  assert.equal(await page.evaluate(([a, b, c]) => window.osteon.viewer.labelAt(a, b, c), [i - 6, j, k]), label);
  await page.screenshot({ path: path.join(ARTIFACTS, 'edit_cut.png') });
  assert.deepEqual(errors, []);
  await page.close();
});

test('incremental edits keep the page\'s labels equal to the worker\'s and to a native replay', { timeout: 400000 }, async (t) => {
  const { page, errors } = await openApp();
  await page.click('#open-demo');
  await waitReady(page);
  const dims = await page.evaluate(() => window.osteon.study.dims);
  const voxels = dims[0] * dims[1] * dims[2];
  await afterOp(page, () => page.click('#auto-bones'));
  const cursor = await page.evaluate(() => [...window.osteon.cursor]);
  const label = await page.evaluate((c) => window.osteon.viewer.labelAt(...c), cursor);
  assert.ok(label > 0);
  const [i, j, k] = cursor;
  const same = async (what) => {
    const pageSha = await page.evaluate(() => window.osteon.viewer.labelsSha256());
    const workerSha = await page.evaluate(() => window.osteon.workerLabelsDigest());
    assert.equal(pageSha, workerSha, `after ${what} the page's labels differ from the worker's`);
    assert.equal(await page.evaluate(() => window.osteon.seg.labels_sha256), pageSha);
    return pageSha;
  };
  const apply = (op) => afterOp(page, () => page.evaluate((o) => window.osteon.applyOp(o), op));
  const key = (k2) => afterOp(page, () => page.evaluate((m) => window.osteon.worker.postMessage({ type: m }), k2));
  const afterAuto = await same('auto bones');

  // A brush stroke sends only a small box of labels, not the volume.
  await apply({ op: 'paint', label, axis: 2, radius_mm: 3, stroke: [[i, j, k], [i + 30, j, k], [i + 60, j + 5, k]] });
  const patch = await page.evaluate(() => window.osteon.lastPatch);
  const size = patch.size[0] * patch.size[1] * patch.size[2];
  assert.equal(patch.size[2], 1, 'a 2-D stroke changes one slice');
  assert.ok(size * 100 < voxels, `patch of ${size} voxels for a stroke`);
  assert.ok(patch.min[0] <= i + 60 && patch.min[0] + patch.size[0] > i + 60, 'the patch holds the stroke end');
  const painted = await same('paint');
  assert.notEqual(painted, afterAuto);
  await apply({ op: 'erase', label, axis: null, radius_mm: 2.5, stroke: [[i - 4, j, k], [i + 4, j + 2, k + 3]] });
  await same('a 3-D erase');
  await apply({ op: 'lasso_fill', label: null, axis: 1, index: j, polygon: [[i + 70, k - 5], [i + 90, k - 5], [i + 90, k + 5], [i + 70, k + 5]] });
  assert.equal(await page.evaluate(() => window.osteon.lastPatch.size[1]), 1, 'a coronal lasso changes one slice');
  await same('lasso on a new part');
  await apply({ op: 'morphology', label, kind: 'dilate', radius_mm: 1 });
  const dilated = await same('dilate');
  // Undo writes the kept delta back (no replay): the labels are those before the op.
  await key('undo');
  assert.equal(await page.evaluate(() => window.osteon.lastPatch !== null), true, 'undo of a dilation sends the box back');
  const undone = await same('undo');
  assert.notEqual(undone, dilated);
  await key('redo');
  assert.equal(await same('redo'), dilated);
  await key('undo');
  await key('undo');
  await key('undo');
  await key('undo');
  assert.equal(await same('four undos'), afterAuto, 'undoing every edit gives the auto-bones labels back');
  await key('redo');
  assert.equal(await same('redo of the paint'), painted);
  const sha = await same('the last edit');
  assert.deepEqual(errors, []);

  // The same design replayed natively gives the same labels.
  const bin = nativeOsteon();
  await page.waitForTimeout(500);
  const link = await page.evaluate(() => location.hash);
  await page.close();
  if (!bin) { t.diagnostic('native replay skipped: build the native CLI first (cargo build)'); return; }
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'osteon-edit-'));
  const native = JSON.parse(execFileSync(bin, ['replay', link, '--out', out, '--json'], { encoding: 'utf8', maxBuffer: 1 << 24 }));
  fs.rmSync(out, { recursive: true, force: true });
  assert.equal(native.labels_sha256, sha, 'osteon replay of the link gives other labels');
});
