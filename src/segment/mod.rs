//! Segmentation: from a CT volume in HU to bone masks and labelled parts.
//!
//! Every kernel here is pure and deterministic: it takes volumes, masks and a params
//! struct (with [`Default`] and units in field names) and returns new values. Voxel
//! indices are linear, `i + nx * (j + ny * k)`, as in [`crate::volume::Volume`].
//!
//! - [`mask`]: [`BitMask`] (one bit per voxel) and label-volume helpers.
//! - [`threshold`]: HU window → mask.
//! - [`components`]: connected components (6/26), sorted by size.
//! - [`grow`]: region growing from a seed voxel.
//! - [`distance`]: exact Euclidean distance transform on anisotropic voxels.
//! - [`morphology`]: dilate / erode / open / close by a radius in mm.
//! - [`fill`]: fill enclosed cavities.
//! - [`split`]: seeded watershed and cut-plane split of one mask.
//! - [`edit`]: brushes and lasso with undo records.
//! - [`auto`]: "Auto bones", one labelled part per bone.
//! - [`table`]: CT table footprint.

// Input-derived data never meets unwrap/expect here: errors say what is wrong instead.
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod anatomy;
pub mod auto;
mod ball;
pub mod components;
pub mod distance;
pub mod edit;
pub mod fill;
pub mod grow;
pub mod mask;
pub mod morphology;
pub mod split;
pub mod table;
pub mod threshold;

pub use mask::{BitMask, VoxelBox};

/// Which neighbours of a voxel count as connected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Connectivity {
    /// Face neighbours only (6). The default: a one-voxel gap separates two bones.
    #[default]
    Six,
    /// Face, edge and corner neighbours (26).
    TwentySix,
}

/// What went wrong in a segmentation step, in words for the user.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SegmentError {
    #[error("the seed ({}, {}, {}) is outside the volume of {} × {} × {} voxels: click inside the image", seed[0], seed[1], seed[2], dims[0], dims[1], dims[2])]
    SeedOutsideVolume { seed: [i64; 3], dims: [usize; 3] },
    #[error("the seed ({}, {}, {}) is in {} ({} HU), outside the {}…{} HU bone range: click inside a bone", seed[0], seed[1], seed[2], tissue_name(*hu), hu, lower_hu, upper_hu)]
    SeedOutsideRange {
        seed: [i64; 3],
        hu: i16,
        lower_hu: i16,
        upper_hu: i16,
    },
    #[error("lower threshold {lower_hu} HU is above the upper {upper_hu} HU: swap them")]
    InvertedRange { lower_hu: i16, upper_hu: i16 },
    #[error("the seed ({}, {}, {}) is not inside the mask: place each split seed inside the mask", seed[0], seed[1], seed[2])]
    SeedOutsideMask { seed: [i64; 3] },
    #[error("both split seeds are in different components already: nothing to split, use connected components instead")]
    SeedsInDifferentComponents,
    #[error("both split seeds are in one component but on the same voxel ({}, {}, {}): place one seed in each bone", seed[0], seed[1], seed[2])]
    SeedsCoincide { seed: [i64; 3] },
    #[error("a split needs at least two seeds, got {0}")]
    TooFewSeeds(usize),
    #[error("mask produced no surface: it is empty")]
    NoSurface,
    #[error("the {what} has {got:?} voxels but the volume has {expected:?}")]
    DimsMismatch {
        what: &'static str,
        expected: [usize; 3],
        got: [usize; 3],
    },
    #[error("{0}")]
    InvalidParameter(String),
    #[error("cancelled")]
    Cancelled,
    #[error("more than 255 parts: raise the minimum part volume")]
    TooManyParts,
    #[error("no bone found: {0}; check that the study is a CT in HU with bone in the field of view, or lower the threshold")]
    NoBone(String),
}

/// Plain name of the tissue a HU value usually belongs to, for messages.
pub fn tissue_name(hu: i16) -> &'static str {
    match hu {
        i16::MIN..=-400 => "air",
        -399..=-30 => "fat",
        -29..=150 => "soft tissue",
        151..=3071 => "dense tissue",
        _ => "metal",
    }
}

/// Neighbour offsets (di, dj, dk) of a connectivity, in a fixed order.
pub(crate) fn offsets(c: Connectivity) -> Vec<[i64; 3]> {
    let mut out = Vec::new();
    for dk in -1i64..=1 {
        for dj in -1i64..=1 {
            for di in -1i64..=1 {
                let n = di.abs() + dj.abs() + dk.abs();
                let keep = match c {
                    Connectivity::Six => n == 1,
                    Connectivity::TwentySix => n >= 1,
                };
                if keep {
                    out.push([di, dj, dk]);
                }
            }
        }
    }
    out
}

/// Check that a seed lies in the grid; returns its linear index.
pub(crate) fn seed_index(seed: [i64; 3], dims: [usize; 3]) -> Result<usize, SegmentError> {
    for a in 0..3 {
        if seed[a] < 0 || seed[a] as usize >= dims[a] {
            return Err(SegmentError::SeedOutsideVolume { seed, dims });
        }
    }
    Ok(seed[0] as usize + dims[0] * (seed[1] as usize + dims[1] * seed[2] as usize))
}
