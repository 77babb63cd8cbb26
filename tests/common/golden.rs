//! Golden values shared by the native and the browser tests: both must reach the same
//! SHA-256 from the same inputs, which is how bit-identical replay is checked.
#![allow(dead_code)]

use osteon::demo::{self, DemoParams};
use osteon::dicom::{self, WriteMeta};

/// A coarse demo phantom, small enough for a debug-build test in the browser.
pub fn small_demo_params() -> DemoParams {
    DemoParams::coarse(2.0)
}

/// The small phantom written as a DICOM CT series (one file per slice).
pub fn small_demo_series() -> Vec<(String, Vec<u8>)> {
    let study = demo::generate(&small_demo_params());
    let meta = WriteMeta {
        description: demo::DEMO_DESCRIPTION.to_string(),
        kvp: demo::DEMO_KVP,
        seed_uid_root: "2.25.1".to_string(),
    };
    dicom::write_ct_series(&study.ct, &meta).expect("demo series writes")
}

/// SHA-256 of `small_demo_params()`'s CT volume.
pub const SMALL_DEMO_CT_SHA256: &str =
    "57eddf591b1ad62257a0c6ce057d3d71de0273d4142e5e4be6991d56517e79f4";
/// SHA-256 of the HU volume read back from `small_demo_series()`.
pub const SMALL_DEMO_SERIES_SHA256: &str =
    "57eddf591b1ad62257a0c6ce057d3d71de0273d4142e5e4be6991d56517e79f4";
