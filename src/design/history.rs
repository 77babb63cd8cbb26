//! The design-history record: what a regulated manufacturer files for traceability —
//! the op log, the Osteon version, the study fingerprint and the SHA-256 of every output
//! file — and nothing that identifies the patient. The same design on the same study
//! gives the same record in the browser and from `osteon replay`, byte for byte, so
//! either side can check the other's outputs.

use super::state::{DesignState, Op, SCHEMA_VERSION};
use crate::volume::bytes_sha256_hex;
use serde::Serialize;

/// Name of the record format, so a reader can tell it from other JSON.
pub const HISTORY_FORMAT: &str = "osteon-design-history";

/// One output file and its digest.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OutputDigest {
    /// File name as exported, e.g. `left_talus.stl`.
    pub file: String,
    pub bytes: usize,
    /// SHA-256 (hex) of the file's bytes.
    pub sha256: String,
}

/// The design-history record.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DesignHistory {
    pub format: &'static str,
    /// Design schema of the op log.
    pub schema_version: u16,
    /// Osteon that produced the outputs.
    pub app_version: String,
    /// Osteon that recorded the design (may be older).
    pub design_app_version: String,
    /// SHA-256 of the study's voxels and geometry (never header text).
    pub study_fingerprint: String,
    /// The operations, in order, as they are replayed.
    pub ops: Vec<Op>,
    /// Every output file, in the order given.
    pub outputs: Vec<OutputDigest>,
}

/// Builds the record for `design` whose replay produced `outputs` (file name, bytes).
pub fn design_history(
    design: &DesignState,
    app_version: &str,
    outputs: &[(String, &[u8])],
) -> DesignHistory {
    DesignHistory {
        format: HISTORY_FORMAT,
        schema_version: SCHEMA_VERSION,
        app_version: app_version.to_string(),
        design_app_version: design.app_version.clone(),
        study_fingerprint: design.study_fingerprint.clone(),
        ops: design.ops.clone(),
        outputs: outputs
            .iter()
            .map(|(file, bytes)| OutputDigest {
                file: file.clone(),
                bytes: bytes.len(),
                sha256: bytes_sha256_hex(bytes),
            })
            .collect(),
    }
}

impl DesignHistory {
    /// Pretty JSON with a final newline (fixed field order, so the bytes are stable).
    pub fn to_json(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// "left talus" → "left_talus": a file name made of ASCII letters, digits and `_`.
pub fn file_stem(name: &str) -> String {
    let s: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let s = s.trim_matches('_').to_string();
    if s.is_empty() {
        "part".into()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::design::ViewState;

    fn design() -> DesignState {
        DesignState {
            study_fingerprint: "ab".repeat(32),
            app_version: "0.1.0".into(),
            ops: vec![
                Op::OpenDemo { seed: 1 },
                Op::AutoBones {
                    lower_hu: 226,
                    upper_hu: 3071,
                },
            ],
            view: ViewState::default(),
        }
    }

    #[test]
    fn the_record_lists_every_output_with_its_digest() {
        let stl = b"solid".to_vec();
        let nrrd = vec![7u8; 100];
        let h = design_history(
            &design(),
            "0.2.0",
            &[
                ("left_talus.stl".into(), &stl),
                ("labels.nrrd".into(), &nrrd),
            ],
        );
        assert_eq!(h.outputs.len(), 2);
        assert_eq!(h.outputs[0].file, "left_talus.stl");
        assert_eq!(h.outputs[0].bytes, 5);
        assert_eq!(h.outputs[0].sha256, bytes_sha256_hex(b"solid"));
        assert_ne!(h.outputs[0].sha256, h.outputs[1].sha256);
        let json = h.to_json();
        assert!(json.contains("\"format\": \"osteon-design-history\""));
        assert!(json.contains("\"op\": \"auto_bones\""));
        assert!(json.contains("\"design_app_version\": \"0.1.0\""));
        assert_eq!(
            json,
            design_history(
                &design(),
                "0.2.0",
                &[
                    ("left_talus.stl".into(), &stl),
                    ("labels.nrrd".into(), &nrrd)
                ]
            )
            .to_json()
        );
    }

    #[test]
    fn file_stems_are_plain_ascii() {
        assert_eq!(file_stem("Left Talus (2)"), "left_talus__2");
        assert_eq!(file_stem("  "), "part");
        assert_eq!(file_stem("implant 100 %"), "implant_100");
    }
}
