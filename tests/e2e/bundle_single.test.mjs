// The single-file bundler (scripts/bundle-single.mjs) on small module graphs: the import and
// export forms it supports run with the same results as native ES modules, and every form it
// does not support stops the build with a message naming the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { pathToFileURL } from 'node:url';
import { bundle } from '../../scripts/bundle-single.mjs';

/** Writes `files` ({name: source}) into a fresh folder and returns its path. */
function project(files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'osteon-bundle-'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

/** Runs the bundle of `main.js` and returns what it stored in globalThis.result. */
function runBundle(dir) {
  const { code } = bundle(path.join(dir, 'main.js'), dir);
  const context = { result: null, URL };
  vm.runInNewContext(code, context);
  return { result: context.result, code };
}

const GRAPH = {
  'lib/b.js': `// a comment with http://example.org and an 'unbalanced quote
export const ratio = 3 / 2, label = 'a//b', re = /\\/\\*x\\*\\//g;
export class Box { constructor(v) { this.v = v; } get twice() { return this.v * 2; } }
export function where() { return new URL('./data.bin', import.meta.url).pathname; }
const hidden = 7;
export { hidden as seven };
/* block
   comment */
export default function make(v) { return new Box(v); }
`,
  'lib/c.js': "export { seven, ratio as half } from './b.js';\nexport default 42;\n",
  'main.js': `import make, { Box, ratio as r, label, re, where } from './lib/b.js';
import * as c from './lib/c.js';
const early = answer; // imports are hoisted
import answer from './lib/c.js';
const handlers = { async export() { return 1; }, import: 2 };
globalThis.result = {
  twice: make(5).twice, isBox: make(1) instanceof Box, r, label, re: '/*x*/'.replace(re, '!'),
  where: where(), seven: c.seven, half: c.half, answer, early, keys: Object.keys(handlers),
  template: \`\${label}\${\`-\${r}\`}\`,
};
`,
};

test('supported import and export forms give the same results as native ES modules', async () => {
  const dir = project(GRAPH);
  const { result, code } = runBundle(dir);
  await import(pathToFileURL(path.join(dir, 'main.js')).href);
  const native = globalThis.result;
  // import.meta.url differs by design (a pseudo URL in the bundle); the path it resolves does not.
  assert.equal(result.where, '/lib/data.bin');
  assert.ok(native.where.endsWith('/lib/data.bin'));
  const plain = (o) => JSON.parse(JSON.stringify({ ...o, where: null })); // the vm's objects come from another realm
  assert.deepEqual(plain(result), plain(native));
  assert.equal(result.re, '!', 'the regex literal survives');
  assert.equal(result.twice, 10);
  assert.equal(result.half, 1.5);
  assert.doesNotMatch(code, /http:|a comment|block/, 'comments are dropped');
  assert.match(code, /'a\/\/b'/, 'a // inside a string is not a comment');
});

const REFUSED = {
  'dynamic import()': ["export const x = 1;\nimport('./other.js');\n", /main\.js:2: dynamic import\(\)/],
  'export let': ['export let counter = 0;\n', /export let/],
  'export *': ["export * from './lib/b.js';\n", /unsupported export form 'export \*'/],
  'a bare specifier': ["import x from 'three';\n", /only relative imports/],
  'a missing file': ["import x from './nope.js';\n", /nope\.js does not exist/],
  'import.meta other than url': ['const m = import.meta.env;\n', /only import\.meta\.url/],
  'destructuring export': ['export const { a } = {};\n', /destructuring/],
  'an exported let through a list': ['let n = 1;\nexport { n };\n', /top-level let\/var/],
};

for (const [what, [source, message]] of Object.entries(REFUSED)) {
  test(`the bundler refuses ${what} with a clear message`, () => {
    const dir = project({ ...GRAPH, 'main.js': source });
    assert.throws(() => bundle(path.join(dir, 'main.js'), dir), message);
  });
}

test('the bundler refuses an import cycle', () => {
  const dir = project({ 'main.js': "import { b } from './b.js';\nexport const a = 1;\n", 'b.js': "import { a } from './main.js';\nexport const b = 2;\n" });
  assert.throws(() => bundle(path.join(dir, 'main.js'), dir), /circular import/);
});
