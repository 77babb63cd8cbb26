//! Surfaces from voxel data.
//!
//! - [`preview`]: a fast, downsampled iso-surface (Naive Surface Nets) for the 3-D view.
//!   It is a *preview*: not the watertight part surface that is exported for printing.

pub mod preview;

pub use preview::{iso_surface_preview, PreviewMesh, PreviewParams};
