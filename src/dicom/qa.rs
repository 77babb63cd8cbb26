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
    let table = crate::segment::table::table_footprint(volume, BONE_HU);
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
    let mut hist = vec![0u64; nbins];
    let mut total = 0u64;
    for k in 0..nz {
        for j in 0..ny {
            let base = a[(0, 1)] * j as f64 + a[(0, 2)] * k as f64 + a[(0, 3)] - xmin;
            let row = &volume.data[nx * (j + ny * k)..nx * (j + ny * k) + nx];
            let table_row = &table[j * nx..(j + 1) * nx];
            for (i, v) in row.iter().enumerate() {
                if *v > BONE_HU && !table_row[i] {
                    let b = (base + a[(0, 0)] * i as f64).floor();
                    let b = (b.max(0.0) as usize).min(nbins - 1);
                    hist[b] += 1;
                    total += 1;
                }
            }
        }
    }
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
