// Collects dropped or selected files (folders recursively) as {name, buffer} records.

function readEntry(entry, path) {
  return new Promise((resolve) => {
    if (entry.isFile) {
      entry.file((file) => resolve([{ file, name: path + file.name }]), () => resolve([]));
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      const all = [];
      const next = () => reader.readEntries(async (entries) => {
        if (!entries.length) {
          const nested = await Promise.all(all.map((e) => readEntry(e, path + entry.name + '/')));
          resolve(nested.flat());
          return;
        }
        all.push(...entries);
        next();
      }, () => resolve([]));
      next();
    } else {
      resolve([]);
    }
  });
}

/** Files of a drop event, walking into folders. */
export async function filesFromDrop(dataTransfer) {
  const entries = [...dataTransfer.items]
    .map((item) => (item.webkitGetAsEntry ? item.webkitGetAsEntry() : null))
    .filter(Boolean);
  if (entries.length) {
    const nested = await Promise.all(entries.map((e) => readEntry(e, '')));
    return nested.flat();
  }
  return [...dataTransfer.files].map((file) => ({ file, name: file.name }));
}

/** Files of an <input type=file>, keeping folder-relative names. */
export function filesFromInput(input) {
  return [...input.files].map((file) => ({ file, name: file.webkitRelativePath || file.name }));
}

/** Reads every file into memory; `onProgress(done, total)` after each. */
export async function readAll(records, onProgress) {
  const out = [];
  for (const [i, r] of records.entries()) {
    out.push({ name: r.name, buffer: await r.file.arrayBuffer() });
    onProgress(i + 1, records.length);
  }
  return out;
}
