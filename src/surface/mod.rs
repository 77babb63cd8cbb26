//! Surfaces from voxel data.
//!
//! - [`mc`]: marching cubes of one mask with vertices at the sub-voxel HU iso-level:
//!   the watertight, outward-facing part surface in patient mm that is exported.
//! - [`preview`]: a fast, downsampled iso-surface (Naive Surface Nets) for the 3-D view.
//!   It is a *preview*: not the watertight part surface that is exported for printing.

// Input-derived data never meets unwrap/expect here: errors say what is wrong instead.
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod mc;
pub mod preview;

pub use preview::{iso_surface_preview, PreviewMesh, PreviewParams};
