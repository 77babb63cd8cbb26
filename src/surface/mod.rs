//! Surfaces from voxel data.
//!
//! - [`mc`]: marching cubes of one mask with vertices at the sub-voxel HU iso-level:
//!   the watertight, outward-facing part surface in patient mm that is exported.
//! - [`preview`]: a fast, downsampled iso-surface (Naive Surface Nets) for the 3-D view.
//!   It is a *preview*: not the watertight part surface that is exported for printing.

pub mod mc;
pub mod preview;

pub use preview::{iso_surface_preview, PreviewMesh, PreviewParams};
