//! Expanding .zip archives (recognised by magic bytes) into their files.

use std::io::{Cursor, Read};

use super::FileError;

const MAX_DEPTH: usize = 2;
/// Refuse entries claiming more than this many uncompressed bytes (zip bombs).
const MAX_ENTRY_BYTES: u64 = 2 << 30;

fn is_zip(bytes: &[u8]) -> bool {
    bytes.len() >= 4 && &bytes[0..4] == b"PK\x03\x04"
}

/// Replace each zip archive by its entries, named `"archive.zip/inner/path"`; other
/// files pass through unchanged. Nested archives are expanded up to two levels.
pub fn expand_archives(files: Vec<(String, Vec<u8>)>) -> (Vec<(String, Vec<u8>)>, Vec<FileError>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (name, bytes) in files {
        expand_one(name, bytes, 0, &mut out, &mut errors);
    }
    (out, errors)
}

fn expand_one(
    name: String,
    bytes: Vec<u8>,
    depth: usize,
    out: &mut Vec<(String, Vec<u8>)>,
    errors: &mut Vec<FileError>,
) {
    if !is_zip(&bytes) || depth >= MAX_DEPTH {
        out.push((name, bytes));
        return;
    }
    let mut zip = match zip::ZipArchive::new(Cursor::new(&bytes)) {
        Ok(z) => z,
        Err(e) => {
            errors.push(FileError {
                name,
                reason: format!("damaged zip archive: {e}"),
            });
            return;
        }
    };
    for idx in 0..zip.len() {
        let mut entry = match zip.by_index(idx) {
            Ok(e) => e,
            Err(e) => {
                errors.push(FileError {
                    name: format!("{name}#{idx}"),
                    reason: format!("unreadable zip entry: {e}"),
                });
                continue;
            }
        };
        if entry.is_dir() {
            continue;
        }
        let inner = format!("{name}/{}", entry.name());
        if entry.size() > MAX_ENTRY_BYTES {
            errors.push(FileError {
                name: inner,
                reason: "zip entry larger than 2 GiB; unpack it first".into(),
            });
            continue;
        }
        let mut data = Vec::with_capacity(entry.size() as usize);
        match (&mut entry).take(MAX_ENTRY_BYTES).read_to_end(&mut data) {
            Ok(_) => {
                drop(entry);
                expand_one(inner, data, depth + 1, out, errors);
            }
            Err(e) => errors.push(FileError {
                name: inner,
                reason: format!("cannot unpack zip entry: {e}"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn zip_entries_become_named_files_and_others_pass_through() {
        let mut buf = Cursor::new(Vec::new());
        {
            let mut w = zip::ZipWriter::new(&mut buf);
            let o = zip::write::SimpleFileOptions::default();
            w.add_directory("series/", o).ok();
            w.start_file("series/a.dcm", o).ok();
            w.write_all(b"AAAA").ok();
            w.finish().ok();
        }
        let (files, errors) = expand_archives(vec![
            ("study.zip".into(), buf.into_inner()),
            ("plain.dcm".into(), b"xyz".to_vec()),
            ("bad.zip".into(), b"PK\x03\x04garbage".to_vec()),
        ]);
        assert_eq!(files.len(), 2);
        assert_eq!(
            files[0],
            ("study.zip/series/a.dcm".to_string(), b"AAAA".to_vec())
        );
        assert_eq!(files[1].0, "plain.dcm");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].name, "bad.zip");
    }
}
