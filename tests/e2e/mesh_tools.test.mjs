// End-to-end: the Meshes panel's newer tools on the demo. Mirror the left talus, smooth
// it with a Gaussian filter and with the brush at a point clicked in the 3-D view, repair it (the report shows the
// check before and after), compare it with the right talus (mean, RMS, Hausdorff, a
// colour map over the surface with its legend), measure it; a bad setting is refused with
// nothing changed; every output of the design has the same SHA-256 in the browser and in
// `osteon replay`, and the link reopens to the same mesh and comparison.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  BASE_URL, ARTIFACTS, useBrowser, openPage, openDemoWithParts, waitForStudy, assertSameOrigin, download, nativeReplayRecord,
} from './harness.mjs';

const browser = useBrowser();

const opNames = (page) => page.evaluate(() => window.osteon.design.ops.map((o) => o.op));
const meshRows = (page) => page.$$eval('#mesh-table tbody tr', (rows) => rows.map((r) => ({ id: r.dataset.id, name: r.cells[1].textContent, sha: r.dataset.sha })));

/** Runs one Meshes panel action and waits until the op log has `n` ops and the app is idle. */
async function act(page, selector, n) {
  await page.click(selector);
  await page.waitForFunction((k) => window.osteon.seg.ops.length === k, n, { timeout: 180000 });
  await waitForStudy(page);
}

test('smoothing mode, repair, compare and measure in the Meshes panel, replayed natively to the same outputs', { timeout: 600000 }, async () => {
  const { page, requests, errors } = await openPage(browser(), undefined, { viewport: { width: 1500, height: 1100 } });
  await openDemoWithParts(page);
  const { left, right } = await page.evaluate(() => {
    const find = (name) => window.osteon.seg.parts.find((p) => p.name === name).label;
    return { left: find('left talus'), right: find('right talus') };
  });

  // Mirror the left talus into a mesh object (selected when made).
  await page.click(`#parts-table tbody tr[data-label="${left}"] td:nth-child(3)`);
  await page.selectOption('#mesh-plane', 'sagittal');
  await act(page, '#mesh-mirror', 2);
  const [mirrored] = await meshRows(page);

  // Gaussian smoothing: the surface changes in place, the op is in the design.
  await page.selectOption('#mesh-smooth-mode', 'gaussian');
  assert.ok(await page.isVisible('#mesh-smooth-sigma'), 'σ is shown for the Gaussian mode');
  assert.ok(!(await page.isVisible('#mesh-smooth-mu')), 'μ is not a Gaussian setting');
  await page.fill('#mesh-smooth-sigma', '0.8');
  await act(page, '#mesh-smooth', 3);
  const [smoothed] = await meshRows(page);
  assert.equal(smoothed.id, mirrored.id);
  assert.notEqual(smoothed.sha, mirrored.sha, 'Gaussian smoothing must change the surface');
  assert.match(await page.$eval('#mesh-report', (e) => e.textContent), /Gaussian smoothing: σ = 0\.8 mm/);

  // Repair: the report shows the check before and after.
  await act(page, '#mesh-repair', 4);
  const repair = await page.$eval('#mesh-report', (e) => ({ text: e.textContent, repaired: e.dataset.repaired }));
  assert.equal(repair.repaired, 'true');
  assert.match(repair.text, /Before repair.*watertight, genus 0/);
  assert.match(repair.text, /After repair.*watertight, genus 0/);
  assert.match(repair.text, /Repairs/);

  // Compare with the right talus: numbers and a colour map over the measured surface.
  await page.selectOption('#mesh-compare-target', `part:${right}`);
  await act(page, '#mesh-compare', 5);
  await page.waitForSelector('#mesh-deviation-legend:not([hidden])');
  const dev = await page.$eval('#mesh-deviation-legend', (e) => ({
    text: e.textContent, mean: Number(e.dataset.mean), rms: Number(e.dataset.rms), max: Number(e.dataset.max),
    hausdorff: Number(e.dataset.hausdorff), swatches: e.querySelectorAll('.bar span').length,
  }));
  console.log(`deviation of the smoothed mirrored left talus from the right talus: mean ${dev.mean.toFixed(3)} mm, RMS ${dev.rms.toFixed(3)} mm, max ${dev.max.toFixed(3)} mm, Hausdorff ${dev.hausdorff.toFixed(3)} mm`);
  assert.ok(dev.mean > 0 && dev.mean <= dev.rms && dev.rms <= dev.max && dev.max <= dev.hausdorff, JSON.stringify(dev));
  // The mirror image of the left talus, not registered: millimetres off the right talus
  // (the phantom is not symmetric about x = 0); another bone would be centimetres off.
  assert.ok(dev.rms < 5, `mirrored left talus to the right talus: RMS ${dev.rms} mm`);
  assert.match(dev.text, /mean .* mm.*RMS .* mm.*Hausdorff .* mm/);
  assert.match(dev.text, /[+]\d.* mm/, 'the legend shows its range in mm');
  assert.equal(dev.swatches, 9);
  const map = await page.evaluate(() => {
    const mt = window.osteon.meshTools;
    const list = mt.deviationList((t) => mt.viewerLabel(t));
    return list && { triangles: list.index_counts.reduce((a, b) => a + b, 0) / 3, colours: list.colours.length / 3, measured: mt.meshes.deviation.indices.length / 3 };
  });
  assert.ok(map, 'the colour map is drawn over the measured surface');
  assert.equal(map.triangles, map.measured, 'every triangle of the measured surface is coloured');
  assert.ok(map.colours >= 2, `${map.colours} colour bins in use`);
  // With the parts hidden, the 3-D view shows the measured object (pale yellow) in the
  // map's colours: blue where it lies inside the right talus, red outside.
  // (Clicking empty space clears the selection, whose glow would pale the colours.)
  for (const box of await page.$$('#parts-table tbody tr input[type="checkbox"]')) await box.uncheck();
  await page.click('#canvas3d', { position: { x: 10, y: 10 } });
  await page.waitForFunction(() => !window.osteon.meshTools.selected);
  await page.waitForTimeout(500);
  await page.screenshot({ path: path.join(ARTIFACTS, 'mesh_deviation.png') });
  const hues = await page.evaluate(() => {
    const src = document.getElementById('canvas3d');
    const c = Object.assign(document.createElement('canvas'), { width: src.width, height: src.height });
    const ctx = c.getContext('2d');
    ctx.drawImage(src, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    let [blue, red] = [0, 0];
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 2] > d[i] + 40 && d[i + 2] > d[i + 1]) blue++;
      if (d[i] > d[i + 2] + 40 && d[i] > d[i + 1] + 40) red++;
    }
    return { blue, red };
  });
  assert.ok(hues.blue + hues.red > 200, `deviation colours in the 3-D view: ${JSON.stringify(hues)}`);

  // Brush smoothing: click the object in the 3-D view (it is selected, the point picked),
  // then Smooth with the brush; the op carries the picked point.
  const at = await page.evaluate(() => {
    const app = window.osteon;
    const m = app.meshTools.meshes;
    const n = m.vertex_counts[0];
    const centre = [0, 1, 2].map((k) => { let s = 0; for (let i = 0; i < n; i++) s += m.positions[3 * i + k]; return s / n; });
    const c = document.getElementById('canvas3d');
    const r = c.getBoundingClientRect();
    const [x, y] = app.viewer.project(Float64Array.from(centre), c.width, c.height, app.orbit.yaw, app.orbit.pitch, app.orbit.zoom);
    return { x: r.left + (x * r.width) / c.width, y: r.top + (y * r.height) / c.height };
  });
  await page.mouse.click(at.x, at.y);
  await page.waitForFunction(() => window.osteon.picked && window.osteon.picked.mesh !== null && window.osteon.meshTools.selected && window.osteon.meshTools.selected.mesh !== undefined);
  for (const box of await page.$$('#parts-table tbody tr input[type="checkbox"]')) await box.check();
  await page.selectOption('#mesh-smooth-mode', 'brush');
  await page.fill('#mesh-brush-radius', '6');
  const beforeBrush = (await meshRows(page))[0].sha;
  await act(page, '#mesh-smooth', 6);
  const brushOp = await page.evaluate(() => window.osteon.design.ops[window.osteon.design.ops.length - 1]);
  const picked = await page.evaluate(() => window.osteon.picked.point_mm);
  assert.equal(brushOp.op, 'smooth_mesh_by');
  assert.deepEqual(brushOp.method.brush.stroke_mm, [picked]);
  assert.equal(brushOp.method.brush.radius_mm, 6);
  assert.notEqual((await meshRows(page))[0].sha, beforeBrush, 'the brush must move the surface under it');
  assert.match(await page.$eval('#mesh-report', (e) => e.textContent), /brush smoothing along a stroke of 1 points, radius 6 mm/);
  assert.match(await page.$eval('#mesh-deviation-legend', (e) => e.textContent), /has changed since/);
  assert.equal(await page.evaluate(() => window.osteon.meshTools.deviationList(() => 255)), null, 'no stale colours');

  // Measure the selection (no op).
  await page.click('#mesh-measure');
  await page.waitForSelector('#mesh-measurements:not([hidden])', { timeout: 60000 });
  const m = await page.$eval('#mesh-measurements', (e) => ({ text: e.textContent, volume: Number(e.dataset.volume), watertight: e.dataset.watertight }));
  const reported = await page.evaluate(() => window.osteon.meshTools.selectedObject().report.volume_mm3);
  assert.ok(Math.abs(m.volume - reported) < 1e-6 * reported, `${m.volume} vs ${reported}`);
  assert.equal(m.watertight, 'true');
  for (const k of ['Centroid', 'Axis 1', 'Axis 3', 'Bounding box', 'watertight, genus 0']) assert.ok(m.text.includes(k), `${k} in ${m.text}`);
  assert.equal(await page.evaluate(() => window.osteon.seg.ops.length), 6, 'measuring is not an op');

  // A bad setting is refused with a clear message; nothing changes.
  const hashBefore = await page.evaluate(() => location.hash);
  const [beforeBad] = await meshRows(page);
  await page.selectOption('#mesh-smooth-mode', 'gaussian');
  await page.fill('#mesh-smooth-sigma', '50');
  await page.click('#mesh-smooth');
  await page.waitForFunction(() => document.getElementById('status').dataset.state === 'error', null, { timeout: 60000 });
  assert.match(await page.$eval('#status', (e) => e.textContent), /σ between 0\.05 and 5 mm/);
  assert.deepEqual(await meshRows(page), [beforeBad]);
  assert.equal(await page.evaluate(() => window.osteon.seg.ops.length), 6);
  assert.equal(await page.evaluate(() => location.hash), hashBefore);
  assert.deepEqual((await opNames(page)).slice(-5), ['mirror_mesh', 'smooth_mesh_by', 'repair_mesh', 'compare_meshes', 'smooth_mesh_by']);
  assert.match(hashBefore, /^#d=3\./, 'the new mesh ops need design schema 3');

  // Every output, the deviation map included, is the same natively.
  const record = await download(page, '#design-history');
  const browserHistory = JSON.parse(record.bytes.toString('utf8'));
  assert.ok(browserHistory.outputs.some((o) => o.file === 'deviation.csv'), 'the deviation map is an output');
  const nativeHistory = nativeReplayRecord(hashBefore);
  if (nativeHistory) {
    const files = (h) => h.outputs.map((o) => `${o.file} ${o.bytes} ${o.sha256}`);
    assert.deepEqual(files(browserHistory), files(nativeHistory));
    assert.deepEqual(browserHistory.ops, nativeHistory.ops);
  }
  const [final] = await meshRows(page);
  assert.deepEqual(errors, []);
  assertSameOrigin(requests);
  await page.close();

  // The link reopens to the same mesh and the same comparison.
  const other = await openPage(browser(), BASE_URL + hashBefore);
  await other.page.waitForFunction(() => !document.getElementById('mesh-deviation-legend').hidden, null, { timeout: 300000 });
  await waitForStudy(other.page);
  const [replayed] = await meshRows(other.page);
  assert.equal(replayed.sha, final.sha, 'the replayed mesh differs');
  assert.equal(await other.page.$eval('#mesh-deviation-legend', (e) => Number(e.dataset.rms)), dev.rms);
  assert.deepEqual(other.errors, []);
  assertSameOrigin(other.requests);
  await other.page.close();
});
