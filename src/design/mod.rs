//! The design: a versioned operation log plus view state, bound to a study by its
//! fingerprint, and its encoding as a shareable link. No patient data is ever part of it.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod edit_ops;
pub mod history;
pub mod label_delta;
pub mod link;
pub mod marks;
pub mod mesh_link;
pub mod meshes;
pub mod outputs;
pub mod print_ops;
pub mod replay;
pub mod state;

pub use link::{decode_link, encode_link, LinkError};
pub use state::{
    ClipPlane, DesignState, Measurement, MeshRef, MirrorPlane, Morph, Op, ScanSettings, Smoothing,
    ViewState, SCHEMA_VERSION,
};
