//! Expanding .zip archives (recognised by magic bytes) into their files.

use std::io::{Cursor, Read};

use super::FileError;

const MAX_DEPTH: usize = 2;
/// Largest unpacked zip entry accepted, in bytes (zip bombs). One CT slice is well under
/// 1 MiB and one multi-frame file rarely over 1 GiB; raise it here for larger files.
pub const MAX_ENTRY_BYTES: u64 = 1 << 30;
/// Largest total of unpacked bytes over all archives of one drop (zip bombs made of many
/// entries). A browser tab cannot hold more than 4 GiB; raise it here for a native tool.
pub const MAX_EXPANDED_BYTES: u64 = 3 << 30;
/// Memory reserved up front for an entry, whatever size its header claims: the claim is
/// input data and may be a lie; the vector grows as the bytes really arrive.
const MAX_RESERVE_BYTES: u64 = 64 << 20;

fn is_zip(bytes: &[u8]) -> bool {
    bytes.len() >= 4 && &bytes[0..4] == b"PK\x03\x04"
}

/// Replace each zip archive by its entries, named `"archive.zip/inner/path"`; other
/// files pass through unchanged. Nested archives are expanded up to two levels.
pub fn expand_archives(files: Vec<(String, Vec<u8>)>) -> (Vec<(String, Vec<u8>)>, Vec<FileError>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut expanded = 0u64;
    for (name, bytes) in files {
        expand_one(name, bytes, 0, &mut out, &mut errors, &mut expanded);
    }
    (out, errors)
}

fn expand_one(
    name: String,
    bytes: Vec<u8>,
    depth: usize,
    out: &mut Vec<(String, Vec<u8>)>,
    errors: &mut Vec<FileError>,
    expanded: &mut u64,
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
        let too_big = |size: u64| FileError {
            name: inner.clone(),
            reason: format!(
                "zip entry unpacks to {size} bytes, more than the limit of {MAX_ENTRY_BYTES} \
                 (dicom::MAX_ZIP_ENTRY_BYTES); unpack the archive first and drop the folder"
            ),
        };
        if entry.size() > MAX_ENTRY_BYTES {
            errors.push(too_big(entry.size()));
            continue;
        }
        let budget = MAX_EXPANDED_BYTES.saturating_sub(*expanded);
        if entry.size() > budget {
            errors.push(FileError {
                name: inner,
                reason: format!(
                    "the archives of this drop unpack to more than {MAX_EXPANDED_BYTES} bytes \
                     (dicom::MAX_ZIP_TOTAL_BYTES); unpack them first and drop fewer files"
                ),
            });
            continue;
        }
        let mut data = Vec::new();
        if data
            .try_reserve_exact(entry.size().min(MAX_RESERVE_BYTES) as usize)
            .is_err()
        {
            errors.push(FileError {
                name: inner,
                reason: "not enough memory to unpack this zip entry".into(),
            });
            continue;
        }
        // One byte past the limit tells an entry whose header understated its size.
        let cap = MAX_ENTRY_BYTES.min(budget);
        match (&mut entry).take(cap + 1).read_to_end(&mut data) {
            Ok(n) if n as u64 > cap => {
                errors.push(too_big(n as u64));
                *expanded = expanded.saturating_add(n as u64);
            }
            Ok(n) => {
                drop(entry);
                *expanded = expanded.saturating_add(n as u64);
                expand_one(inner, data, depth + 1, out, errors, expanded);
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

    /// A zip with one stored entry whose central directory claims `claimed` bytes.
    fn zip_claiming(claimed: u32) -> Vec<u8> {
        let mut buf = Cursor::new(Vec::new());
        {
            let mut w = zip::ZipWriter::new(&mut buf);
            let o = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored);
            w.start_file("a.dcm", o).unwrap();
            w.write_all(b"0123456789").unwrap();
            w.finish().unwrap();
        }
        let mut z = buf.into_inner();
        let cd = z.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        z[cd + 24..cd + 28].copy_from_slice(&claimed.to_le_bytes());
        z
    }

    #[test]
    fn zip_entry_claiming_gigabytes_is_refused_without_reserving_them() {
        let (files, errors) = expand_archives(vec![("x.zip".into(), zip_claiming(u32::MAX))]);
        assert!(files.is_empty(), "{files:?}");
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].reason.contains("dicom::MAX_ZIP_ENTRY_BYTES"),
            "{}",
            errors[0].reason
        );
        // A claim under the limit but far above the data: the bytes that exist are
        // read (or the entry reported damaged), and nothing near the claim is reserved.
        let (files, errors) = expand_archives(vec![("y.zip".into(), zip_claiming(900 << 20))]);
        assert_eq!(files.len() + errors.len(), 1);
        assert!(files.iter().all(|(_, b)| b.capacity() <= 64 << 20));
    }

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
