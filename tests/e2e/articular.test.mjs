// End-to-end: articular surfaces in the Print panel, then block supports and a build job
// whose sizes carry supports. Demo → Auto bones → Calculate parts → select the right
// navicular → a fast brush stroke marks a continuous band (undone) → Suggest joint surfaces
// (its talonavicular facet) → the brush ring follows the mouse; right-drag and Alt+drag
// rotate with the brush on → brush more faces in the 3-D view, erase some, a stroke that
// misses → undo/redo a stroke → a label edit of the marked part refreshes its marks →
// Orient (the marks go along) → block supports (clear of the marks; warnings grouped) →
// Slice → Build job with supports; then the design link, opened afresh, replays to the
// same marks and the same output digests, and `osteon replay` of the link writes the same
// files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { useBrowser, openPage, openDemoWithParts, waitForStudy, assertSameOrigin, download, BASE_URL, ARTIFACTS, nativeReplayRecord } from './harness.mjs';

const browser = useBrowser();
const LONG = { timeout: 240000 };

const ops = (page) => page.evaluate(() => window.osteon.seg.ops.length);
const status = (page) => page.$eval('#status', (e) => ({ state: e.dataset.state, text: e.textContent }));
const marked = (page) => page.$eval('#mark-report', (e) => Number(e.dataset.faces));

async function afterOp(page, count) {
  const t0 = Date.now();
  await page.waitForFunction((n) => window.osteon.seg && window.osteon.seg.ops.length === n, count, LONG);
  await waitForStudy(page);
  console.log(`# ${Date.now() - t0} ms: ${(await status(page)).text}`);
}

async function setValue(page, selector, value) {
  await page.$eval(selector, (e, v) => { e.value = String(v); e.dispatchEvent(new Event('input', { bubbles: true })); }, value);
}

/** The brush ring on the overlay: its radius in mm ('' when none) and whether it lies on the selection. */
const ring = (page) => page.evaluate(() => {
  const o = document.querySelector('canvas.stroke-overlay');
  return o ? { mm: o.dataset.ring, on: o.dataset.ringOn } : { mm: '', on: '' };
});

/** Page coordinates of 3-D view pixels that show `label` (a coarse grid, picked with the viewer). */
function pixelsOn(page, label) {
  return page.evaluate((want) => {
    const app = window.osteon;
    const c = document.getElementById('canvas3d');
    const r = c.getBoundingClientRect();
    const out = [];
    for (let y = 4; y < r.height; y += 6) {
      for (let x = 4; x < r.width; x += 6) {
        const hit = app.viewer.pick(x * (c.width / r.width), y * (c.height / r.height), c.width, c.height, app.orbit.yaw, app.orbit.pitch, app.orbit.zoom);
        if (hit && hit.label === want) out.push([r.left + x, r.top + y]);
      }
    }
    return out;
  }, label);
}

async function drag(page, points, beforeUp = async () => {}) {
  await page.mouse.move(...points[0]);
  await page.mouse.down();
  for (const p of points.slice(1)) {
    await page.mouse.move(...p, { steps: 3 });
    await page.waitForTimeout(40);
  }
  await beforeUp();
  await page.mouse.up();
}

async function downloadRecord(page) {
  const [d] = await Promise.all([page.waitForEvent('download', { timeout: 300000 }), page.click('#design-history')]);
  return JSON.parse(fs.readFileSync(await d.path(), 'utf8'));
}

test('mark joint surfaces, orient, block supports, slice and a supported build job; the link replays to the same marks and outputs', { timeout: 900000 }, async () => {
  const { page, requests, errors } = await openPage(browser());
  await openDemoWithParts(page);
  const bone = await page.evaluate(() => window.osteon.seg.parts.find((p) => p.name === 'right navicular').label);
  await page.evaluate((label) => window.osteon.meshTools.select({ part: label }), bone);
  assert.match(await page.$eval('#mark-report', (e) => e.textContent), /right navicular: no joint surface marked/);
  let n = await ops(page);

  // A fast stroke: two picks far apart (one mouse move, no points in between) mark a
  // continuous band, the point half-way between them included. Undone again.
  await page.evaluate(() => { window.osteon.orbit = { yaw: 60, pitch: 35, zoom: 0.45 }; window.osteon.draw3d(); });
  await setValue(page, '#mark-radius', 1);
  await page.click('#mark-brush');
  const bare = await pixelsOn(page, bone);
  bare.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const [from, to] = [bare[Math.floor(bare.length * 0.3)], bare[Math.floor(bare.length * 0.7)]];
  const half = await page.evaluate(([f, t]) => {
    const app = window.osteon;
    const c = document.getElementById('canvas3d');
    const r = c.getBoundingClientRect();
    const at = ([x, y]) => app.viewer.pick((x - r.left) * (c.width / r.width), (y - r.top) * (c.height / r.height), c.width, c.height, app.orbit.yaw, app.orbit.pitch, app.orbit.zoom);
    const [a, b, m] = [at(f), at(t), at([(f[0] + t[0]) / 2, (f[1] + t[1]) / 2])];
    return { apart_mm: Math.hypot(...a.point_mm.map((v, k) => v - b.point_mm[k])), middle: m && m.point_mm, label: m && m.label };
  }, [from, to]);
  assert.ok(half.apart_mm > 5, `the stroke's ends lie ${half.apart_mm} mm apart (> 5 radii)`);
  assert.equal(half.label, bone, 'the middle of the stroke is on the navicular');
  await page.mouse.move(...from);
  await page.mouse.down();
  await page.mouse.move(...to, { steps: 1 });
  await page.mouse.up();
  await afterOp(page, ++n);
  const fast = await page.evaluate(() => window.osteon.seg.ops[window.osteon.seg.ops.length - 1]);
  assert.ok(Array.isArray(fast.runs) && fast.runs.reduce((a, b) => a + b, 0) === fast.stroke_mm.length, `runs ${JSON.stringify(fast.runs)} of ${fast.stroke_mm.length} points`);
  const nearest = await page.evaluate((p) => {
    const m = window.osteon.printTools.marks.scene;
    let best = Infinity;
    for (let v = 0; v < m.positions.length; v += 3) best = Math.min(best, Math.hypot(m.positions[v] - p[0], m.positions[v + 1] - p[1], m.positions[v + 2] - p[2]));
    return best;
  }, half.middle);
  assert.ok(nearest < 1, `a marked face lies ${nearest} mm from the middle of the stroke (radius 1 mm)`);
  await page.keyboard.press('Escape');
  await page.click('#undo');
  await page.waitForFunction(() => document.getElementById('mark-report').dataset.faces === '0', null, LONG);
  await waitForStudy(page);
  n--;
  await setValue(page, '#mark-radius', 3);

  // Suggest: the faces that look at the talus (and the other neighbours) across ≤ 3 mm.
  await page.click('#mark-suggest');
  await afterOp(page, ++n);
  const suggested = await marked(page);
  const note = (await status(page)).text;
  assert.match(note, /Suggested \d+ face\(s\) of right navicular facing .*right talus/, note);
  assert.ok(suggested > 100, `${suggested} faces suggested`);
  assert.match(await page.$eval('#mark-report', (e) => e.textContent), /faces marked as joint surface, \d+ mm²/);
  const pieces = await page.evaluate(() => window.osteon.printTools.marks.scene.surfaces.length);
  assert.equal(pieces, 1, 'one marked surface drawn over the navicular');
  await page.screenshot({ path: path.join(ARTIFACTS, 'articular-suggested.png') });

  // The brush: zoom onto the navicular, then drag over it.
  await page.evaluate(() => { window.osteon.orbit = { yaw: 60, pitch: 35, zoom: 0.45 }; window.osteon.draw3d(); });
  await page.click('#mark-brush');
  assert.equal(await page.$eval('#mark-brush', (e) => e.getAttribute('aria-pressed')), 'true');
  const on = await pixelsOn(page, bone);
  assert.ok(on.length > 10, `${on.length} pixels show the navicular`);
  on.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const mid = Math.floor(on.length / 2);

  // The brush ring follows the mouse over the selection (radius in mm), dashed off it.
  await page.mouse.move(...on[mid]);
  await page.waitForFunction(() => document.querySelector('canvas.stroke-overlay')?.dataset.ring === '3', null, LONG);
  assert.deepEqual(await ring(page), { mm: '3', on: 'true' });
  const r0 = await page.$eval('#canvas3d', (e) => { const b = e.getBoundingClientRect(); return [b.left, b.top]; });
  await page.mouse.move(r0[0] + 3, r0[1] + 3);
  await page.waitForFunction(() => document.querySelector('canvas.stroke-overlay').dataset.ring === '', null, LONG);
  await page.mouse.move(...on[mid]);
  await page.screenshot({ path: path.join(ARTIFACTS, 'articular-ring.png') });

  // With the brush on, a right drag and an Alt+drag rotate the view and mark nothing.
  for (const how of ['right', 'alt']) {
    const yaw = await page.evaluate(() => window.osteon.orbit.yaw);
    if (how === 'alt') await page.keyboard.down('Alt');
    await page.mouse.move(...on[mid]);
    await page.mouse.down({ button: how === 'right' ? 'right' : 'left' });
    await page.mouse.move(on[mid][0] + 40, on[mid][1], { steps: 4 });
    await page.mouse.up({ button: how === 'right' ? 'right' : 'left' });
    if (how === 'alt') await page.keyboard.up('Alt');
    const now = await page.evaluate(() => window.osteon.orbit.yaw);
    assert.ok(Math.abs(now - yaw) > 5, `${how} drag rotated the view: yaw ${yaw} -> ${now}`);
    assert.equal(await ops(page), n, `the ${how} drag made no op`);
    assert.equal(await page.$eval('#mark-brush', (e) => e.getAttribute('aria-pressed')), 'true', 'the brush stays on');
    await page.evaluate(() => { window.osteon.orbit = { yaw: 60, pitch: 35, zoom: 0.45 }; window.osteon.draw3d(); });
  }
  assert.match(await page.$eval('#mark-hint', (e) => e.textContent), /right-drag or Alt\+drag rotates/);
  await drag(page, [on[Math.max(0, mid - 6)], on[mid], on[Math.min(on.length - 1, mid + 6)]], async () => {
    // While dragging, the stroke's path is drawn over the view and the status counts its points.
    assert.match((await status(page)).text, /Marking right navicular: \d+ point\(s\)/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'articular-stroke.png') });
  });
  await afterOp(page, ++n);
  const brushed = await marked(page);
  assert.match((await status(page)).text, /Marked \d+ face\(s\) of right navicular with a 3 mm brush/);
  assert.ok(brushed >= suggested, `${brushed} ≥ ${suggested}`);
  console.log(`# stroke round trip: ${JSON.stringify(await page.evaluate(() => window.osteon.printTools.marks.lastTiming))}`);
  await page.screenshot({ path: path.join(ARTIFACTS, 'articular-brushed.png') });

  // A stroke on empty space marks nothing and says so; no op is recorded.
  const r = await page.$eval('#canvas3d', (e) => { const b = e.getBoundingClientRect(); return [b.left, b.top]; });
  await drag(page, [[r[0] + 3, r[1] + 3], [r[0] + 9, r[1] + 5]]);
  assert.match((await status(page)).text, /The brush missed right navicular/);
  assert.equal(await ops(page), n);

  // Erase where the brush went: fewer faces.
  await page.click('#mark-erase');
  await drag(page, [on[mid], on[Math.min(on.length - 1, mid + 3)]]);
  await afterOp(page, ++n);
  let erased = await marked(page);
  assert.ok(erased < brushed, `${erased} < ${brushed} after erasing`);
  await page.keyboard.press('Escape');
  assert.equal(await page.$eval('#mark-erase', (e) => e.getAttribute('aria-pressed')), 'false');

  // Undo the erase, redo it: the counts follow.
  await page.click('#undo');
  await page.waitForFunction((f) => Number(document.getElementById('mark-report').dataset.faces) === f, brushed, LONG);
  await page.click('#redo');
  await page.waitForFunction((f) => Number(document.getElementById('mark-report').dataset.faces) === f, erased, LONG);
  await waitForStudy(page);

  // A label edit of the marked part (a 3-D erase where the brush marked it) refreshes its
  // marks: the report follows at once and says to calculate the part again to draw them.
  const before = await page.evaluate(() => window.osteon.printTools.marks.scene);
  const voxel = await page.evaluate(([x, y]) => {
    const app = window.osteon;
    const c = document.getElementById('canvas3d');
    const r = c.getBoundingClientRect();
    return app.viewer.pick((x - r.left) * (c.width / r.width), (y - r.top) * (c.height / r.height), c.width, c.height, app.orbit.yaw, app.orbit.pitch, app.orbit.zoom).voxel;
  }, on[Math.max(0, mid - 6)]);
  await page.evaluate(([label, v]) => window.osteon.applyOp({ op: 'erase', label, axis: null, radius_mm: 2.5, stroke: [v] }), [bone, voxel]);
  await afterOp(page, ++n);
  await page.waitForFunction((old) => window.osteon.printTools.marks.scene !== old && document.getElementById('mark-report').dataset.drawn === 'false', before, LONG);
  assert.match(await page.$eval('#mark-report', (e) => e.textContent), /faces marked as joint surface.*Calculate parts to draw the part and its marks again/);
  await page.click('#calc-parts');
  await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('Calculated') && document.getElementById('mark-report').dataset.drawn === 'true', null, LONG);
  const edited = await marked(page);
  assert.ok(edited > 0 && edited !== erased, `${edited} faces marked on the edited navicular (${erased} before)`);
  erased = edited;

  // Orient: the marks go along; the report says how much of them still looks down.
  await setValue(page, '#print-directions', 1000);
  await page.click('#print-orient');
  await afterOp(page, ++n);
  const art = await page.$eval('#print-articular', (e) => ({ text: e.textContent, faces: Number(e.dataset.faces), down: Number(e.dataset.down) }));
  assert.equal(art.faces, erased, art.text);
  assert.match(art.text, /Joint surfaces: [\d,]+ faces \(\d+ mm²\) kept facing up/);
  const colours = await page.evaluate(() => Array.from(window.osteon.printTools.scene.colours).join(','));
  assert.ok(colours.includes('255,0,255'), `marked faces in the print view: ${colours}`);
  assert.equal(await page.$eval('#print-show3d', (e) => e.checked), true, 'the print view is back after brushing');

  // Block supports from the panel, clear of the marks.
  await page.selectOption('#print-style', 'block');
  await page.click('#print-supports');
  await afterOp(page, ++n);
  const sup = await page.$eval('#print-supports-report', (e) => ({ text: e.textContent, style: e.dataset.style, count: Number(e.dataset.count) }));
  assert.equal(sup.style, 'block');
  assert.ok(sup.count > 0, sup.text);
  assert.match(sup.text, /block walls .*none on the marked joint surfaces/);
  // Warnings read as one line per kind, each region on demand.
  const warn = await page.$eval('#print-supports-warnings', (e) => ({ hidden: e.hidden, count: Number(e.dataset.count), lines: e.querySelector('p') ? e.querySelector('p').textContent : '', items: e.querySelectorAll('details li').length }));
  if (warn.count) {
    assert.ok(!warn.hidden && warn.lines.split('; ').length < warn.count + 1, JSON.stringify(warn));
    assert.ok(warn.count <= 3 || warn.items === warn.count, `every warning in the details list: ${JSON.stringify(warn)}`);
    console.log(`# ${warn.count} support warning(s): ${warn.lines}`);
    await page.$eval('#print-supports-warnings', (e) => { e.scrollIntoView(); const d = e.querySelector('details'); if (d) d.open = true; });
    await page.screenshot({ path: path.join(ARTIFACTS, 'articular-support-warnings.png') });
    await page.$eval('#print-supports-warnings details', (d) => { d.open = false; }).catch(() => {});
  }
  const op = await page.evaluate(() => window.osteon.seg.ops[window.osteon.seg.ops.length - 1]);
  assert.equal(op.style, 'block');
  assert.ok(op.block && op.block.wall_mm > 0, 'the wall options are pinned in the op');
  await page.evaluate(() => { window.osteon.orbit = { yaw: 30, pitch: 10, zoom: 1 }; window.osteon.draw3d(); });
  await page.screenshot({ path: path.join(ARTIFACTS, 'articular-print-view.png') });

  await page.fill('#print-layer', '100');
  await page.click('#print-slice');
  await afterOp(page, ++n);
  const layers = Number(await page.$eval('#print-estimate', (e) => e.dataset.layers));
  assert.ok(layers > 50, `${layers} layers`);
  await page.$eval('#print-canvas', (e) => e.scrollIntoView());
  await setValue(page, '#print-layer-slider', 20);
  await page.waitForFunction(() => document.getElementById('print-canvas').dataset.layer === '20', null, LONG);
  assert.ok(Number(await page.$eval('#print-canvas', (e) => e.dataset.supports)) > 0, 'block walls on layer 21');

  // Build job: every size carries its supports.
  await page.fill('#print-coupons', '0');
  await page.click('#print-plate');
  await afterOp(page, ++n);
  const plate = await page.$eval('#print-plate-report', (e) => ({ text: e.textContent, supports: e.dataset.supports }));
  const counts = plate.supports.split(',').map(Number);
  assert.equal(counts.length, 3, plate.text);
  assert.ok(counts.every((c) => c > 0), plate.text);
  assert.match(plate.text, /Supports under the sizes/);
  await page.selectOption('#print-source', 'plate');
  const estimate = await page.$eval('#print-estimate', (e) => e.textContent);
  assert.doesNotMatch(estimate, /Supportsnone/, 'the plate estimate counts the supports');
  await page.$eval('#print-panel', (e) => e.scrollIntoView());
  await page.screenshot({ path: path.join(ARTIFACTS, 'articular-print-panel.png') });

  const link = await page.evaluate(() => location.hash);
  // Marks need schema 2; the slice and plate ops of the panel simplify the outlines (schema 4).
  assert.ok(link.startsWith('#d=4.'), 'a design with simplified outlines is a schema-4 link');
  const record = await downloadRecord(page);
  const files = (h) => h.outputs.map((o) => `${o.file} ${o.bytes} ${o.sha256}`);
  for (const f of ['print_right_navicular_oriented.stl', 'print_right_navicular_supports.stl', 'print_right_navicular.cli', 'print_plate.3mf', 'print_plate.cli']) {
    assert.ok(record.outputs.some((o) => o.file === f), `${f} among the outputs: ${files(record)}`);
  }
  assert.deepEqual(errors, []);
  assertSameOrigin(requests);
  await page.close();

  // The link, opened afresh, replays to the same marks and the same bytes.
  const again = await openPage(browser(), new URL(link, BASE_URL).href);
  await again.page.waitForFunction(() => window.osteon.printTools && window.osteon.printTools.state && window.osteon.printTools.state.plate, null, { timeout: 600000 });
  await waitForStudy(again.page);
  const faces = await again.page.evaluate((label) => {
    const s = window.osteon.printTools.marks.scene.surfaces.find((x) => x.target.part === label);
    return s && s.faces;
  }, bone);
  assert.equal(faces, erased, 'the same faces are marked after a replay');
  const replayed = await downloadRecord(again.page);
  assert.deepEqual(files(replayed), files(record));
  assert.deepEqual(replayed.ops, record.ops);
  assert.deepEqual(again.errors, []);
  assertSameOrigin(again.requests);
  await again.page.close();
  fs.writeFileSync(path.join(ARTIFACTS, 'articular-link.txt'), `${link}\n`);

  const native = nativeReplayRecord(link);
  if (native) assert.deepEqual(files(native), files(record));
});
