// Single-file build: turns index.html, its ES modules, the compute worker and the wasm into
// one self-contained HTML file that runs from disk (file://) with no server and no network.
//
//   node scripts/bundle-single.mjs --html index.html --wasm www/pkg/osteon_bg.wasm \
//     --worker www/worker.js --out dist/osteon.html
//
// Hand-written with Node's standard library only (no npm bundler, nothing downloaded): the
// app's modules use a small subset of ES module syntax, and every form outside that subset
// stops the build with a message naming the file and line, never a silently wrong bundle.
//
// How the output works:
// - every module of the import graph becomes a function returning its exports (getters),
//   run once in dependency order; `import.meta.url` becomes a stable pseudo URL
//   ("osteon-single:///www/app.js") so `new URL('./x', import.meta.url)` still resolves;
// - the wasm is inlined once, base64, in a non-executed data block; the page compiles it
//   once and posts the compiled WebAssembly.Module to each worker it starts;
// - each worker is bundled the same way into a string started from a Blob URL as a
//   classic worker (module workers from blob: URLs fail on file:// pages);
// - `globalThis.OSTEON_SINGLE` tells app.js / worker.js they run in the single file
//   (see ARCHITECTURE.md); the service worker is not used;
// - the Content-Security-Policy allows the inline script and style by their SHA-256 only,
//   'wasm-unsafe-eval', blob: workers, and no network request of any kind.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import os from 'node:os';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const META_BASE = 'osteon-single:///';

class BundleError extends Error {}
const fail = (msg) => { throw new BundleError(msg); };

// ---------------------------------------------------------------- tokenizer

const KEYWORDS_BEFORE_EXPR = new Set(['return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void',
  'throw', 'case', 'do', 'else', 'yield', 'await']);
const isIdStart = (c) => /[A-Za-z_$\u0080-\uffff]/.test(c);
const isIdPart = (c) => /[A-Za-z0-9_$\u0080-\uffff]/.test(c);

/**
 * Splits JavaScript source into tokens {type, value, start, end, line, depth}. Types: 'id',
 * 'num', 'str', 'tmpl' (a whole template literal, nested `${}` included), 'regex', 'punct'.
 * Comments are dropped (recorded in `comments` so the caller can cut them out). `depth` is
 * the bracket depth ({[( ) before the token: 0 means module top level.
 */
function tokenize(src, file) {
  const tokens = [];
  const comments = [];
  let i = 0;
  let line = 1;
  let depth = 0;
  const where = () => `${file}:${line}`;
  const prevAllowsRegex = () => {
    const t = tokens[tokens.length - 1];
    if (!t) return true;
    if (t.type === 'num' || t.type === 'str' || t.type === 'tmpl' || t.type === 'regex') return false;
    if (t.type === 'id') return KEYWORDS_BEFORE_EXPR.has(t.value);
    return !(t.value === ')' || t.value === ']' || t.value === '}');
  };
  const countLines = (a, b) => { for (let k = a; k < b; k++) if (src[k] === '\n') line++; };

  // Skips a string literal starting at src[j] (the quote); returns the index after it.
  const skipString = (j) => {
    const q = src[j];
    j++;
    while (j < src.length && src[j] !== q) {
      if (src[j] === '\\') j++;
      else if (src[j] === '\n') fail(`${where()}: unterminated string literal`);
      j++;
    }
    if (j >= src.length) fail(`${where()}: unterminated string literal`);
    return j + 1;
  };
  // Skips a template literal starting at the backquote, with nested ${ } expressions.
  const skipTemplate = (j) => {
    j++;
    while (j < src.length) {
      const c = src[j];
      if (c === '\\') { j += 2; continue; }
      if (c === '`') return j + 1;
      if (c === '$' && src[j + 1] === '{') {
        j += 2;
        let d = 1;
        while (j < src.length && d > 0) {
          const e = src[j];
          if (e === '"' || e === "'") { j = skipString(j); continue; }
          if (e === '`') { j = skipTemplate(j); continue; }
          if (e === '/' && src[j + 1] === '/') { while (j < src.length && src[j] !== '\n') j++; continue; }
          if (e === '/' && src[j + 1] === '*') { const k = src.indexOf('*/', j + 2); if (k < 0) fail(`${where()}: unterminated comment`); j = k + 2; continue; }
          if (e === '{') d++;
          if (e === '}') d--;
          j++;
        }
        continue;
      }
      j++;
    }
    fail(`${where()}: unterminated template literal`);
  };
  const skipRegex = (j) => {
    j++;
    let inClass = false;
    while (j < src.length) {
      const c = src[j];
      if (c === '\\') { j += 2; continue; }
      if (c === '\n') fail(`${where()}: unterminated regular expression`);
      if (c === '[') inClass = true;
      else if (c === ']') inClass = false;
      else if (c === '/' && !inClass) { j++; while (j < src.length && isIdPart(src[j])) j++; return j; }
      j++;
    }
    fail(`${where()}: unterminated regular expression`);
  };

  while (i < src.length) {
    const c = src[i];
    if (c === '\n') { line++; i++; continue; }
    if (/\s/.test(c)) { i++; continue; }
    const start = i;
    const startLine = line;
    const push = (type, end) => {
      tokens.push({ type, value: src.slice(start, end), start, end, line: startLine, depth });
      countLines(start, end);
      i = end;
    };
    if (c === '/' && src[i + 1] === '/') {
      let j = i;
      while (j < src.length && src[j] !== '\n') j++;
      comments.push({ start: i, end: j, newline: false });
      i = j;
      continue;
    }
    if (c === '/' && src[i + 1] === '*') {
      const j = src.indexOf('*/', i + 2);
      if (j < 0) fail(`${where()}: unterminated comment`);
      comments.push({ start: i, end: j + 2, newline: src.slice(i, j).includes('\n') });
      countLines(i, j + 2);
      i = j + 2;
      continue;
    }
    if (c === '"' || c === "'") { push('str', skipString(i)); continue; }
    if (c === '`') { push('tmpl', skipTemplate(i)); continue; }
    if (c === '/' && prevAllowsRegex()) { push('regex', skipRegex(i)); continue; }
    if (isIdStart(c) || c === '#') {
      let j = i + 1;
      while (j < src.length && isIdPart(src[j])) j++;
      push('id', j);
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1]))) {
      let j = i + 1;
      while (j < src.length && /[0-9A-Za-z_.]/.test(src[j])) j++;
      push('num', j);
      continue;
    }
    if ('{[('.includes(c)) { push('punct', i + 1); depth++; continue; }
    if ('}])'.includes(c)) {
      depth--;
      if (depth < 0) fail(`${where()}: unbalanced '${c}'`);
      push('punct', i + 1);
      tokens[tokens.length - 1].depth = depth;
      continue;
    }
    // Multi-character punctuators only matter for '...' and '=>' here; others are harmless.
    const three = src.slice(i, i + 3);
    if (three === '...') { push('punct', i + 3); continue; }
    const two = src.slice(i, i + 2);
    if (['=>', '?.', '??', '==', '!=', '<=', '>=', '&&', '||', '++', '--', '**'].includes(two)) { push('punct', i + 2); continue; }
    push('punct', i + 1);
  }
  if (depth !== 0) fail(`${file}: unbalanced brackets at end of file`);
  return { tokens, comments };
}

// ---------------------------------------------------------------- module transform

// Module names are paths relative to the project root (the folder of index.html).
const relTo = (root, abs) => path.relative(root, abs).split(path.sep).join('/');
const rel = (abs) => relTo(ROOT, abs);

/**
 * Parses one module: returns its body with import/export syntax replaced, the specifiers
 * it imports and the names it exports. The body is meant to run inside a function whose
 * parameter `__import` maps a resolved specifier to that module's exports object.
 */
function transformModule(abs, root = ROOT) {
  const rel = (a) => relTo(root, a);
  const file = rel(abs);
  const src = fs.readFileSync(abs, 'utf8');
  const { tokens, comments } = tokenize(src, file);
  const edits = []; // {start, end, text}
  const deps = []; // resolved absolute paths, in source order
  const prologue = []; // the import bindings, placed before the module body
  const exports = []; // [exportedName, localName]
  const lets = new Set(); // top-level let/var names: exporting them would lose live updates
  let reexportCount = 0;

  const at = (k) => tokens[k] || { type: 'eof', value: '', start: src.length, end: src.length, line: '<eof>', depth: 0 };
  const here = (k) => `${file}:${at(k).line}`;
  const expect = (k, value) => { if (at(k).value !== value) fail(`${here(k)}: expected '${value}', found '${at(k).value}'`); return k + 1; };
  const ident = (k) => { if (at(k).type !== 'id') fail(`${here(k)}: expected a name, found '${at(k).value}'`); return at(k).value; };
  const resolveSpec = (k) => {
    const t = at(k);
    if (t.type !== 'str') fail(`${here(k)}: expected a module specifier string`);
    const spec = t.value.slice(1, -1);
    if (!spec.startsWith('./') && !spec.startsWith('../')) fail(`${here(k)}: only relative imports can be bundled, not '${spec}'`);
    const target = path.resolve(path.dirname(abs), spec);
    if (!fs.existsSync(target)) fail(`${here(k)}: imported file ${rel(target)} does not exist (run scripts/build-web.sh first?)`);
    return target;
  };
  // Ends a statement: an optional ';'. Returns the index after it.
  const endStatement = (k) => (at(k).value === ';' ? k + 1 : k);
  // Parses `{ a, b as c }`; returns [[imported, local], ...] and the index after '}'.
  const parseBraces = (k) => {
    k = expect(k, '{');
    const names = [];
    while (at(k).value !== '}') {
      const outer = at(k).type === 'str' ? fail(`${here(k)}: string module export names are not supported`) : ident(k);
      k++;
      let inner = outer;
      if (at(k).value === 'as') { inner = ident(k + 1); k += 2; }
      names.push([outer, inner]);
      if (at(k).value === ',') k++;
      else if (at(k).value !== '}') fail(`${here(k)}: expected ',' or '}' in a name list, found '${at(k).value}'`);
    }
    return { names, next: k + 1 };
  };

  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k];
    if (t.type !== 'id') continue;
    const prev = tokens[k - 1];
    const isMember = prev && (prev.value === '.' || prev.value === '?.');
    if (t.value === 'import' && !isMember) {
      const next = at(k + 1);
      if (next.value === '.') {
        if (at(k + 2).value !== 'meta' || at(k + 3).value !== '.' || at(k + 4).value !== 'url') fail(`${here(k)}: only import.meta.url is supported`);
        edits.push({ start: t.start, end: at(k + 4).end, text: JSON.stringify(META_BASE + file) });
        k += 4;
        continue;
      }
      if (next.value === '(') {
        // A method named import (`import(a) { ... }`) is fine; a dynamic import() is not.
        let q = k + 2;
        while (at(q).type !== 'eof' && !(at(q).value === ')' && at(q).depth === next.depth)) q++;
        if (t.depth > 0 && at(q + 1).value === '{') continue;
        fail(`${here(k)}: dynamic import() cannot be bundled`);
      }
      if (t.depth !== 0) continue; // a property named import (`{ import: x }`)
      // Static import declaration.
      let j = k + 1;
      let defaultName = null;
      let namespace = null;
      let named = [];
      if (at(j).type === 'str') {
        // import './x.js';  (side effects only)
      } else {
        if (at(j).type === 'id' && at(j).value !== 'from') { defaultName = ident(j); j++; if (at(j).value === ',') j++; }
        if (at(j).value === '*') { j = expect(j + 1, 'as'); namespace = ident(j); j++; }
        if (at(j).value === '{') { const r = parseBraces(j); named = r.names; j = r.next; }
        if (!defaultName && !namespace && !named.length && at(j).value !== 'from') fail(`${here(k)}: unrecognised import form`);
        j = expect(j, 'from');
      }
      const target = resolveSpec(j);
      const end = endStatement(j + 1);
      deps.push(target);
      const m = `__import(${JSON.stringify(rel(target))})`;
      const lines = [];
      if (defaultName) lines.push(`const ${defaultName} = ${m}.default;`);
      if (namespace) lines.push(`const ${namespace} = ${m};`);
      if (named.length) lines.push(`const { ${named.map(([a, b]) => (a === b ? a : `${a}: ${b}`)).join(', ')} } = ${m};`);
      if (!lines.length) lines.push(`${m};`);
      // Imports are hoisted, as in ES modules: bound before any of the module's code runs.
      prologue.push(lines.join(' '));
      edits.push({ start: t.start, end: at(end - 1).end, text: '' });
      k = end - 1;
      continue;
    }
    if (t.value === 'export' && !isMember) {
      if (t.depth !== 0) continue; // a property or method named export: only top-level exports exist
      let j = k + 1;
      const n = at(j);
      if (n.value === 'default') {
        const d = at(j + 1);
        const named = (d.value === 'function' || d.value === 'class' || (d.value === 'async' && at(j + 2).value === 'function'));
        if (named) {
          let q = j + 1 + (d.value === 'async' ? 1 : 0) + 1;
          if (at(q).value === '*') q++;
          if (at(q).type === 'id') {
            exports.push(['default', at(q).value]);
            edits.push({ start: t.start, end: d.start, text: '' });
            continue;
          }
        }
        exports.push(['default', '__default_export']);
        edits.push({ start: t.start, end: d.start, text: 'const __default_export = ' });
        continue;
      }
      if (n.value === 'function' || n.value === 'class' || (n.value === 'async' && at(j + 1).value === 'function')) {
        let q = j + (n.value === 'async' ? 1 : 0) + 1;
        if (at(q).value === '*') q++;
        const name = ident(q);
        exports.push([name, name]);
        edits.push({ start: t.start, end: n.start, text: '' });
        continue;
      }
      if (n.value === 'const' || n.value === 'let' || n.value === 'var') {
        if (n.value !== 'const') fail(`${here(k)}: 'export ${n.value}' is not supported (live bindings); export a const or a function`);
        // Declarator names: NAME = <expr> [, NAME = <expr>]... up to ';' or the next statement.
        let q = j + 1;
        for (;;) {
          if (at(q).value === '{' || at(q).value === '[') fail(`${here(q)}: destructuring in 'export const' is not supported`);
          const name = ident(q);
          exports.push([name, name]);
          q++;
          if (at(q).value !== '=') fail(`${here(q)}: expected '=' after exported const ${name}`);
          q++;
          const depth0 = at(q).depth;
          while (at(q).type !== 'eof') {
            const u = at(q);
            if (u.depth === depth0 && (u.value === ',' || u.value === ';')) break;
            if (u.depth === depth0 && u.line !== at(q - 1).line && u.type === 'id'
              && ['export', 'import', 'function', 'class', 'const', 'let', 'var', 'async'].includes(u.value)) break;
            q++;
          }
          if (at(q).value === ',') { q++; continue; }
          break;
        }
        edits.push({ start: t.start, end: n.start, text: '' });
        continue;
      }
      if (n.value === '{') {
        const r = parseBraces(j);
        let end = r.next;
        if (at(end).value === 'from') {
          const target = resolveSpec(end + 1);
          deps.push(target);
          const alias = `__reexport_${reexportCount++}`;
          prologue.push(`const ${alias} = __import(${JSON.stringify(rel(target))});`);
          edits.push({ start: t.start, end: at(endStatement(end + 2) - 1).end, text: '' });
          // Getter reads through the source module's exports object.
          for (const [local, exported] of r.names) exports.push([exported, `${alias}.${local}`]);
          k = endStatement(end + 2) - 1;
          continue;
        }
        end = endStatement(end);
        for (const [local, exported] of r.names) exports.push([exported, local]);
        edits.push({ start: t.start, end: at(end - 1).end, text: '' });
        k = end - 1;
        continue;
      }
      fail(`${here(k)}: unsupported export form 'export ${n.value}'`);
    }
    if ((t.value === 'let' || t.value === 'var') && t.depth === 0 && at(k + 1).type === 'id') lets.add(at(k + 1).value);
  }
  for (const [exported, local] of exports) {
    if (lets.has(local)) fail(`${file}: exports '${exported}', a top-level let/var; the bundle cannot keep it live. Export a const or a function.`);
  }
  const seen = new Set();
  for (const [exported] of exports) {
    if (seen.has(exported)) fail(`${file}: '${exported}' is exported twice`);
    seen.add(exported);
  }

  // Apply edits and drop comments (a comment becomes a space, or a newline when it held
  // one, so automatic semicolon insertion is unchanged).
  const cuts = [
    ...edits,
    ...comments.map((c) => ({ start: c.start, end: c.end, text: c.newline ? '\n' : ' ' })),
  ].sort((a, b) => a.start - b.start);
  let out = '';
  let pos = 0;
  for (const c of cuts) {
    if (c.start < pos) fail(`${file}: internal error, overlapping edits at offset ${c.start}`);
    out += src.slice(pos, c.start) + c.text;
    pos = c.end;
  }
  out += src.slice(pos);
  return { file, body: `${prologue.join('\n')}\n${out}`, deps, exports };
}

/** Bundles the module graph rooted at `entry` into one script (no import/export left). */
function bundle(entryAbs, root = ROOT) {
  const rel = (a) => relTo(root, a);
  const modules = new Map(); // rel path -> transformed module, in evaluation order
  const visiting = new Set();
  const visit = (abs) => {
    const key = rel(abs);
    if (modules.has(key)) return;
    if (visiting.has(key)) fail(`circular import through ${key}: the bundle runs modules in dependency order and cannot break cycles`);
    visiting.add(key);
    const m = transformModule(abs, root);
    for (const d of m.deps) visit(d);
    visiting.delete(key);
    modules.set(key, m);
  };
  visit(entryAbs);
  const parts = ['(() => {', 'const __modules = new Map();', 'const __import = (name) => __modules.get(name);'];
  for (const m of modules.values()) {
    const getters = m.exports.map(([exported, local]) => `get ${JSON.stringify(exported)}() { return ${local}; }`).join(', ');
    parts.push(`// ---- ${m.file}`);
    parts.push(`__modules.set(${JSON.stringify(m.file)}, (() => {\n${m.body}\nreturn Object.freeze({ __proto__: null, ${getters} });\n})());`);
  }
  parts.push('})();');
  return { code: parts.join('\n'), files: [...modules.keys()] };
}

/** Fails unless `code` parses as an ES module (ext 'mjs') or a classic script ('cjs'). */
function checkSyntax(code, what, ext = 'mjs') {
  const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'osteon-single-')), `check.${ext}`);
  fs.writeFileSync(tmp, code);
  try {
    execFileSync(process.execPath, ['--check', tmp], { stdio: 'pipe' });
  } catch (e) {
    fail(`the bundled ${what} does not parse:\n${String(e.stderr)}`);
  } finally {
    fs.rmSync(path.dirname(tmp), { recursive: true, force: true });
  }
}

/** Fails when text placed inside a <script> or <style> element could end it early. */
function checkInline(text, what) {
  const bad = /<\/(script|style)|<!--|<script/i.exec(text);
  if (bad) fail(`${what} contains '${bad[0]}', which would break out of its inline element; rewrite that spot`);
}

const sha256 = (text) => `'sha256-${crypto.createHash('sha256').update(text, 'utf8').digest('base64')}'`;

// ---------------------------------------------------------------- page

function build({ html, wasm, workers, out }) {
  const htmlAbs = path.resolve(ROOT, html);
  let page = fs.readFileSync(htmlAbs, 'utf8');
  const base = path.dirname(htmlAbs);

  // Stylesheets -> one inline <style>.
  let css = '';
  page = page.replace(/<link\s+rel="stylesheet"\s+href="([^"]+)"\s*\/?>/g, (_, href) => {
    const file = path.resolve(base, href);
    const text = fs.readFileSync(file, 'utf8');
    if (/url\(|@import/.test(text)) fail(`${rel(file)} refers to other files (url() or @import); inline them first`);
    css += text;
    return '<!--osteon-style-->';
  });
  checkInline(css, 'the stylesheet');

  // The one module script -> the bundle.
  const scripts = [...page.matchAll(/<script\s+type="module"\s+src="([^"]+)"\s*><\/script>/g)];
  if (scripts.length !== 1) fail(`${html} must load exactly one module script (found ${scripts.length})`);
  const entry = path.resolve(base, scripts[0][1]);
  if (/<script(?![^>]*type="module"\s+src=)/i.test(page)) fail(`${html} has another <script>; only one module script is bundled`);

  // Workers: each bundled into a string, started from a Blob URL by OSTEON_SINGLE.startWorker.
  const workerSources = {};
  const workerFiles = [];
  for (const w of workers) {
    const b = bundle(path.resolve(ROOT, w));
    workerFiles.push(...b.files);
    // A classic script: Chromium refuses module workers from blob: URLs of a file:// page
    // (opaque origin). The bundle has no import/export left, and 'use strict' keeps module
    // semantics; a top-level await would not parse, so the check below catches it.
    const code = `'use strict';\n${WORKER_PRELUDE}\n${b.code}`;
    checkSyntax(code, `worker ${w}`, 'cjs');
    workerSources[META_BASE + rel(path.resolve(ROOT, w))] = code;
  }

  const pageBundle = bundle(entry);
  for (const w of workers) {
    const key = rel(path.resolve(ROOT, w));
    const wrel = path.posix.relative(path.posix.dirname(rel(entry)), key);
    const used = pageBundle.files.some((f) => fs.readFileSync(path.resolve(ROOT, f), 'utf8').includes(`'./${wrel}'`));
    if (!used) fail(`worker ${key} is not referenced as './${wrel}' by the page's modules; check --worker`);
  }
  const wasmBytes = fs.readFileSync(path.resolve(ROOT, wasm));
  const script = `${pagePrelude(workerSources)}\n${pageBundle.code}`;
  checkSyntax(script, 'page script');
  checkInline(script, 'the page script');

  const csp = [
    "default-src 'none'",
    `script-src ${sha256(script)} 'wasm-unsafe-eval'`,
    'worker-src blob:',
    `style-src ${sha256(css)}`,
    'img-src data: blob:',
    "connect-src 'none'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const cspMeta = /<meta http-equiv="Content-Security-Policy" content="[^"]*">/;
  if (!cspMeta.test(page)) fail(`${html} has no Content-Security-Policy meta to replace`);
  page = page.replace(cspMeta, () => `<meta http-equiv="Content-Security-Policy" content="${csp}">`);
  page = page.replace('<!--osteon-style-->', () => `<style>${css}</style>`);
  page = page.replace(/<!--osteon-style-->\s*/g, '');
  // The wasm sits in a data block (never executed, so outside the CSP), before the script.
  page = page.replace(scripts[0][0], () => `<script type="application/octet-stream" id="osteon-wasm">${wasmBytes.toString('base64')}</script>\n<script type="module">${script}</script>`);

  const outAbs = path.resolve(ROOT, out);
  fs.mkdirSync(path.dirname(outAbs), { recursive: true });
  fs.writeFileSync(outAbs, page);
  return { out: outAbs, bytes: Buffer.byteLength(page), wasmBytes: wasmBytes.length, pageFiles: pageBundle.files, workerFiles, csp };
}

// Runs first in the worker: takes the compiled wasm module from the page's first message
// (posted by startWorker below) before the worker's own message handler sees anything.
const WORKER_PRELUDE = `globalThis.OSTEON_SINGLE = { wasm: new Promise((resolve) => {
  const take = (e) => {
    if (!e.data || e.data.type !== 'osteon-single-wasm') return;
    e.stopImmediatePropagation();
    self.removeEventListener('message', take);
    resolve(e.data.module);
  };
  self.addEventListener('message', take);
}) };`;

// Runs first in the page: decodes the inlined wasm once and compiles it once; workers get
// the compiled module by postMessage.
function pagePrelude(workerSources) {
  return `globalThis.OSTEON_SINGLE = (() => {
  const text = document.getElementById('osteon-wasm').textContent;
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  const wasm = WebAssembly.compile(bytes);
  const sources = ${JSON.stringify(workerSources)};
  const blobUrls = new Map();
  return {
    wasm,
    startWorker(url) {
      const key = String(url);
      if (!(key in sources)) throw new Error('the single-file build has no worker ' + key);
      if (!blobUrls.has(key)) blobUrls.set(key, URL.createObjectURL(new Blob([sources[key]], { type: 'text/javascript' })));
      const worker = new Worker(blobUrls.get(key));
      wasm.then((module) => worker.postMessage({ type: 'osteon-single-wasm', module }));
      return worker;
    },
  };
})();`;
}

// ---------------------------------------------------------------- command line

function main(argv) {
  const opts = { html: 'index.html', wasm: 'www/pkg/osteon_bg.wasm', workers: [], out: 'dist/osteon.html' };
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k];
    const v = argv[k + 1];
    if (a === '--html') { opts.html = v; k++; } else if (a === '--wasm') { opts.wasm = v; k++; } else if (a === '--worker') { opts.workers.push(v); k++; } else if (a === '--out') { opts.out = v; k++; } else fail(`unknown argument ${a}`);
  }
  if (!fs.existsSync(path.resolve(ROOT, opts.wasm))) fail(`${opts.wasm} is missing: run scripts/build-web.sh first`);
  const r = build(opts);
  console.error(`[single] page modules: ${r.pageFiles.join(', ')}`);
  console.error(`[single] worker modules: ${r.workerFiles.join(', ')}`);
  console.error(`[single] ${rel(r.out)}: ${r.bytes} bytes (${(r.bytes / 1048576).toFixed(2)} MiB; wasm ${r.wasmBytes} bytes, inlined once as base64)`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    if (e instanceof BundleError) { console.error(`bundle-single: ${e.message}`); process.exit(1); }
    throw e;
  }
}

export { tokenize, transformModule, bundle, build };
