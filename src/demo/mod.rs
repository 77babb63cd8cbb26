//! Procedurally generated demo study: a bilateral ankle/foot CT phantom with its
//! ground-truth bone labels, for "Open demo study" and for tests of every later step.
//!
//! # Coordinate frame
//! DICOM patient coordinates, LPS, millimetres: `x` towards the patient's left, `y`
//! posterior, `z` superior. Axial slices; the volume axes are patient x, y, z
//! ([`crate::volume::axis_aligned_affine`]), centred on (0, 0, 58) mm. The patient lies
//! supine with both feet at about 90° and the legs side by side: the right foot at
//! x ≈ −49 mm, the left at x ≈ +51 mm, toes towards −y, heels resting towards a curved
//! CT table at y ≈ +69 mm (bone-bright, never labelled). The default grid (448 × 320 × 128
//! at 0.5 × 0.5 × 1.0 mm) covers 224 × 160 × 128 mm: from the sole up over 50 mm of distal
//! tibia and fibula, with ≈ 50 mm of bone-free space between the two feet.
//!
//! # Anatomy
//! Per side twelve-label order: tibia, fibula, talus, calcaneus, navicular, cuboid; the
//! right side has labels 1–6, the left 7–12, background 0 (see [`anatomy`] for shapes and
//! joint gaps). HU: cortical shell 1.5–3 mm at 1300–1500, trabecular 270–350 with smooth
//! texture, soft tissue 40 under 4 mm of fat at −100, air −1000, table shell 320.
//!
//! # Determinism
//! The output is a pure function of [`DemoParams`]. There is no RNG state: noise and
//! texture are hashes of (seed, voxel index / lattice cell) ([`noise`]). Per-voxel code uses
//! only `+ − × ÷`, `sqrt`, `floor`, `round`, min/max — correctly rounded in IEEE 754 — and
//! rotations come from a fixed polynomial, so native and wasm32 builds give the same bytes
//! (check with [`crate::volume::sha256_hex`]). The seed also jitters the left foot's pose
//! by up to ±1 mm / ±1°.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod anatomy;
pub mod noise;
pub mod phantom;
pub mod shapes;
mod study;

pub use study::{bone_centre_voxel, loaded_series};

use crate::progress::{NoProgress, Progress};
use crate::volume::Volume;

/// Peak tube voltage recorded for the demo series (kV).
pub const DEMO_KVP: f64 = 120.0;
/// Series description of the demo study.
pub const DEMO_DESCRIPTION: &str = "Osteon demo: bilateral ankle CT phantom";

/// Parameters of the phantom.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoParams {
    /// Seed of noise, texture and the left foot's small pose jitter. Default 1.
    pub seed: u64,
    /// Voxel counts along x, y, z. Default 448 × 320 × 128.
    pub dims: [usize; 3],
    /// Voxel size along x, y, z in mm. Default 0.5 × 0.5 × 1.0.
    pub spacing_mm: [f64; 3],
    /// Standard deviation of the image noise in HU. Default 20.
    pub noise_hu: f64,
}

impl Default for DemoParams {
    fn default() -> Self {
        DemoParams {
            seed: 1,
            dims: [448, 320, 128],
            spacing_mm: [0.5, 0.5, 1.0],
            noise_hu: 20.0,
        }
    }
}

impl DemoParams {
    /// Same field of view as the default on a coarser grid of `spacing_mm` (isotropic),
    /// for fast tests and previews.
    pub fn coarse(spacing_mm: f64) -> Self {
        let d = DemoParams::default();
        let dims = [0, 1, 2]
            .map(|a| ((d.dims[a] as f64 * d.spacing_mm[a] / spacing_mm).round() as usize).max(1));
        DemoParams {
            dims,
            spacing_mm: [spacing_mm; 3],
            ..d
        }
    }
}

pub use crate::side::Side;

/// One labelled bone of the phantom.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct BoneInfo {
    /// Label value in [`DemoStudy::labels`] (1..=12).
    pub label: u8,
    /// Side and bone, e.g. "left talus".
    pub name: String,
    pub side: Side,
    /// Bone name, e.g. "talus".
    pub bone: String,
}

/// The generated study: CT in HU, ground-truth labels on the same grid, and the label table.
#[derive(Clone, Debug)]
pub struct DemoStudy {
    pub ct: Volume<i16>,
    pub labels: Volume<u8>,
    pub bones: Vec<BoneInfo>,
}

/// Generate the phantom (≈ 0.3–0.5 s natively in release for the default size).
///
/// # Panics
/// When a dimension is zero or a spacing is not a positive finite number.
#[allow(
    clippy::expect_used,
    reason = "not input-derived: NoProgress never cancels, so the phantom is always built"
)]
pub fn generate(params: &DemoParams) -> DemoStudy {
    generate_with_progress(params, &mut NoProgress).expect("NoProgress never cancels")
}

/// [`generate`], reporting after each axial slice; `None` when `progress` returns `false`.
pub fn generate_with_progress(
    params: &DemoParams,
    progress: &mut dyn Progress,
) -> Option<DemoStudy> {
    assert!(
        params.dims.iter().all(|&d| d > 0),
        "demo phantom dims must be non-zero, got {:?}",
        params.dims
    );
    assert!(
        params.spacing_mm.iter().all(|s| s.is_finite() && *s > 0.0),
        "demo phantom spacing must be positive mm, got {:?}",
        params.spacing_mm
    );
    let feet = anatomy::feet(params.seed);
    let (ct, labels) = phantom::rasterise(params, &feet, progress)?;
    let bones = bone_table(&feet);
    Some(DemoStudy { ct, labels, bones })
}

/// The label table (same for every seed and grid): right bones 1–6, left bones 7–12.
pub fn bone_infos() -> Vec<BoneInfo> {
    bone_table(&anatomy::feet(1))
}

fn bone_table(feet: &[anatomy::Foot; 2]) -> Vec<BoneInfo> {
    let mut out: Vec<BoneInfo> = feet
        .iter()
        .flat_map(|f| {
            f.bones.iter().enumerate().map(move |(n, b)| BoneInfo {
                label: f.first_label + n as u8,
                name: format!("{} {}", f.side.as_str(), b.bone),
                side: f.side,
                bone: b.bone.to_string(),
            })
        })
        .collect();
    out.sort_by_key(|b| b.label);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_params_match_the_protocol() {
        let p = DemoParams::default();
        assert_eq!(p.dims, [448, 320, 128]);
        assert!(p.spacing_mm[0] <= 0.5 && p.spacing_mm[1] <= 0.5 && p.spacing_mm[2] <= 1.25);
        assert_eq!(p.seed, 1);
    }

    #[test]
    fn coarse_params_cover_the_same_field_of_view() {
        let d = DemoParams::default();
        let c = DemoParams::coarse(2.0);
        for a in 0..3 {
            assert!(
                (c.dims[a] as f64 * c.spacing_mm[a] - d.dims[a] as f64 * d.spacing_mm[a]).abs()
                    <= 2.0
            );
        }
    }

    #[test]
    fn side_serialises_lowercase() {
        assert_eq!(serde_json::to_string(&Side::Left).unwrap(), "\"left\"");
        assert_eq!(serde_json::to_string(&Side::Right).unwrap(), "\"right\"");
    }

    #[test]
    fn tiny_study_has_geometry_and_labels() {
        let p = DemoParams {
            dims: [56, 40, 32],
            spacing_mm: [4.0; 3],
            ..DemoParams::default()
        };
        let s = generate(&p);
        assert_eq!(s.ct.dims, p.dims);
        assert_eq!(s.labels.patient_from_voxel, s.ct.patient_from_voxel);
        assert_eq!(s.bones.len(), 12);
        assert!(s.labels.data.contains(&4) && s.labels.data.contains(&10));
    }

    #[test]
    #[should_panic(expected = "non-zero")]
    fn zero_dims_are_refused() {
        generate(&DemoParams {
            dims: [0, 1, 1],
            ..DemoParams::default()
        });
    }
}
