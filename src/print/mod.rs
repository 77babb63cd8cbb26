//! Print preparation for metal powder-bed fusion (Ti-6Al-4V ELI): orientation, overhang
//! analysis, supports, sweep-plane slicing, hatching, machine-instruction export,
//! estimates and build plates. Pure: meshes and parameter structs in, values and bytes
//! out. Coordinates are build-space millimetres, +z up from the build plate.
//!
//! Slicing pipeline: [`slice::slice`] (mesh → layer polygons on a 0.1 µm integer grid)
//! → [`simplify::simplify_slices`] (outlines within a few µm, fewer edges to offset)
//! → [`hatch::hatch_all`] (contours by [`inset`], hatch vectors by [`scanline`]) →
//! [`export`] (G-code, CLI ASCII/binary, SVG bytes) and [`estimate::estimate`] (time,
//! masses, powder, trapped-powder warning; [`estimate::MachineProfile`] bounds the build).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod articular;
pub mod block_supports;
pub mod estimate;
pub mod export;
pub mod hatch;
pub mod inset;
mod minmax;
pub mod orient;
pub mod overhang;
pub mod plate;
pub mod scanline;
pub mod simplify;
pub mod slice;
pub mod supports;
