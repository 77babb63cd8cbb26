//! Grouping frames into series and planning the slice stack geometry.
//!
//! Slices are ordered by the projection of ImagePositionPatient (patient LPS, mm) on
//! the slice normal `row × col`, never by file name or InstanceNumber.

use std::collections::BTreeMap;

use nalgebra::Vector3;

use super::parse::FileHeader;

/// One frame of one file: (file index in the scan, frame number).
pub(crate) type FrameRef = (usize, u32);

/// A group of frames that form one candidate series.
#[derive(Clone, Debug)]
pub(crate) struct Group {
    pub frames: Vec<FrameRef>,
    pub series_uid: String,
    pub orientation: [f64; 6],
    pub is_localizer: bool,
}

const AXIAL: [f64; 6] = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];

fn key_num(v: f64) -> String {
    let r = (v * 1000.0).round() / 1000.0;
    // normalise -0.000 to 0.000
    format!("{:.3}", if r == 0.0 { 0.0 } else { r })
}

/// Group every frame of every usable file, in order of first appearance.
pub(crate) fn group_frames(headers: &[Option<FileHeader>]) -> Vec<Group> {
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut groups: Vec<Group> = Vec::new();
    for (fi, h) in headers.iter().enumerate() {
        let Some(h) = h else { continue };
        for (f, g) in h.frames.iter().enumerate() {
            let orient = g.orientation.unwrap_or(AXIAL);
            let o_key: Vec<String> = orient.iter().map(|v| key_num(*v)).collect();
            let ident = if !h.series_uid.is_empty() {
                format!("uid:{}", h.series_uid)
            } else {
                let sp = g
                    .pixel_spacing
                    .map(|s| format!("{}x{}", key_num(s[0]), key_num(s[1])));
                format!("for:{}|{}", h.frame_of_ref, sp.unwrap_or_default())
            };
            let key = format!("{ident}|{}|{}x{}", o_key.join(","), h.rows, h.cols);
            let gi = *index.entry(key).or_insert_with(|| {
                groups.push(Group {
                    frames: Vec::new(),
                    series_uid: h.series_uid.clone(),
                    orientation: orient,
                    is_localizer: false,
                });
                groups.len() - 1
            });
            groups[gi].frames.push((fi, f as u32));
            if h.is_localizer {
                groups[gi].is_localizer = true;
            }
        }
    }
    // A series UID with 1–3 frames spread over more than one orientation is a scout.
    let mut per_uid: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for g in &groups {
        if g.series_uid.is_empty() {
            continue;
        }
        let e = per_uid.entry(g.series_uid.as_str()).or_insert((0, 0));
        e.0 += g.frames.len();
        e.1 += 1;
    }
    let scouts: Vec<String> = per_uid
        .iter()
        .filter(|(_, (n, o))| *n <= 3 && *o > 1)
        .map(|(u, _)| u.to_string())
        .collect();
    for g in &mut groups {
        if scouts.contains(&g.series_uid) {
            g.is_localizer = true;
        }
    }
    groups
}

/// Row, column and normal unit vectors of an orientation.
pub(crate) fn axes(orient: &[f64; 6]) -> (Vector3<f64>, Vector3<f64>, Vector3<f64>) {
    let r = Vector3::new(orient[0], orient[1], orient[2]);
    let c = Vector3::new(orient[3], orient[4], orient[5]);
    let (r, c) = match (r.try_normalize(1e-9), c.try_normalize(1e-9)) {
        (Some(r), Some(c)) if r.cross(&c).norm() > 1e-3 => (r, c),
        _ => (Vector3::x(), Vector3::y()),
    };
    let n = r.cross(&c).normalize();
    (r, c, n)
}

/// One source slice after sorting and de-duplication.
#[derive(Clone, Debug)]
pub(crate) struct SourceSlice {
    pub frame: FrameRef,
    /// Distance along the normal from the first slice, mm.
    pub d_mm: f64,
    /// In-plane offset of this slice's origin from the first slice's, mm along (row, col).
    pub offset_mm: [f64; 2],
}

/// Sorted stack geometry of a series.
#[derive(Clone, Debug)]
pub(crate) struct StackPlan {
    pub slices: Vec<SourceSlice>,
    pub origin_mm: [f64; 3],
    pub duplicates: usize,
    pub missing: usize,
    pub median_gap_mm: Option<f64>,
    pub min_gap_mm: f64,
    pub max_gap_mm: f64,
    pub uneven: bool,
    pub tilt_deg: f64,
}

/// Sort positions along the normal, drop duplicates, measure gaps and tilt.
/// `positions[i]` belongs to `frames[i]`.
pub(crate) fn plan_stack(
    frames: &[FrameRef],
    positions: &[[f64; 3]],
    orient: &[f64; 6],
) -> StackPlan {
    let (r, c, n) = axes(orient);
    let mut items: Vec<(f64, FrameRef, Vector3<f64>)> = frames
        .iter()
        .zip(positions)
        .map(|(f, p)| {
            let v = Vector3::new(p[0], p[1], p[2]);
            (v.dot(&n), *f, v)
        })
        .collect();
    items.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut kept: Vec<(f64, FrameRef, Vector3<f64>)> = Vec::with_capacity(items.len());
    let mut duplicates = 0;
    for it in items {
        match kept.last() {
            Some(last) if (it.0 - last.0).abs() < 0.01 => duplicates += 1,
            _ => kept.push(it),
        }
    }
    let Some(first) = kept.first().cloned() else {
        return StackPlan {
            slices: Vec::new(),
            origin_mm: [0.0; 3],
            duplicates,
            missing: 0,
            median_gap_mm: None,
            min_gap_mm: 0.0,
            max_gap_mm: 0.0,
            uneven: false,
            tilt_deg: 0.0,
        };
    };
    let gaps: Vec<f64> = kept.windows(2).map(|w| w[1].0 - w[0].0).collect();
    let median = median_of(&gaps);
    let (mut min_gap, mut max_gap) = (0.0, 0.0);
    let (mut missing, mut uneven) = (0, false);
    if let Some(m) = median {
        min_gap = gaps.iter().copied().fold(f64::INFINITY, f64::min);
        max_gap = gaps.iter().copied().fold(0.0, f64::max);
        for g in &gaps {
            if *g > 1.5 * m {
                missing += ((g / m).round() as usize).saturating_sub(1);
            }
        }
        uneven = max_gap - min_gap > 0.01 * m;
    }
    let mut tilt_deg = 0.0;
    if let Some(last) = kept.last() {
        let dir = last.2 - first.2;
        if dir.norm() > 1e-6 {
            let cos = (dir.dot(&n).abs() / dir.norm()).clamp(0.0, 1.0);
            tilt_deg = cos.acos().to_degrees();
        }
    }
    let slices = kept
        .iter()
        .map(|(d, f, p)| {
            let delta = p - first.2;
            SourceSlice {
                frame: *f,
                d_mm: d - first.0,
                offset_mm: [delta.dot(&r), delta.dot(&c)],
            }
        })
        .collect();
    StackPlan {
        slices,
        origin_mm: [first.2[0], first.2[1], first.2[2]],
        duplicates,
        missing,
        median_gap_mm: median,
        min_gap_mm: min_gap,
        max_gap_mm: max_gap,
        uneven,
        tilt_deg,
    }
}

pub(crate) fn median_of(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    Some(if n % 2 == 1 {
        s[n / 2]
    } else {
        0.5 * (s[n / 2 - 1] + s[n / 2])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descending_positions_are_sorted_along_the_normal_and_duplicates_counted() {
        let frames: Vec<FrameRef> = (0..4).map(|i| (i, 0)).collect();
        let pos = [
            [0.0, 0.0, 3.0],
            [0.0, 0.0, 1.0],
            [0.0, 0.0, 2.0],
            [0.0, 0.0, 2.0],
        ];
        let p = plan_stack(&frames, &pos, &AXIAL);
        assert_eq!(p.slices.len(), 3);
        assert_eq!(p.duplicates, 1);
        assert_eq!(p.slices[0].frame, (1, 0));
        assert_eq!(p.median_gap_mm, Some(1.0));
        assert!(!p.uneven);
        assert_eq!(p.origin_mm, [0.0, 0.0, 1.0]);
    }

    #[test]
    fn a_double_gap_counts_one_missing_slice() {
        let frames: Vec<FrameRef> = (0..4).map(|i| (i, 0)).collect();
        let pos = [
            [0.0, 0.0, 0.0],
            [0.0, 0.0, 1.0],
            [0.0, 0.0, 3.0],
            [0.0, 0.0, 4.0],
        ];
        let p = plan_stack(&frames, &pos, &AXIAL);
        assert_eq!(p.missing, 1);
        assert!(p.uneven);
    }
}
