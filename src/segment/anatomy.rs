//! Anatomical names for the parts of "Auto bones", from their geometry alone.
//!
//! # Input and coordinate space
//! One [`PartShape`] per part: side, volume (mm³), centroid, bounding box and the
//! covariance of its voxel centres, all in DICOM patient space (LPS, millimetres: +x the
//! patient's left, +y posterior, +z superior). Directions below are anatomical:
//! *superior* = +z, *posterior* = +y, *anterior* = −y, *lateral* = away from the sagittal
//! midline (+x on the left side, −x on the right), *medial* = towards it.
//!
//! # Rules (ankle / foot), per side
//! A part is *long and vertical* when its principal axis (largest covariance eigenvector)
//! is within ≈ 37° of S-I (`|e₁·z| ≥ 0.8`) and its length-to-width ratio
//! `√(λ₁/λ₂) ≥ 1.6`.
//! 1. **tibia**: the largest long vertical part, if its top is within 10 mm of the highest
//!    top on that side (most superior) and it is at least 2× the volume of any other long
//!    vertical part there.
//! 2. **fibula**: the largest other long vertical part whose centroid is ≥ 8 mm lateral of
//!    the tibia's, whose top reaches within 25 mm of the tibia's top, and whose mean
//!    cross-section (volume / S-I length) is at most half the tibia's (thin).
//! 3. **talus** (only with a tibia): of the remaining parts, the one with the highest
//!    top. Confident when that top is within 15 mm of the tibia's lowest point, beats
//!    every other remaining part's top by ≥ 5 mm, and its centroid lies below the tibia's
//!    centroid and within 40 mm of it horizontally.
//! 4. **calcaneus** (only with a talus): the largest remaining part, if its centroid is
//!    ≥ 5 mm below and ≥ 5 mm posterior of the talus's and it is ≥ 1.5× the volume of
//!    every other remaining part.
//! 5. **cuboid** (only with a calcaneus): of the remaining parts whose centroid is
//!    ≥ 15 mm anterior of the calcaneus's and ≥ 5 mm lateral of the talus's, the one
//!    nearest the calcaneus's centroid, within 70 mm.
//! 6. **navicular** (only with a talus): of the remaining parts whose centroid is
//!    ≥ 15 mm anterior of the talus's, not lateral of the talus's by more than 5 mm and
//!    ≥ 8 mm medial of the cuboid's (when there is one), the one nearest the talus's
//!    centroid, within 60 mm.
//!
//! A side gets anatomical names only when both its tibia and its talus pass: the pair
//! is the confidence test that the study is an ankle. Every rule only names; a part that
//! passes no rule keeps its size-rank name ("left bone N", ranked among the unnamed parts
//! of that side).
//!
//! # Rules (head)
//! When no side has ankle names, the largest part is the **skull** when its bounding box
//! straddles the midline (≥ 25 % of its width on each side) and measures 100–220 mm
//! left-right and 120–260 mm antero-posterior (a cranium; a rib cage or a pelvis is
//! wider). All other parts keep their rank names.
//!
//! Hand-written rules rather than a learned model: they run in microseconds, need no
//! weights, are deterministic, and each can be read and checked against an atlas.

use crate::side::Side;

/// Geometry of one part, in patient LPS millimetres.
#[derive(Clone, Debug, PartialEq)]
pub struct PartShape {
    pub side: Side,
    pub volume_mm3: f64,
    pub centroid_mm: [f64; 3],
    /// Axis-aligned box (min, max) around the part's voxel centres.
    pub bbox_mm: [[f64; 3]; 2],
    /// Covariance of the voxel centres (mm²).
    pub cov_mm2: [[f64; 3]; 3],
}

/// Bone names the rules can give (without the side).
pub const TIBIA: &str = "tibia";
pub const FIBULA: &str = "fibula";
pub const TALUS: &str = "talus";
pub const CALCANEUS: &str = "calcaneus";
pub const NAVICULAR: &str = "navicular";
pub const CUBOID: &str = "cuboid";
pub const SKULL: &str = "skull";

/// Principal-axis summary of a part.
#[derive(Clone, Copy, Debug)]
struct Axis {
    /// |z component| of the principal axis.
    vertical: f64,
    /// √(λ₁/λ₂).
    elongation: f64,
}

fn axis(cov: &[[f64; 3]; 3]) -> Axis {
    let m = nalgebra::Matrix3::from_fn(|r, c| cov[r][c]);
    let e = nalgebra::SymmetricEigen::new(m);
    let mut order = [0usize, 1, 2];
    order.sort_by(|&a, &b| e.eigenvalues[b].total_cmp(&e.eigenvalues[a]));
    let (l1, l2) = (e.eigenvalues[order[0]], e.eigenvalues[order[1]]);
    let v = e.eigenvectors.column(order[0]);
    let elongation = if l2 > 0.0 {
        (l1 / l2).sqrt()
    } else {
        f64::INFINITY
    };
    Axis {
        vertical: v[2].abs(),
        elongation,
    }
}

/// Anatomical bone name of each part (`None` = no confident name), same order as `parts`.
/// `midline_x_mm` is the patient x of the sagittal midline.
pub fn name_parts(parts: &[PartShape], midline_x_mm: f64) -> Vec<Option<&'static str>> {
    let mut names: Vec<Option<&'static str>> = vec![None; parts.len()];
    let mut ankle = false;
    for side in [Side::Right, Side::Left] {
        ankle |= name_ankle_side(parts, side, midline_x_mm, &mut names);
    }
    if !ankle {
        if let Some(p) = largest(parts, |_| true) {
            if is_skull(&parts[p], midline_x_mm) {
                names[p] = Some(SKULL);
            }
        }
    }
    names
}

/// Index of the largest part satisfying `keep` (ties: first).
fn largest(parts: &[PartShape], keep: impl Fn(usize) -> bool) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (n, p) in parts.iter().enumerate() {
        if keep(n) && best.is_none_or(|b| p.volume_mm3 > parts[b].volume_mm3) {
            best = Some(n);
        }
    }
    best
}

fn is_skull(p: &PartShape, mid_x: f64) -> bool {
    let [lo, hi] = p.bbox_mm;
    let width = hi[0] - lo[0];
    let depth = hi[1] - lo[1];
    let straddles =
        width > 0.0 && (mid_x - lo[0]) >= 0.25 * width && (hi[0] - mid_x) >= 0.25 * width;
    straddles && (100.0..=220.0).contains(&width) && (120.0..=260.0).contains(&depth)
}

/// Names one side's ankle bones into `names`; true when tibia and talus were found.
fn name_ankle_side(
    parts: &[PartShape],
    side: Side,
    mid_x: f64,
    names: &mut [Option<&'static str>],
) -> bool {
    let on_side: Vec<usize> = (0..parts.len())
        .filter(|&n| parts[n].side == side)
        .collect();
    if on_side.is_empty() {
        return false;
    }
    // Lateral coordinate: distance from the midline, away from it positive.
    let lat = |n: usize| {
        let dx = parts[n].centroid_mm[0] - mid_x;
        match side {
            Side::Left => dx,
            Side::Right => -dx,
        }
    };
    let top = |n: usize| parts[n].bbox_mm[1][2];
    let bottom = |n: usize| parts[n].bbox_mm[0][2];
    let c = |n: usize| parts[n].centroid_mm;
    let axes: Vec<Axis> = parts.iter().map(|p| axis(&p.cov_mm2)).collect();
    let long = |n: usize| axes[n].vertical >= 0.8 && axes[n].elongation >= 1.6;
    let highest_top = on_side.iter().map(|&n| top(n)).fold(f64::MIN, f64::max);

    // 1. Tibia.
    let longs: Vec<usize> = on_side.iter().copied().filter(|&n| long(n)).collect();
    let Some(tibia) = largest(parts, |n| longs.contains(&n)) else {
        return false;
    };
    let tv = parts[tibia].volume_mm3;
    let tibia_ok = top(tibia) >= highest_top - 10.0
        && longs
            .iter()
            .all(|&n| n == tibia || parts[n].volume_mm3 * 2.0 <= tv);
    if !tibia_ok {
        return false;
    }
    let section = |n: usize| parts[n].volume_mm3 / (top(n) - bottom(n)).max(1.0);
    // 2. Fibula.
    let fibula = largest(parts, |n| {
        n != tibia
            && longs.contains(&n)
            && lat(n) - lat(tibia) >= 8.0
            && top(n) >= top(tibia) - 25.0
            && section(n) <= 0.5 * section(tibia)
    });
    // 3. Talus.
    let rest: Vec<usize> = on_side
        .iter()
        .copied()
        .filter(|&n| n != tibia && Some(n) != fibula)
        .collect();
    let mut by_top = rest.clone();
    by_top.sort_by(|&a, &b| top(b).total_cmp(&top(a)).then(a.cmp(&b)));
    let Some(&talus) = by_top.first() else {
        return false;
    };
    let runner_up = by_top.get(1).map_or(f64::MIN, |&n| top(n));
    let horizontal = |a: [f64; 3], b: [f64; 3]| (a[0] - b[0]).hypot(a[1] - b[1]);
    let dist = |a: [f64; 3], b: [f64; 3]| {
        ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
    };
    let talus_ok = top(talus) >= bottom(tibia) - 15.0
        && top(talus) >= runner_up + 5.0
        && c(talus)[2] < c(tibia)[2]
        && horizontal(c(talus), c(tibia)) <= 40.0;
    if !talus_ok {
        return false;
    }
    names[tibia] = Some(TIBIA);
    if let Some(f) = fibula {
        names[f] = Some(FIBULA);
    }
    names[talus] = Some(TALUS);
    let ct = c(talus);
    // 4. Calcaneus.
    let rest: Vec<usize> = rest.into_iter().filter(|&n| n != talus).collect();
    let calcaneus = largest(parts, |n| rest.contains(&n)).filter(|&k| {
        let v = parts[k].volume_mm3;
        c(k)[2] <= ct[2] - 5.0
            && c(k)[1] >= ct[1] + 5.0
            && rest
                .iter()
                .all(|&n| n == k || parts[n].volume_mm3 * 1.5 <= v)
    });
    let Some(calcaneus) = calcaneus else {
        return true;
    };
    names[calcaneus] = Some(CALCANEUS);
    let cc = c(calcaneus);
    let rest: Vec<usize> = rest.into_iter().filter(|&n| n != calcaneus).collect();
    // Nearest candidate to `to`, within `max_mm` (ties: first).
    let nearest = |cands: &[usize], to: [f64; 3], max_mm: f64| {
        let mut best: Option<(usize, f64)> = None;
        for &n in cands {
            let d = dist(c(n), to);
            if d <= max_mm && best.is_none_or(|(_, bd)| d < bd) {
                best = Some((n, d));
            }
        }
        best.map(|b| b.0)
    };
    // 5. Cuboid.
    let cands: Vec<usize> = rest
        .iter()
        .copied()
        .filter(|&n| c(n)[1] <= cc[1] - 15.0 && lat(n) >= lat(talus) + 5.0)
        .collect();
    let cuboid = nearest(&cands, cc, 70.0);
    if let Some(q) = cuboid {
        names[q] = Some(CUBOID);
    }
    // 6. Navicular.
    let cands: Vec<usize> = rest
        .iter()
        .copied()
        .filter(|&n| {
            Some(n) != cuboid
                && c(n)[1] <= ct[1] - 15.0
                && lat(n) <= lat(talus) + 5.0
                && cuboid.is_none_or(|q| lat(n) <= lat(q) - 8.0)
        })
        .collect();
    if let Some(v) = nearest(&cands, ct, 60.0) {
        names[v] = Some(NAVICULAR);
    }
    true
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// A box-shaped part of half-sizes `h` centred at `c` (uniform covariance h²/3).
    fn part(side: Side, c: [f64; 3], h: [f64; 3]) -> PartShape {
        let mut cov = [[0.0; 3]; 3];
        for a in 0..3 {
            cov[a][a] = h[a] * h[a] / 3.0;
        }
        PartShape {
            side,
            volume_mm3: 8.0 * h[0] * h[1] * h[2],
            centroid_mm: c,
            bbox_mm: [
                [c[0] - h[0], c[1] - h[1], c[2] - h[2]],
                [c[0] + h[0], c[1] + h[1], c[2] + h[2]],
            ],
            cov_mm2: cov,
        }
    }

    /// A right ankle at x ≈ −50 (lateral = −x, anterior = −y).
    fn right_ankle() -> Vec<PartShape> {
        let r = Side::Right;
        vec![
            part(r, [-48.0, 2.0, 100.0], [13.0, 12.0, 30.0]), // tibia
            part(r, [-72.0, 9.0, 95.0], [6.0, 6.0, 30.0]),    // fibula
            part(r, [-49.0, -6.0, 60.0], [14.0, 18.0, 12.0]), // talus
            part(r, [-54.0, 10.0, 33.0], [14.0, 30.0, 12.0]), // calcaneus
            part(r, [-40.0, -40.0, 50.0], [14.0, 7.0, 10.0]), // navicular
            part(r, [-63.0, -44.0, 30.0], [10.0, 10.0, 10.0]), // cuboid
        ]
    }

    #[test]
    fn right_ankle_bones_get_their_names() {
        let names = name_parts(&right_ankle(), 0.0);
        assert_eq!(
            names,
            vec![
                Some(TIBIA),
                Some(FIBULA),
                Some(TALUS),
                Some(CALCANEUS),
                Some(NAVICULAR),
                Some(CUBOID)
            ]
        );
    }

    #[test]
    fn mirrored_left_ankle_gets_the_same_names() {
        let left: Vec<PartShape> = right_ankle()
            .into_iter()
            .map(|mut p| {
                p.side = Side::Left;
                p.centroid_mm[0] = -p.centroid_mm[0];
                let [lo, hi] = p.bbox_mm;
                p.bbox_mm = [[-hi[0], lo[1], lo[2]], [-lo[0], hi[1], hi[2]]];
                p
            })
            .collect();
        let names = name_parts(&left, 0.0);
        assert_eq!(names[0], Some(TIBIA));
        assert_eq!(names[4], Some(NAVICULAR));
        assert_eq!(names[5], Some(CUBOID));
    }

    #[test]
    fn without_a_talus_nothing_is_named() {
        // Tibia and fibula only: not confidently an ankle.
        let parts: Vec<PartShape> = right_ankle().into_iter().take(2).collect();
        assert_eq!(name_parts(&parts, 0.0), vec![None, None]);
    }

    #[test]
    fn two_equal_long_bones_are_not_a_tibia() {
        let mut parts = right_ankle();
        parts[1] = part(Side::Right, [-80.0, 2.0, 100.0], [13.0, 12.0, 30.0]);
        assert!(name_parts(&parts, 0.0).iter().all(|n| n.is_none()));
    }

    #[test]
    fn a_cranium_straddling_the_midline_is_the_skull() {
        let skull = part(Side::Left, [2.0, 0.0, 50.0], [70.0, 90.0, 60.0]);
        let small = part(Side::Right, [-30.0, 0.0, 0.0], [5.0, 5.0, 5.0]);
        assert_eq!(
            name_parts(&[skull.clone(), small], 0.0),
            vec![Some(SKULL), None]
        );
        // A rib cage is too wide.
        let ribs = part(Side::Left, [2.0, 0.0, 50.0], [150.0, 100.0, 60.0]);
        assert_eq!(name_parts(&[ribs], 0.0), vec![None]);
        // Off to one side: not a skull.
        let off = part(Side::Left, [60.0, 0.0, 50.0], [70.0, 90.0, 60.0]);
        assert_eq!(name_parts(&[off], 0.0), vec![None]);
    }
}
