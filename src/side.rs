//! Patient side, shared by the demo study, segmentation and design.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

/// Patient side (LPS: +x points to the patient's left).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Left,
    Right,
}

impl Side {
    /// "left" or "right".
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Left => "left",
            Side::Right => "right",
        }
    }
}
