//! Reading files and folders from disk into named byte buffers.

use osteon::demo::{self, DemoParams};
use osteon::dicom::{self, FileBytes, ReadOptions};
use osteon::progress::NoProgress;
use osteon::volume::Volume;
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

/// Loads `demo` or the first CT series found under the given paths.
pub fn load_study(paths: &[&str]) -> Result<Volume<i16>, String> {
    if paths == ["demo"] {
        return Ok(demo::generate(&DemoParams::default()).ct);
    }
    let (files, _) = dicom::expand_archives(read_inputs(paths)?);
    let bytes: Vec<FileBytes> = files
        .iter()
        .map(|(n, b)| FileBytes { name: n, bytes: b })
        .collect();
    let scan = dicom::scan(&bytes);
    let series = scan
        .volume_series()
        .next()
        .ok_or("no CT series found in those files")?
        .id;
    let loaded = dicom::read_series(
        &bytes,
        &scan,
        series,
        &ReadOptions::default(),
        &mut NoProgress,
    )
    .map_err(|e| e.to_string())?;
    Ok(loaded.volume)
}

/// Writes every (file name, bytes) into `dir`, creating it. Each file is written to a
/// temporary name and renamed, so a failure never leaves a half-written file under its
/// real name; the error says which files were already written.
pub fn write_files(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut done: Vec<&str> = Vec::new();
    for (name, bytes) in files {
        let tmp = dir.join(format!(".{name}.partial"));
        let result =
            std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, dir.join(name)));
        if let Err(e) = result {
            let _ = std::fs::remove_file(&tmp);
            return Err(format!(
                "cannot write {name}: {e} (already written: {})",
                if done.is_empty() {
                    "none".to_string()
                } else {
                    done.join(", ")
                }
            ));
        }
        done.push(name);
    }
    Ok(())
}
