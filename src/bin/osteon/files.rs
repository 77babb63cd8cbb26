//! Reading files and folders from disk into named byte buffers.

use std::path::{Path, PathBuf};

/// Every regular file under the given paths (folders recursively, sorted by path so the
/// order never depends on the file system), as (display name, bytes).
pub fn read_inputs(paths: &[&str]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut found = Vec::new();
    for p in paths {
        collect(Path::new(p), &mut found).map_err(|e| format!("cannot read {p}: {e}"))?;
    }
    found.sort();
    found
        .into_iter()
        .map(|path| {
            let bytes =
                std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            Ok((path.display().to_string(), bytes))
        })
        .collect()
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        for entry in std::fs::read_dir(path)? {
            collect(&entry?.path(), out)?;
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}
