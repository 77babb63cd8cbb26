// Privacy in the browser (shared data tier): after a whole workflow on a real CT —
// load, Auto bones, Calculate parts, export — neither the address bar, the exported
// files, the console nor the page's storage holds the study's patient name, ID, birth
// date, dates or UIDs, and no request left the page's origin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { SHARED, useBrowser, openPage, waitForStudy, assertSameOrigin, download } from './harness.mjs';

const browser = useBrowser();

/** Text of the first element with `tag` in a little-endian DICOM file (explicit or implicit VR). */
function rawText(bytes, [group, element]) {
  const key = Buffer.from([group & 0xff, group >> 8, element & 0xff, element >> 8]);
  const at = bytes.indexOf(key);
  if (at < 0 || at + 8 > bytes.length) return null;
  const explicit = /[A-Z]/.test(String.fromCharCode(bytes[at + 4])) && /[A-Z]/.test(String.fromCharCode(bytes[at + 5]));
  const len = explicit ? bytes.readUInt16LE(at + 6) : bytes.readUInt32LE(at + 4);
  if (len > 256 || at + 8 + len > bytes.length) return null;
  return bytes.subarray(at + 8, at + 8 + len).toString('latin1').replace(/^[\s\0]+|[\s\0]+$/g, '');
}

const IDENTIFYING_TAGS = [
  [0x0010, 0x0010], [0x0010, 0x0020], [0x0010, 0x0030], // patient name, ID, birth date
  [0x0008, 0x0020], [0x0008, 0x0021], // study and series dates
  [0x0020, 0x000d], [0x0020, 0x000e], [0x0008, 0x0018], [0x0020, 0x0052], // UIDs
  [0x0008, 0x0080], // institution
];

function identifiers(file) {
  const bytes = fs.readFileSync(file);
  const ids = IDENTIFYING_TAGS.map((t) => rawText(bytes, t)).filter((s) => s && s.length >= 4);
  const nameParts = ids.flatMap((s) => s.split('^')).filter((s) => s.length >= 4);
  return [...new Set([...ids, ...nameParts])];
}

function assertHoldsNone(what, haystack, ids) {
  const text = Buffer.isBuffer(haystack) ? haystack.toString('latin1') : String(haystack);
  for (const id of ids) {
    assert.ok(!text.toLowerCase().includes(id.toLowerCase()), `${what} contains the identifier "${id}"`);
  }
}

test('a real CT workflow leaves no patient identifier in links, exports, console or storage (shared data tier)', { timeout: 600000 }, async (t) => {
  const dir = path.join(SHARED, 'ct_head_invesalius_0051');
  if (!fs.existsSync(dir)) { t.skip('skipped: no shared data'); return; }
  const files = fs.readdirSync(dir).filter((f) => !f.endsWith('.md')).sort().map((f) => path.join(dir, f));
  const ids = [...new Set(files.slice(0, 3).flatMap(identifiers))];
  assert.ok(ids.length >= 4, `the test found too few identifiers to look for: ${ids}`);

  const { page, requests, console } = await openPage(browser());
  await page.setInputFiles('#file-input', files);
  await waitForStudy(page);
  await page.click('#auto-bones');
  await page.waitForFunction(() => /part\(s\)|no bone|error/i.test(document.getElementById('status').textContent), null, { timeout: 300000 });
  assert.ok((await page.$$('#parts-table tbody tr')).length > 0, await page.$eval('#status', (e) => e.textContent));
  await page.click('#calc-parts');
  await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('Calculated'), null, { timeout: 300000 });
  const stl = await download(page, '#parts-table tbody tr:first-child button:has-text("STL")');
  const threemf = await download(page, '#export-3mf');
  await page.waitForTimeout(300);
  const link = await page.evaluate(() => location.href);
  const storage = await page.evaluate(() => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, title: document.title }));

  assert.ok(link.includes('#d='), 'the address bar should hold the design');
  assertHoldsNone('the design link', decodeURIComponent(link), ids);
  assertHoldsNone(`the exported ${stl.name}`, stl.bytes, ids);
  assertHoldsNone(`the exported ${threemf.name}`, threemf.bytes, ids);
  assertHoldsNone('the console', console.join('\n'), ids);
  assertHoldsNone('the page storage and title', storage, ids);
  assertSameOrigin(requests);
  await page.close();
});
