// End-to-end: picking in the 3-D view. A click on a calculated part selects its row in the
// Masks and Meshes panels, highlights it, moves the crosshair to the picked point and shows
// it in patient mm; a click on empty space clears the selection; a drag still rotates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { useBrowser, openPage, waitForStudy, ARTIFACTS } from './harness.mjs';

const browser = useBrowser();

/**
 * Page position (whole CSS px) on the 3-D canvas where a click hits `wantLabel` (null:
 * nothing), searching a grid; the 4 neighbours 3 px away must agree, so mouse rounding
 * cannot slip off an edge.
 */
function findPixel(page, wantLabel) {
  return page.evaluate((label) => {
    const app = window.osteon;
    const c = document.getElementById('canvas3d');
    const r = c.getBoundingClientRect();
    const o = app.orbit;
    const at = (x, y) => app.viewer.pick((x - r.left) * (c.width / r.width), (y - r.top) * (c.height / r.height), c.width, c.height, o.yaw, o.pitch, o.zoom);
    const wanted = (hit) => (label === null ? !hit : !!hit && hit.label === label);
    for (let gy = 2; gy < 60; gy++) {
      for (let gx = 2; gx < 80; gx++) {
        const x = Math.round(r.left + (gx / 82) * r.width);
        const y = Math.round(r.top + (gy / 62) * r.height);
        const hit = at(x, y);
        if (wanted(hit) && [[3, 0], [-3, 0], [0, 3], [0, -3]].every(([dx, dy]) => wanted(at(x + dx, y + dy)))) return { x, y, hit };
      }
    }
    return null;
  }, wantLabel);
}

test('clicking a part in the 3-D view selects it, moves the crosshair and shows the point', { timeout: 400000 }, async () => {
  const { page, errors } = await openPage(browser());
  await page.click('#open-demo');
  await waitForStudy(page);
  await page.click('#auto-bones');
  await page.waitForFunction(() => window.osteon.seg && window.osteon.seg.parts.length === 12, null, { timeout: 120000 });
  await page.click('#calc-parts');
  await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('Calculated'), null, { timeout: 180000 });
  const talus = await page.evaluate(() => window.osteon.seg.parts.find((p) => p.name === 'right talus').label);

  const spot = await findPixel(page, talus);
  assert.ok(spot, 'the right talus should be visible somewhere in the 3-D view');
  await page.mouse.click(spot.x, spot.y);
  const picked = await page.evaluate(() => window.osteon.picked);
  assert.equal(picked.label, talus);
  assert.equal(picked.name, 'right talus');
  // The talus row is selected in the Masks table and the Meshes panel reports it.
  assert.deepEqual(await page.$$eval('#parts-table tbody tr.selected', (rows) => rows.map((r) => Number(r.dataset.label))), [talus]);
  assert.match(await page.$eval('#mesh-selected', (e) => e.textContent), /right talus/);
  assert.match(await page.$eval('#edit-target', (e) => e.textContent), /right talus/);
  // The crosshair moved to the picked point, which lies on the talus: a labelled talus
  // voxel is within a voxel of it (checked against the label volume, not the mesh).
  const cursor = await page.evaluate(() => [...window.osteon.cursor]);
  assert.deepEqual(cursor, picked.voxel);
  const nearTalus = await page.evaluate(([v, l]) => {
    for (let dk = -1; dk <= 1; dk++) for (let dj = -2; dj <= 2; dj++) for (let di = -2; di <= 2; di++) {
      if (window.osteon.viewer.labelAt(v[0] + di, v[1] + dj, v[2] + dk) === l) return true;
    }
    return false;
  }, [picked.voxel, talus]);
  assert.ok(nearTalus, `picked voxel ${picked.voxel} is not on the talus`);
  const mm = await page.evaluate((v) => window.osteon.viewer.patientMm(...v), picked.voxel);
  for (let a = 0; a < 3; a++) assert.ok(Math.abs(mm[a] - picked.point_mm[a]) <= 1.0, `axis ${a}: ${mm[a]} vs ${picked.point_mm[a]}`);
  const status = await page.$eval('#status', (e) => e.textContent);
  assert.ok(status.includes(picked.point_mm.map((v) => v.toFixed(1)).join(', ')), status);
  await page.screenshot({ path: path.join(ARTIFACTS, 'pick_talus.png') });

  // A drag rotates the camera and keeps the selection.
  const yaw = await page.evaluate(() => window.osteon.orbit.yaw);
  await page.mouse.move(spot.x, spot.y);
  await page.mouse.down();
  await page.mouse.move(spot.x + 80, spot.y + 10, { steps: 8 });
  await page.mouse.up();
  assert.notEqual(await page.evaluate(() => window.osteon.orbit.yaw), yaw, 'the drag did not rotate');
  assert.equal(await page.evaluate(() => window.osteon.picked.label), talus);
  assert.deepEqual(await page.$$eval('#parts-table tbody tr.selected', (rows) => rows.map((r) => Number(r.dataset.label))), [talus]);

  // A click on empty space clears the selection.
  const empty = await findPixel(page, null);
  assert.ok(empty, 'some of the 3-D view should be empty');
  await page.mouse.click(empty.x, empty.y);
  assert.equal(await page.evaluate(() => window.osteon.picked), null);
  assert.equal(await page.$$eval('#parts-table tbody tr.selected', (rows) => rows.length), 0);
  assert.match(await page.$eval('#status', (e) => e.textContent), /selection cleared/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('clicking a mesh object in the 3-D view selects its row in the Meshes panel', { timeout: 400000 }, async () => {
  const { page, errors } = await openPage(browser());
  await page.click('#open-demo');
  await waitForStudy(page);
  await page.click('#auto-bones');
  await page.waitForFunction(() => window.osteon.seg && window.osteon.seg.parts.length === 12, null, { timeout: 120000 });
  const talus = await page.evaluate(() => window.osteon.seg.parts.find((p) => p.name === 'left talus').label);
  await page.evaluate((label) => window.osteon.worker.postMessage({ type: 'meshop', op: { op: 'mirror_mesh', source: { part: label }, plane: { sagittal: { x_mm: 0 } }, iso_hu: 720 } }), talus);
  await page.waitForFunction(() => document.querySelectorAll('#mesh-table tbody tr').length === 1, null, { timeout: 180000 });
  const id = await page.$eval('#mesh-table tbody tr', (r) => Number(r.dataset.id));
  // Clear the selection the mirror made, then pick the object in 3-D.
  await page.evaluate(() => window.osteon.meshTools.select(null));
  await page.waitForTimeout(300); // the panels may re-flow the views first
  const spot = await findPixel(page, 255);
  assert.ok(spot, 'the mirrored talus should be visible in the 3-D view');
  await page.mouse.click(spot.x, spot.y);
  const picked = await page.evaluate(() => window.osteon.picked);
  assert.ok(picked, `nothing picked at ${JSON.stringify(spot)}: ${await page.$eval('#status', (e) => e.textContent)}`);
  assert.equal(picked.mesh, id);
  assert.deepEqual(await page.$$eval('#mesh-table tbody tr.selected', (rows) => rows.map((r) => Number(r.dataset.id))), [id]);
  assert.match(await page.$eval('#mesh-selected', (e) => e.textContent), /Mesh object/);
  assert.deepEqual(errors, []);
  await page.close();
});
