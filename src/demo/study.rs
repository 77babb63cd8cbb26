//! The demo phantom presented as a loaded CT series, so the app, the QA panel and later
//! steps treat it exactly like a study read from DICOM.

use super::{DEMO_DESCRIPTION, DEMO_KVP};
use crate::dicom::{qa, GeometryReport, LoadedSeries, SeriesSummary};
use crate::volume::Volume;

/// Wraps a generated CT volume (axis-aligned, evenly spaced) as a loaded series with its
/// geometry report and protocol QA.
pub fn loaded_series(ct: Volume<i16>) -> LoadedSeries {
    let [sx, sy, sz] = ct.spacing_mm;
    let summary = SeriesSummary {
        id: 0,
        description: DEMO_DESCRIPTION.to_string(),
        modality: "CT".to_string(),
        cols: ct.dims[0],
        rows: ct.dims[1],
        slices: ct.dims[2],
        // DICOM order: row spacing (between rows, along j), then column spacing (along i).
        pixel_spacing_mm: Some([sy, sx]),
        slice_spacing_mm: Some(sz),
        kvp: Some(DEMO_KVP),
        is_localizer: false,
        file_count: 0,
        transfer_syntax: "generated in the browser".to_string(),
    };
    let geometry = GeometryReport {
        slice_spacing_mm: sz,
        min_gap_mm: sz,
        max_gap_mm: sz,
        uneven: false,
        duplicates: 0,
        missing_slices: 0,
        tilt_deg: 0.0,
        resampled: false,
        spacing_assumed: false,
    };
    let qa = qa::check(&ct, &summary, &geometry);
    LoadedSeries {
        volume: ct,
        summary,
        geometry,
        qa,
        file_errors: Vec::new(),
    }
}

/// Voxel at the centre of the bone named `name` (e.g. "right talus"): where the viewer's
/// crosshair starts so all three views show that bone. `None` if the bone is absent.
pub fn bone_centre_voxel(study: &super::DemoStudy, name: &str) -> Option<[usize; 3]> {
    let label = study.bones.iter().find(|b| b.name == name)?.label;
    let [nx, ny, _] = study.labels.dims;
    let (mut sum, mut n) = ([0u64; 3], 0u64);
    for (idx, &l) in study.labels.data.iter().enumerate() {
        if l == label {
            let (i, j, k) = (idx % nx, (idx / nx) % ny, idx / (nx * ny));
            sum[0] += i as u64;
            sum[1] += j as u64;
            sum[2] += k as u64;
            n += 1;
        }
    }
    (n > 0).then(|| sum.map(|s| (s / n) as usize))
}
