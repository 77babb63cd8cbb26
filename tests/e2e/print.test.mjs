// End-to-end: the Print panel. Demo → Auto bones → Calculate parts → select the right
// navicular → Orient (ranking, overhang map, hand rotation preview and apply) → Supports →
// a refused layer thickness → Slice → scrub the layers → export G-code and CLI (headers
// checked) → Build job; then the design link, opened in a fresh page, replays to the
// same print outputs (the design-history records list the same files and SHA-256).
// Layers of 100 µm keep the job small enough for a test; the app's default is 30 µm.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { useBrowser, openPage, openDemoWithParts, waitForStudy, assertSameOrigin, download, BASE_URL, ARTIFACTS, nativeReplayRecord } from './harness.mjs';

const browser = useBrowser();

const LONG = { timeout: 240000 };

const ops = (page) => page.evaluate(() => window.osteon.seg.ops.length);
const status = (page) => page.$eval('#status', (e) => ({ state: e.dataset.state, text: e.textContent }));

async function afterOp(page, count) {
  const t0 = Date.now();
  await page.waitForFunction((n) => window.osteon.seg && window.osteon.seg.ops.length === n, count, LONG);
  await waitForStudy(page);
  console.log(`# ${Date.now() - t0} ms: ${(await status(page)).text}`);
}

/** Like harness `download`, with room for a whole job's scan paths (log the time and size). */
async function downloadJob(page, selector) {
  const t0 = Date.now();
  const [d] = await Promise.all([page.waitForEvent('download', { timeout: 300000 }), page.click(selector)]);
  const bytes = fs.readFileSync(await d.path());
  console.log(`# ${d.suggestedFilename()}: ${bytes.length} bytes in ${Date.now() - t0} ms`);
  return { name: d.suggestedFilename(), bytes };
}

async function setValue(page, selector, value) {
  await page.$eval(selector, (e, v) => { e.value = String(v); e.dispatchEvent(new Event('input', { bubbles: true })); }, value);
}

test('orient, support, slice, scrub, export and build a job; the link replays to the same outputs', { timeout: 900000 }, async () => {
  const { page, requests, errors } = await openPage(browser());
  await openDemoWithParts(page);
  // The navicular, the smallest bone of the demo, keeps the hatched job quick; the panel
  // works the same on the talus.
  const bone = await page.evaluate(() => window.osteon.seg.parts.find((p) => p.name === 'right navicular').label);
  await page.evaluate((label) => window.osteon.meshTools.select({ part: label }), bone);
  assert.match(await page.$eval('#print-target', (e) => e.textContent), /right navicular/);

  // Orient: a ranking, a colour map with red overhang faces, no articular marks (said so).
  await setValue(page, '#print-directions', 1000);
  let n = await ops(page);
  await page.click('#print-orient');
  await afterOp(page, ++n);
  const ranking = await page.$$eval('#print-ranking tbody tr', (r) => r.length);
  assert.ok(ranking >= 5, `${ranking} candidates shown`);
  assert.match(await page.$eval('#print-articular', (e) => e.textContent), /none are marked/);
  const scene = await page.evaluate(() => Array.from(window.osteon.printTools.scene.colours));
  assert.ok(scene.join(',').includes('225,40,40'), `an overhang (red) piece in the 3-D view: ${scene}`);
  const area0 = Number(await page.$eval('#print-orient-report', (e) => e.dataset.area));

  // Hand rotation: the map follows the sliders; Apply records it.
  await setValue(page, '#print-rx', 90);
  await page.waitForFunction(() => document.getElementById('print-preview-text').dataset.area, null, LONG);
  const preview = Number(await page.$eval('#print-preview-text', (e) => e.dataset.area));
  assert.notEqual(preview, area0, 'the supported area changes with the rotation');
  await page.click('#print-apply-rotation');
  await afterOp(page, ++n);
  const applied = Number(await page.$eval('#print-orient-report', (e) => e.dataset.area));
  assert.equal(applied, preview, 'the recorded rotation is the previewed one');

  // Supports.
  await page.click('#print-supports');
  await afterOp(page, ++n);
  const supports = Number(await page.$eval('#print-supports-report', (e) => e.dataset.count));
  assert.ok(supports > 0, 'supports were made');
  const stl = await download(page, '#print-export-supports');
  assert.equal(stl.name, 'supports.stl');
  assert.equal(stl.bytes.readUInt32LE(80) * 50 + 84, stl.bytes.length, 'binary STL size matches its triangle count');

  // A layer thickness outside 20–100 µm is refused with a message; nothing changes.
  await page.fill('#print-layer', '10');
  await page.click('#print-slice');
  await page.waitForFunction(() => document.getElementById('status').dataset.state === 'error', null, LONG);
  assert.match((await status(page)).text, /20–100 µm/);
  assert.equal(await ops(page), n);

  await page.fill('#print-layer', '100');
  await page.click('#print-slice');
  await afterOp(page, ++n);
  const layers = Number(await page.$eval('#print-estimate', (e) => e.dataset.layers));
  assert.ok(layers > 50 && layers < 1000, `${layers} layers`);
  const estimate = await page.$eval('#print-estimate', (e) => e.textContent);
  for (const words of ['Build time', 'Scan length', 'g Ti-6Al-4V', 'Powder', 'Supports']) assert.ok(estimate.includes(words), `${words} in ${estimate}`);

  // Scrub: the slider and the arrow keys.
  const mid = Math.floor(layers / 2);
  await setValue(page, '#print-layer-slider', mid);
  await page.waitForFunction((k) => document.getElementById('print-canvas').dataset.layer === String(k), mid, LONG);
  assert.ok(Number(await page.$eval('#print-canvas', (e) => e.dataset.hatches)) > 0, 'hatches on a middle layer');
  assert.ok(Number(await page.$eval('#print-canvas', (e) => e.dataset.contours)) > 0, 'contours on a middle layer');
  await page.focus('#print-canvas');
  for (let k = 0; k < 3; k++) await page.keyboard.press('ArrowRight');
  await page.waitForFunction((k) => document.getElementById('print-canvas').dataset.layer === String(k), mid + 3, LONG);
  await page.keyboard.press('ArrowLeft');
  await page.waitForFunction((k) => document.getElementById('print-canvas').dataset.layer === String(k), mid + 2, LONG);
  await page.screenshot({ path: path.join(ARTIFACTS, 'print-layer.png') });

  // Exports: headers of the G-code and both CLI files, and the layer SVG.
  const gcode = await downloadJob(page, '#print-export-gcode');
  const gtext = gcode.bytes.toString('utf8');
  assert.ok(gtext.startsWith('; Osteon print job'), gtext.slice(0, 80));
  assert.match(gtext, new RegExp(`; layers: ${layers}\\n`));
  assert.match(gtext, /; layer thickness: 100\.0 um/);
  const cli = await downloadJob(page, '#print-export-cli');
  const ctext = cli.bytes.toString('latin1');
  assert.ok(ctext.startsWith('$$HEADERSTART'));
  assert.match(ctext, /\$\$ASCII/);
  assert.match(ctext, new RegExp(`\\$\\$LAYERS/${layers}`));
  const clib = await downloadJob(page, '#print-export-clib');
  assert.match(clib.bytes.subarray(0, 400).toString('latin1'), /\$\$BINARY/);
  const svg = await download(page, '#print-export-svg');
  assert.match(svg.bytes.toString('utf8'), /^<svg /);

  // Build job: three sizes and two coupons, sliced.
  await page.click('#print-plate');
  await afterOp(page, ++n);
  assert.match(await page.$eval('#print-plate-report', (e) => e.textContent), /implant 95 %.*implant 105 %.*coupon 2/);
  await page.selectOption('#print-source', 'plate');
  const plateLayers = Number(await page.$eval('#print-estimate', (e) => e.dataset.layers));
  assert.ok(plateLayers > layers, 'the coupons make the plate taller than the navicular');

  // Undo removes the build job, redo restores it.
  await page.click('#undo');
  await page.waitForFunction(() => !window.osteon.printTools.state.plate, null, LONG);
  await page.click('#redo');
  await page.waitForFunction(() => !!window.osteon.printTools.state.plate, null, LONG);
  await waitForStudy(page);

  const link = await page.evaluate(() => location.hash);
  const record = JSON.parse((await downloadJob(page, '#design-history')).bytes.toString('utf8'));
  const files = (h) => h.outputs.map((o) => `${o.file} ${o.bytes} ${o.sha256}`);
  for (const f of ['print_right_navicular_oriented.stl', 'print_right_navicular_supports.stl', 'print_right_navicular.gcode', 'print_right_navicular.cli', 'print_plate.3mf', 'print_plate.cli']) {
    assert.ok(record.outputs.some((o) => o.file === f), `${f} among the outputs: ${files(record)}`);
  }
  assert.deepEqual(errors, []);
  assertSameOrigin(requests);
  await page.close();

  // The link, opened afresh, replays every print op to the same bytes.
  const again = await openPage(browser(), new URL(link, BASE_URL).href);
  await again.page.waitForFunction(() => window.osteon.printTools && window.osteon.printTools.state && window.osteon.printTools.state.plate, null, { timeout: 600000 });
  await waitForStudy(again.page);
  const replayed = JSON.parse((await downloadJob(again.page, '#design-history')).bytes.toString('utf8'));
  assert.deepEqual(files(replayed), files(record));
  assert.deepEqual(replayed.ops, record.ops);
  assert.deepEqual(again.errors, []);
  assertSameOrigin(again.requests);
  await again.page.close();
  fs.writeFileSync(path.join(ARTIFACTS, 'print-link.txt'), `${link}\n`);

  // `osteon replay` of the same link writes the same print files (when the native CLI
  // is built: the native test tier builds it).
  const native = nativeReplayRecord(link);
  if (native) assert.deepEqual(files(native), files(record));
});
