//! Shared driver code for the fuzz targets: each target calls the readers the way the
//! CLI (`src/bin/osteon/info.rs`) and the web session do, so a crash here is a crash a
//! user could reach by dropping a file.

use osteon::dicom::{self, FileBytes, ReadOptions};
use osteon::progress::NoProgress;

/// Separator between files in the `dicom_series` input (a fuzz input is one byte string).
pub const FILE_SEPARATOR: &[u8] = b"\n--osteon-fuzz-file--\n";

/// Voxel budget while fuzzing: small enough that a crafted header cannot push the
/// process over libFuzzer's memory limit, large enough for the seed series.
const FUZZ_MAX_VOXELS: usize = 64 << 20;

/// Splits `data` on [`FILE_SEPARATOR`].
pub fn split_files(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(at) = find(rest, FILE_SEPARATOR) {
        out.push(rest[..at].to_vec());
        rest = &rest[at + FILE_SEPARATOR.len()..];
    }
    out.push(rest.to_vec());
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Archives → scan → read every non-localizer series, as `osteon info` does.
pub fn read_all_series(files: Vec<Vec<u8>>) {
    let named: Vec<(String, Vec<u8>)> = files
        .into_iter()
        .enumerate()
        .map(|(i, b)| (format!("f{i}.dcm"), b))
        .collect();
    let (files, _errors) = dicom::expand_archives(named);
    let bytes: Vec<FileBytes> = files
        .iter()
        .map(|(n, b)| FileBytes { name: n, bytes: b })
        .collect();
    let scan = dicom::scan(&bytes);
    let opts = ReadOptions {
        max_voxels: FUZZ_MAX_VOXELS,
        // Exercise the path for files without PixelSpacing too.
        assume_pixel_spacing_mm: Some([0.7, 0.7]),
        ..ReadOptions::default()
    };
    for s in &scan.series {
        if s.is_localizer {
            continue;
        }
        if let Ok(loaded) = dicom::read_series(&bytes, &scan, s.id, &opts, &mut NoProgress) {
            // The loaded volume must be consistent with its own dimensions.
            let [nx, ny, nz] = loaded.volume.dims;
            assert_eq!(loaded.volume.data.len(), nx * ny * nz);
        }
    }
}
