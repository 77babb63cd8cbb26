//! Protocol QA of a loaded CT series: pixel size, slice spacing, kVp, stack defects,
//! gantry tilt and whether both sides of the body are in the field of view.
//! Distances in mm, angles in degrees, values in HU; "left-right" is patient x (LPS).

use serde::Serialize;

use super::{GeometryReport, SeriesSummary};
use crate::volume::Volume;

/// All QA lines of one series.
#[derive(Clone, Debug, Serialize)]
pub struct QaReport {
    pub lines: Vec<QaLine>,
}

impl QaReport {
    /// The line for `check`, if present.
    pub fn line(&self, check: &str) -> Option<&QaLine> {
        self.lines.iter().find(|l| l.check == check)
    }
    /// Worst status over all lines.
    pub fn worst(&self) -> QaStatus {
        let mut w = QaStatus::Pass;
        for l in &self.lines {
            w = match (w, l.status) {
                (QaStatus::Fail, _) | (_, QaStatus::Fail) => QaStatus::Fail,
                (QaStatus::Warn, _) | (_, QaStatus::Warn) => QaStatus::Warn,
                _ => QaStatus::Pass,
            };
        }
        w
    }
}

/// One QA check: measured value, the limit it is held to, the verdict and a note.
#[derive(Clone, Debug, Serialize)]
pub struct QaLine {
    pub check: String,
    pub value: String,
    pub limit: String,
    pub status: QaStatus,
    pub note: String,
}

#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum QaStatus {
    Pass,
    Warn,
    Fail,
}

/// Check names (stable identifiers for the UI and tests).
pub const PIXEL: &str = "in-plane pixel size";
pub const SPACING: &str = "slice spacing";
pub const KVP: &str = "tube voltage";
pub const MISSING: &str = "missing slices";
pub const DUPLICATES: &str = "duplicate slices";
pub const UNEVEN: &str = "uneven slice spacing";
pub const TILT: &str = "gantry tilt";
pub const BOTH_SIDES: &str = "both sides in field of view";

const MAX_PIXEL_MM: f64 = 0.5;
const MAX_SPACING_MM: f64 = 1.25;
const BONE_HU: i16 = 200;
const MIN_SIDE_GAP_MM: f64 = 15.0;
const MIN_SIDE_FRACTION: f64 = 0.2;

fn line(
    check: &str,
    value: String,
    limit: &str,
    status: QaStatus,
    note: impl Into<String>,
) -> QaLine {
    QaLine {
        check: check.into(),
        value,
        limit: limit.into(),
        status,
        note: note.into(),
    }
}

/// Run every QA check.
pub fn check(volume: &Volume<i16>, summary: &SeriesSummary, geometry: &GeometryReport) -> QaReport {
    use QaStatus::*;
    let mut lines = Vec::new();
    let px = volume.spacing_mm[0].max(volume.spacing_mm[1]);
    lines.push(if px <= MAX_PIXEL_MM + 1e-9 {
        line(PIXEL, format!("{px:.3} mm"), "≤ 0.5 mm", Pass, "")
    } else {
        line(
            PIXEL,
            format!("{px:.3} mm"),
            "≤ 0.5 mm",
            Fail,
            format!("pixel size {px:.3} mm exceeds the 0.5 mm the protocol requires"),
        )
    });
    let s = geometry.slice_spacing_mm;
    lines.push(if geometry.spacing_assumed {
        line(
            SPACING,
            format!("{s:.2} mm"),
            "≤ 1.25 mm",
            Warn,
            "single slice without SliceThickness: 1 mm assumed",
        )
    } else if s <= MAX_SPACING_MM + 1e-9 {
        line(SPACING, format!("{s:.2} mm"), "≤ 1.25 mm", Pass, "")
    } else {
        line(
            SPACING,
            format!("{s:.2} mm"),
            "≤ 1.25 mm",
            Fail,
            format!("slice spacing {s:.2} mm exceeds the 1.25 mm the protocol requires"),
        )
    });
    lines.push(match summary.kvp {
        None => line(
            KVP,
            "absent".into(),
            "100–140 kVp",
            Warn,
            "the files do not record the tube voltage",
        ),
        Some(k) if (100.0..=140.0).contains(&k) => {
            line(KVP, format!("{k:.0} kVp"), "100–140 kVp", Pass, "")
        }
        Some(k) => line(
            KVP,
            format!("{k:.0} kVp"),
            "100–140 kVp",
            Fail,
            format!("tube voltage {k:.0} kVp is outside 100–140 kVp"),
        ),
    });
    let m = geometry.missing_slices;
    lines.push(if m == 0 {
        line(MISSING, "0".into(), "0", Pass, "")
    } else {
        line(MISSING, m.to_string(), "0", Warn, format!("{m} slice(s) missing or unreadable; filled by linear interpolation of the neighbours"))
    });
    let d = geometry.duplicates;
    lines.push(if d == 0 {
        line(DUPLICATES, "0".into(), "0", Pass, "")
    } else {
        line(
            DUPLICATES,
            d.to_string(),
            "0",
            Warn,
            format!("{d} slice(s) at an already used position were ignored"),
        )
    });
    let gaps = format!("{:.2}–{:.2} mm", geometry.min_gap_mm, geometry.max_gap_mm);
    lines.push(if geometry.uneven {
        line(
            UNEVEN,
            gaps,
            "≤ 1 % variation",
            Warn,
            format!("resampled to a regular {s:.2} mm grid"),
        )
    } else {
        line(UNEVEN, gaps, "≤ 1 % variation", Pass, "")
    });
    let t = geometry.tilt_deg;
    lines.push(if t <= 0.1 {
        line(TILT, format!("{t:.1}°"), "0°", Pass, "")
    } else if geometry.resampled {
        line(
            TILT,
            format!("{t:.1}°"),
            "0°",
            Warn,
            "gantry tilt corrected by resampling to a grid orthogonal to the slices",
        )
    } else {
        line(
            TILT,
            format!("{t:.1}°"),
            "0°",
            Warn,
            "gantry tilt kept (not resampled): the grid is sheared",
        )
    });
    lines.push(both_sides(volume));
    QaReport { lines }
}

/// Heuristic: project bone voxels (HU > 200) onto patient x, ignoring a thin, wide
/// table-like band; pass when two clusters, each ≥ 20 % of the bone, are separated by
/// a bone-free gap ≥ 15 mm (bins holding ≤ 0.05 % of the bone count as bone-free).
fn both_sides(volume: &Volume<i16>) -> QaLine {
    use QaStatus::*;
    let limit = "two bone clusters ≥ 20 % each, gap ≥ 15 mm";
    let [nx, ny, nz] = volume.dims;
    if nx * ny * nz == 0 || volume.data.len() < nx * ny * nz {
        return line(BOTH_SIDES, "empty volume".into(), limit, Fail, "");
    }
    // Voxels above the bone level, once: the table's projection and the histogram both
    // read them (one pass over the CT instead of two).
    let bone = crate::segment::threshold::threshold(
        volume,
        &crate::segment::threshold::ThresholdParams {
            lower_hu: BONE_HU + 1,
            upper_hu: i16::MAX,
        },
    );
    let Ok(bone) = bone else {
        return line(BOTH_SIDES, "no bone".into(), limit, Fail, "");
    };
    let table = crate::segment::table::table_footprint_of_mask(&bone, volume.spacing_mm);
    // Histogram of patient x in 1 mm bins.
    let a = &volume.patient_from_voxel;
    let corners = [0.0, nx as f64 - 1.0]
        .iter()
        .flat_map(|&i| [0.0, ny as f64 - 1.0].map(move |j| (i, j)))
        .flat_map(|(i, j)| {
            [0.0, nz as f64 - 1.0]
                .map(move |k| a[(0, 0)] * i + a[(0, 1)] * j + a[(0, 2)] * k + a[(0, 3)])
        })
        .collect::<Vec<f64>>();
    let xmin = corners.iter().copied().fold(f64::INFINITY, f64::min) - 1.0;
    let xmax = corners.iter().copied().fold(f64::NEG_INFINITY, f64::max) + 1.0;
    let nbins = ((xmax - xmin).ceil() as usize).clamp(1, 100_000);
    let (hist, total) = bone_x_histogram(volume, &bone, &table, xmin, nbins);
    if total == 0 {
        return line(
            BOTH_SIDES,
            "no bone".into(),
            limit,
            Fail,
            "no bone (HU > 200) in the volume",
        );
    }
    // Best gap: longest empty run whose two sides each hold ≥ 20 % of the bone.
    let mut best: Option<(f64, f64, f64)> = None; // (gap mm, left fraction, right fraction)
                                                  // A bin with a few stray voxels (noise, calcification) still counts as bone-free.
    let empty = total / 2000;
    let mut left = 0u64;
    let mut b = 0;
    while b < nbins {
        if hist[b] <= empty && left > 0 {
            let start = b;
            while b < nbins && hist[b] <= empty {
                left += hist[b];
                b += 1;
            }
            let gap = (b - start) as f64;
            let right = total - left;
            let (lf, rf) = (left as f64 / total as f64, right as f64 / total as f64);
            if right > 0
                && lf >= MIN_SIDE_FRACTION
                && rf >= MIN_SIDE_FRACTION
                && gap >= MIN_SIDE_GAP_MM
                && best.is_none_or(|x| gap > x.0)
            {
                best = Some((gap, lf, rf));
            }
        } else {
            left += hist[b];
            b += 1;
        }
    }
    match best {
        Some((gap, lf, rf)) => line(
            BOTH_SIDES,
            format!("gap {gap:.0} mm, {:.0} % / {:.0} %", lf * 100.0, rf * 100.0),
            limit,
            Pass,
            "bone on both sides of the midline",
        ),
        None => line(
            BOTH_SIDES,
            "one cluster".into(),
            limit,
            Fail,
            "bone forms a single left-right cluster: the healthy contralateral side may be missing from the field of view",
        ),
    }
}

/// Histogram of patient x (1 mm bins from `xmin`, the last bin open-ended) of the voxels
/// of `bone` off the table's footprint, and their count.
fn bone_x_histogram(
    volume: &Volume<i16>,
    bone: &crate::segment::BitMask,
    table: &[bool],
    xmin: f64,
    nbins: usize,
) -> (Vec<u64>, u64) {
    let [nx, ny, nz] = volume.dims;
    let a = &volume.patient_from_voxel;
    let mut hist = vec![0u64; nbins];
    let mut total = 0u64;
    let table_bits = crate::segment::BitMask::from_fn([nx, ny, 1], |c| table[c]);
    // A voxel's bin is floor(base + a₀₀·i) with `base` per row. Rows that share `base`
    // (every row of an axial stack) add their voxels to per-column counts, and each
    // column's bin is computed once per run of such rows: the same bins as per voxel.
    let mut column_count = vec![0u64; nx];
    let mut touched: Vec<usize> = Vec::new();
    let mut counted_base: Option<f64> = None;
    let mut flush = |base: f64, column_count: &mut [u64], touched: &mut Vec<usize>| {
        for &i in touched.iter() {
            // floor(x).max(0) as usize, without a libm call: for x > 0 the cast
            // truncates, which is floor; NaN and x ≤ 0 give bin 0.
            let x = base + a[(0, 0)] * i as f64;
            let b = if x > 0.0 { x as usize } else { 0 };
            hist[b.min(nbins - 1)] += column_count[i];
            column_count[i] = 0;
        }
        touched.clear();
    };
    for k in 0..nz {
        for j in 0..ny {
            let base = a[(0, 1)] * j as f64 + a[(0, 2)] * k as f64 + a[(0, 3)] - xmin;
            if counted_base.map(f64::to_bits) != Some(base.to_bits()) {
                if let Some(prev) = counted_base {
                    flush(prev, &mut column_count, &mut touched);
                }
                counted_base = Some(base);
            }
            let row = nx * (j + ny * k);
            // Bone voxels off the table, 64 at a time: most of a CT is below the bone level.
            for c in (0..nx).step_by(64) {
                let len = (nx - c).min(64);
                let mut bits = bone.bits_at(row + c, len) & !table_bits.bits_at(j * nx + c, len);
                while bits != 0 {
                    let i = c + bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    if column_count[i] == 0 {
                        touched.push(i);
                    }
                    column_count[i] += 1;
                    total += 1;
                }
            }
        }
    }
    if let Some(prev) = counted_base {
        flush(prev, &mut column_count, &mut touched);
    }
    (hist, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars(xs: &[usize]) -> Volume<i16> {
        let mut v = Volume::filled([100, 20, 4], [1.0; 3], [-50.0, 0.0, 0.0], -1000i16);
        for k in 0..4 {
            for j in 5..15 {
                for &x in xs {
                    for i in x..x + 10 {
                        let idx = v.index(i, j, k);
                        v.data[idx] = 800;
                    }
                }
            }
        }
        v
    }

    #[test]
    fn bone_histogram_equals_binning_voxel_by_voxel_on_tilted_grids() {
        let mut s = 0x51ab_1e5eu64;
        let mut r = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for case in 0..12 {
            let mut v = bars(&[10, 70]);
            for x in v.data.iter_mut() {
                if r().is_multiple_of(50) {
                    *x = 900;
                }
            }
            // Every other case: a tilted, sheared affine (x depends on i, j and k).
            if case % 2 == 1 {
                v.patient_from_voxel[(0, 1)] = 0.013 * case as f64;
                v.patient_from_voxel[(0, 2)] = -0.21;
                v.patient_from_voxel[(0, 0)] = 0.97;
            }
            let bone = crate::segment::BitMask::from_fn(v.dims, |n| v.data[n] > BONE_HU);
            let table: Vec<bool> = (0..100 * 20usize).map(|c| c.is_multiple_of(7)).collect();
            let (xmin, nbins) = (-60.5, 130);
            let (hist, total) = bone_x_histogram(&v, &bone, &table, xmin, nbins);
            let a = &v.patient_from_voxel;
            let mut want = vec![0u64; nbins];
            let mut want_total = 0;
            for n in bone.iter() {
                let [i, j, k] = bone.ijk(n);
                if table[i + 100 * j] {
                    continue;
                }
                let x = a[(0, 1)] * j as f64 + a[(0, 2)] * k as f64 + a[(0, 3)] - xmin
                    + a[(0, 0)] * i as f64;
                let b = (x.floor().max(0.0) as usize).min(nbins - 1);
                want[b] += 1;
                want_total += 1;
            }
            assert_eq!((hist, total), (want, want_total), "case {case}");
        }
    }

    #[test]
    fn two_legs_pass_and_one_midline_part_fails() {
        assert_eq!(both_sides(&bars(&[10, 70])).status, QaStatus::Pass);
        assert_eq!(both_sides(&bars(&[45])).status, QaStatus::Fail);
        assert_eq!(both_sides(&bars(&[10, 40])).status, QaStatus::Pass); // 20 mm gap
        assert_eq!(both_sides(&bars(&[10, 25])).status, QaStatus::Fail); // 5 mm gap
    }

    #[test]
    fn a_thin_table_does_not_join_the_legs() {
        let mut v = bars(&[10, 70]);
        for k in 0..4 {
            for i in 0..100 {
                let idx = v.index(i, 18, k);
                v.data[idx] = 500;
            }
        }
        assert_eq!(both_sides(&v).status, QaStatus::Pass);
    }
}
