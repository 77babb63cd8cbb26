//! Osteon: patient-specific orthopaedic implant design, in the browser.
//!
//! Layers point downwards only. The pure layers take bytes and parameter structs and
//! return values: no browser, no file system, no clock, so they build and give the same
//! bits natively and on `wasm32-unknown-unknown`. `render` and `web` exist only on
//! wasm32; the command line in `src/bin/osteon` only natively. See ARCHITECTURE.md.

pub mod bench;
pub mod demo;
pub mod design;
pub mod dicom;
pub mod mesh;
pub mod mpr;
pub mod nrrd;
pub mod parallel;
pub mod print;
pub mod progress;
pub mod segment;
pub mod side;
pub mod surface;
pub mod volume;

#[cfg(target_arch = "wasm32")]
pub mod render;
#[cfg(target_arch = "wasm32")]
mod wasm_alloc;
#[cfg(target_arch = "wasm32")]
pub mod web;
