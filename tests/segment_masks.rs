//! Mask operations on tiny ASCII voxel grids: `#` = set, `.` = unset; rows are `j`,
//! characters are `i`, slices (`k`) are separated by blank lines.

use osteon::segment::components::{keep_largest, label_components, remove_smaller_than};
use osteon::segment::edit::{self, BrushMode, Slice};
use osteon::segment::fill::fill_cavities;
use osteon::segment::grow::{grow, grow_within, GrowParams};
use osteon::segment::morphology::{close, dilate, erode, open};
use osteon::segment::split::{split_by_plane, split_by_plane_mm, split_by_seeds, SplitParams};
use osteon::segment::threshold::{threshold, ThresholdParams};
use osteon::segment::{distance, BitMask, Connectivity, SegmentError};
use osteon::volume::Volume;

fn grid(text: &str) -> BitMask {
    let slices: Vec<Vec<&str>> = text
        .trim()
        .split("\n\n")
        .map(|s| {
            s.lines()
                .map(|l| l.trim())
                .filter(|l| !l.is_empty())
                .collect()
        })
        .collect();
    let dims = [slices[0][0].len(), slices[0].len(), slices.len()];
    let mut m = BitMask::new(dims);
    for (k, s) in slices.iter().enumerate() {
        for (j, row) in s.iter().enumerate() {
            for (i, c) in row.chars().enumerate() {
                if c == '#' {
                    let n = m.index(i, j, k);
                    m.set(n, true);
                }
            }
        }
    }
    m
}

fn show(m: &BitMask) -> String {
    let [nx, ny, nz] = m.dims();
    let mut s = String::new();
    for k in 0..nz {
        if k > 0 {
            s.push('\n');
        }
        for j in 0..ny {
            for i in 0..nx {
                s.push(if m.get(m.index(i, j, k)) { '#' } else { '.' });
            }
            s.push('\n');
        }
    }
    s
}

/// A CT with 1000 HU where `m` is set and -1000 HU elsewhere.
fn ct_of(m: &BitMask) -> Volume<i16> {
    let mut v = Volume::filled(m.dims(), [1.0; 3], [0.0; 3], -1000i16);
    for n in m.iter() {
        v.data[n] = 1000;
    }
    v
}

#[test]
fn bitmask_get_set_count_iter_roundtrip() {
    let mut m = BitMask::new([70, 3, 2]);
    for n in [0, 63, 64, 65, 419] {
        m.set(n, true);
    }
    assert_eq!(m.count(), 5);
    assert_eq!(m.iter().collect::<Vec<_>>(), vec![0, 63, 64, 65, 419]);
    m.set(64, false);
    assert!(!m.get(64) && m.get(65));
    assert_eq!(m.not().count(), 420 - 4);
    assert_eq!(m.bbox().unwrap().min, [0, 0, 0]);
}

#[test]
fn threshold_keeps_the_inclusive_hu_window() {
    let mut v = Volume::filled([5, 1, 1], [1.0; 3], [0.0; 3], 0i16);
    v.data.copy_from_slice(&[225, 226, 3071, 3072, -1000]);
    let m = threshold(&v, &ThresholdParams::default()).unwrap();
    assert_eq!(m.iter().collect::<Vec<_>>(), vec![1, 2]);
}

#[test]
fn inverted_threshold_range_is_refused_with_a_plain_message() {
    let v = Volume::filled([2, 2, 2], [1.0; 3], [0.0; 3], 0i16);
    let e = threshold(
        &v,
        &ThresholdParams {
            lower_hu: 500,
            upper_hu: 300,
        },
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "lower threshold 500 HU is above the upper 300 HU: swap them"
    );
}

#[test]
fn components_are_sorted_by_size_then_first_voxel() {
    let m = grid(
        "
        #..##
        ...##
        ##...
        ",
    );
    let c = label_components(&m, Connectivity::Six);
    assert_eq!(c.sizes, vec![4, 2, 1]);
    assert_eq!(c.label_of(3), 1);
    assert_eq!(c.label_of(10), 2);
    assert_eq!(c.label_of(0), 3);
    assert_eq!(c.label_of(1), 0);
    assert_eq!(c.label_vec()[4], 1);
    assert_eq!(c.bboxes[0].min, [3, 0, 0]);
    assert_eq!(keep_largest(&m, 1, Connectivity::Six).count(), 4);
    assert_eq!(remove_smaller_than(&m, 2, Connectivity::Six).count(), 6);
}

#[test]
fn diagonal_voxels_join_only_with_26_connectivity() {
    let m = grid(
        "
        #..
        .#.
        ...

        ...
        ...
        ..#
        ",
    );
    assert_eq!(label_components(&m, Connectivity::Six).count(), 3);
    assert_eq!(label_components(&m, Connectivity::TwentySix).count(), 1);
}

#[test]
fn components_merge_a_u_shape_scanned_from_both_arms() {
    let m = grid(
        "
        #.#.#
        #.#.#
        #####
        ",
    );
    let c = label_components(&m, Connectivity::Six);
    assert_eq!(c.count(), 1);
    assert_eq!(c.sizes[0], 11);
}

#[test]
fn grow_stops_at_one_voxel_joint_gap_with_6_connectivity() {
    // Two bones separated by a one-voxel gap that is bridged only diagonally.
    let m = grid(
        "
        ###.....
        ###.....
        ###.###.
        ...#.##.
        ....###.
        ",
    );
    let ct = ct_of(&m);
    let six = grow(&ct, [0, 0, 0], &GrowParams::default()).unwrap();
    assert_eq!(six.count(), 9);
    let tw = grow(
        &ct,
        [0, 0, 0],
        &GrowParams {
            connectivity: Connectivity::TwentySix,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(tw.count(), m.count());
}

#[test]
fn grow_respects_max_radius_and_restriction_mask() {
    let m = grid("##########");
    let ct = ct_of(&m);
    let r = grow(
        &ct,
        [0, 0, 0],
        &GrowParams {
            max_radius_mm: Some(3.0),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(r.count(), 4);
    let within = grid("######....");
    assert_eq!(
        grow_within(&ct, [2, 0, 0], &GrowParams::default(), Some(&within))
            .unwrap()
            .count(),
        6
    );
}

#[test]
fn grow_from_a_seed_in_air_says_where_and_what_to_do() {
    let mut ct = Volume::filled([20, 50, 10], [1.0; 3], [0.0; 3], -980i16);
    ct.data[0] = 700;
    let e = grow(&ct, [12, 40, 7], &GrowParams::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the seed (12, 40, 7) is in air (-980 HU), outside the 226…3071 HU bone range: click inside a bone"
    );
    let e = grow(&ct, [20, 0, 0], &GrowParams::default()).unwrap_err();
    assert!(matches!(e, SegmentError::SeedOutsideVolume { .. }), "{e}");
    assert!(e.to_string().contains("outside the volume"));
}

#[test]
fn distance_transform_is_exact_on_anisotropic_voxels() {
    let mut m = BitMask::new([7, 5, 3]);
    let c = m.index(3, 2, 1);
    m.set(c, true);
    let d = distance::squared_distance_mm2(&m, [0.5, 1.0, 2.0], true);
    let at = |i: usize, j: usize, k: usize| d[m.index(i, j, k)];
    assert_eq!(at(3, 2, 1), 0.0);
    assert_eq!(at(6, 2, 1), 1.5 * 1.5);
    assert_eq!(at(3, 0, 1), 4.0);
    assert_eq!(at(3, 2, 0), 4.0);
    assert_eq!(at(0, 0, 0), 1.5f32 * 1.5 + 4.0 + 4.0);
}

#[test]
fn dilate_uses_an_ellipsoid_in_voxels_on_anisotropic_grids() {
    let mut m = BitMask::new([9, 9, 9]);
    let c = m.index(4, 4, 4);
    m.set(c, true);
    let d = dilate(&m, 2.0, [0.5, 1.0, 2.0]).unwrap();
    assert!(d.get_ijk(0, 4, 4) && d.get_ijk(8, 4, 4)); // 4 voxels × 0.5 mm
    assert!(d.get_ijk(4, 2, 4) && !d.get_ijk(4, 1, 4)); // 2 voxels × 1 mm
    assert!(d.get_ijk(4, 4, 3) && !d.get_ijk(4, 4, 2)); // 1 voxel × 2 mm
    assert_eq!(erode(&d, 2.0, [0.5, 1.0, 2.0]).unwrap(), m);
}

#[test]
fn erode_then_dilate_removes_a_thin_bridge() {
    let m = grid(
        "
        ...........
        .###...###.
        .#########.
        .###...###.
        ...........
        ",
    );
    let opened = open(&m, 1.0, [1.0; 3]).unwrap();
    // Opening with a 1 mm ball (a plus-shaped element on 1 mm voxels): the one-voxel-thick
    // bridge is gone and the two blocks are apart.
    assert_eq!(label_components(&opened, Connectivity::Six).count(), 2);
    assert!(!opened.get_ijk(5, 2, 0));
}

#[test]
fn close_fills_a_one_voxel_notch() {
    let m = grid(
        "
        .........
        .........
        ..#####..
        ..##.##..
        ..#####..
        .........
        .........
        ",
    );
    let c = close(&m, 1.0, [1.0; 3]).unwrap();
    assert!(c.get_ijk(4, 3, 0));
    assert_eq!(c.count(), m.count() + 1);
}

#[test]
fn fill_closes_an_enclosed_cavity() {
    let m = grid(
        "
        ###.
        ###.
        ###.

        ###.
        #.#.
        ###.

        ###.
        ###.
        ###.
        ",
    );
    let f = fill_cavities(&m, Connectivity::Six);
    assert!(f.get_ijk(1, 1, 1));
    assert_eq!(f.count(), m.count() + 1);
    // A cavity open to the outside is not filled.
    let mut open_box = m.clone();
    open_box.set(m.index(1, 1, 0), false);
    assert_eq!(fill_cavities(&open_box, Connectivity::Six), open_box);
}

#[test]
fn split_separates_two_touching_spheres() {
    let dims = [30, 20, 20];
    let m = BitMask::from_fn(dims, |n| {
        let (i, j, k) = ((n % 30) as f64, ((n / 30) % 20) as f64, (n / 600) as f64);
        let d1 = ((i - 9.0).powi(2) + (j - 10.0).powi(2) + (k - 10.0).powi(2)).sqrt();
        let d2 = ((i - 20.0).powi(2) + (j - 10.0).powi(2) + (k - 10.0).powi(2)).sqrt();
        d1 <= 6.0 || d2 <= 6.0
    });
    assert_eq!(
        label_components(&m, Connectivity::Six).count(),
        1,
        "the spheres must touch"
    );
    let parts = split_by_seeds(&m, &[[9, 10, 10], [20, 10, 10]], &SplitParams::default()).unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0].count() + parts[1].count(), m.count());
    assert!(parts[0].and(&parts[1]).count() == 0);
    // Each part is its own sphere: nothing of part 0 beyond the neck at x = 14.5.
    assert!(parts[0].iter().all(|n| n % 30 <= 15));
    assert!(parts[1].iter().all(|n| n % 30 >= 14));
    let diff = parts[0].count() as i64 - parts[1].count() as i64;
    assert!(
        diff.abs() < 30,
        "halves should be about equal, got {} and {}",
        parts[0].count(),
        parts[1].count()
    );
}

#[test]
fn split_refuses_seeds_in_different_components_or_outside_the_mask() {
    let m = grid("##..##");
    let e = split_by_seeds(&m, &[[0, 0, 0], [5, 0, 0]], &SplitParams::default()).unwrap_err();
    assert_eq!(e, SegmentError::SeedsInDifferentComponents);
    assert!(e
        .to_string()
        .starts_with("both split seeds are in different components already"));
    let e = split_by_seeds(&m, &[[0, 0, 0], [2, 0, 0]], &SplitParams::default()).unwrap_err();
    assert!(matches!(e, SegmentError::SeedOutsideMask { .. }));
    let e = split_by_seeds(&m, &[[0, 0, 0], [0, 0, 0]], &SplitParams::default()).unwrap_err();
    assert!(e
        .to_string()
        .starts_with("both split seeds are in one component but"));
}

#[test]
fn cut_plane_splits_with_on_plane_voxels_in_front() {
    let m = grid("######");
    let (front, back) = split_by_plane(&m, [2.0, 0.0, 0.0], [1.0, 0.0, 0.0]).unwrap();
    assert_eq!(front.iter().collect::<Vec<_>>(), vec![2, 3, 4, 5]);
    assert_eq!(back.count(), 2);
    // Same plane in patient mm on a 0.5 mm grid starting at x = 10 mm.
    let geo = Volume::filled([6, 1, 1], [0.5; 3], [10.0, 0.0, 0.0], 0i16);
    let (front, _) = split_by_plane_mm(&m, &geo, [11.0, 0.0, 0.0], [2.0, 0.0, 0.0]).unwrap();
    assert_eq!(front.count(), 4);
}

#[test]
fn lasso_fills_a_square_on_one_slice() {
    let mut m = BitMask::new([6, 6, 3]);
    let square = [[1.5, 1.5], [4.5, 1.5], [4.5, 4.5], [1.5, 4.5]];
    let rec = edit::lasso(
        &mut m,
        Slice { axis: 2, index: 1 },
        &square,
        BrushMode::Paint(1),
    )
    .unwrap();
    assert_eq!(rec.len(), 9);
    assert_eq!(
        show(&m),
        "......\n......\n......\n......\n......\n......\n\n......\n......\n..###.\n..###.\n..###.\n......\n\n......\n......\n......\n......\n......\n......\n"
    );
}

#[test]
fn lasso_uses_the_even_odd_rule() {
    // A self-overlapping path: outer square traced, then an inner square; the inner is a hole.
    let mut m = BitMask::new([10, 10, 1]);
    let poly = [
        [0.5, 0.5],
        [8.5, 0.5],
        [8.5, 8.5],
        [0.5, 8.5],
        [0.5, 0.5],
        [3.5, 3.5],
        [3.5, 5.5],
        [5.5, 5.5],
        [5.5, 3.5],
        [3.5, 3.5],
    ];
    edit::lasso(
        &mut m,
        Slice { axis: 2, index: 0 },
        &poly,
        BrushMode::Paint(1),
    )
    .unwrap();
    assert!(m.get_ijk(2, 2, 0));
    assert!(!m.get_ijk(4, 4, 0));
    assert_eq!(m.count(), 64 - 4);
}

#[test]
fn undo_restores_exactly_and_redo_replays() {
    let mut labels = Volume::filled([12, 12, 12], [0.5, 0.5, 1.0], [0.0; 3], 0u8);
    for v in labels.data.iter_mut().take(500) {
        *v = 3;
    }
    let before = labels.clone();
    let r1 = edit::sphere(
        &mut labels,
        [0.5, 0.5, 1.0],
        [6.0, 6.0, 6.0],
        2.0,
        BrushMode::Paint(5),
    )
    .unwrap();
    let after1 = labels.clone();
    let r2 = edit::circle(
        &mut labels,
        [0.5, 0.5, 1.0],
        Slice { axis: 1, index: 6 },
        [6.0, 6.0],
        1.5,
        BrushMode::Erase(5),
    )
    .unwrap();
    let r3 = edit::circle(
        &mut labels,
        [0.5, 0.5, 1.0],
        Slice { axis: 0, index: 2 },
        [2.0, 2.0],
        3.0,
        BrushMode::Erase(3),
    )
    .unwrap();
    assert!(!r1.is_empty() && !r2.is_empty() && !r3.is_empty());
    // Painting never takes another part's voxels.
    assert!(before
        .data
        .iter()
        .zip(&after1.data)
        .all(|(b, a)| *b == 0 || a == b));
    let after3 = labels.clone();
    edit::undo(&mut labels, &r3);
    edit::undo(&mut labels, &r2);
    assert_eq!(labels, after1);
    edit::undo(&mut labels, &r1);
    assert_eq!(labels, before);
    for r in [&r1, &r2, &r3] {
        edit::redo(&mut labels, r);
    }
    assert_eq!(labels, after3);
}

#[test]
fn circle_brush_on_an_axial_slice_paints_a_disc_of_the_radius_in_mm() {
    let mut m = BitMask::new([21, 21, 3]);
    let rec = edit::circle(
        &mut m,
        [0.5, 0.5, 2.0],
        Slice { axis: 2, index: 1 },
        [10.0, 10.0],
        2.0,
        BrushMode::Paint(1),
    )
    .unwrap();
    assert!(m.get_ijk(14, 10, 1) && !m.get_ijk(15, 10, 1));
    assert!(m.iter().all(|n| n / (21 * 21) == 1));
    // ~π r² / pixel area = π·4/0.25 ≈ 50 pixels.
    assert!((45..=57).contains(&rec.len()), "{}", rec.len());
}

#[test]
fn bad_edit_input_is_refused() {
    let mut m = BitMask::new([4, 4, 4]);
    assert!(edit::circle(
        &mut m,
        [1.0; 3],
        Slice { axis: 2, index: 4 },
        [1.0, 1.0],
        1.0,
        BrushMode::Paint(1)
    )
    .is_err());
    assert!(edit::sphere(&mut m, [1.0; 3], [1.0; 3], f64::NAN, BrushMode::Paint(1)).is_err());
    assert!(edit::lasso(
        &mut m,
        Slice { axis: 2, index: 0 },
        &[[0.0, 0.0], [1.0, 1.0]],
        BrushMode::Paint(1)
    )
    .is_err());
    assert_eq!(m.count(), 0, "nothing changed by refused edits");
}

/// Plain breadth-first labelling, the reference for the run-based kernels.
fn reference_labels(m: &BitMask, c: Connectivity) -> Vec<u32> {
    let [nx, ny, nz] = m.dims();
    let mut lab = vec![0u32; m.len()];
    let mut next = 0;
    for s in 0..m.len() {
        if !m.get(s) || lab[s] != 0 {
            continue;
        }
        next += 1;
        lab[s] = next;
        let mut q = vec![s];
        while let Some(n) = q.pop() {
            let p = m.ijk(n);
            for dk in -1i64..=1 {
                for dj in -1i64..=1 {
                    for di in -1i64..=1 {
                        let l1 = di.abs() + dj.abs() + dk.abs();
                        if l1 == 0 || (c == Connectivity::Six && l1 > 1) {
                            continue;
                        }
                        let (a, b, d) = (p[0] as i64 + di, p[1] as i64 + dj, p[2] as i64 + dk);
                        if a < 0
                            || b < 0
                            || d < 0
                            || a >= nx as i64
                            || b >= ny as i64
                            || d >= nz as i64
                        {
                            continue;
                        }
                        let o = m.index(a as usize, b as usize, d as usize);
                        if m.get(o) && lab[o] == 0 {
                            lab[o] = next;
                            q.push(o);
                        }
                    }
                }
            }
        }
    }
    lab
}

#[test]
fn run_based_components_and_scanline_growing_match_a_plain_flood_on_random_masks() {
    let dims = [13, 9, 7];
    for seed in 0..30u64 {
        let m = BitMask::from_fn(dims, |n| {
            let h = (n as u64 + 1)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15 ^ seed.wrapping_mul(0xD1B5_4A32_D192_ED03));
            (h >> 40) % 100 < 40
        });
        let ct = ct_of(&m);
        for c in [Connectivity::Six, Connectivity::TwentySix] {
            let reference = reference_labels(&m, c);
            let comps = label_components(&m, c);
            let labels = comps.label_vec();
            assert_eq!(
                comps.count() as u32,
                reference.iter().copied().max().unwrap_or(0),
                "seed {seed} {c:?}"
            );
            // Same partition: a one-to-one map between labels.
            let mut map = std::collections::HashMap::new();
            for (a, b) in reference.iter().zip(&labels) {
                assert_eq!(*map.entry(*a).or_insert(*b), *b, "seed {seed} {c:?}");
            }
            // Growing from the first voxel of the largest component gives that component.
            let s = m.ijk(comps.first_voxel[0]).map(|v| v as i64);
            let g = grow(
                &ct,
                s,
                &GrowParams {
                    connectivity: c,
                    ..Default::default()
                },
            )
            .unwrap();
            assert_eq!(g, comps.mask_of(1), "seed {seed} {c:?}");
        }
    }
}
