//! Segmentation: from HU volume to bone masks. So far: CT table detection.

pub mod table;
