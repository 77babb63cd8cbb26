//! Design links in the browser: the page keeps the design as a plain object and asks
//! Rust to validate and encode it, so the link format has a single implementation.

use crate::design::{self, DesignState};
use wasm_bindgen::prelude::*;

/// Encodes a design object (`{study_fingerprint, app_version, ops, view}`) as `#d=…`.
#[wasm_bindgen(js_name = encodeDesignLink)]
pub fn encode_design_link(state: JsValue) -> Result<String, JsError> {
    let state: DesignState = serde_wasm_bindgen::from_value(state)
        .map_err(|e| JsError::new(&format!("the design is not valid: {e}")))?;
    design::encode_link(&state).map_err(|e| JsError::new(&e.to_string()))
}

/// Decodes a URL or fragment into a design object; errors say what is wrong.
#[wasm_bindgen(js_name = decodeDesignLink)]
pub fn decode_design_link(link: &str) -> Result<JsValue, JsError> {
    let state = design::decode_link(link).map_err(|e| JsError::new(&e.to_string()))?;
    super::to_js(&state)
}
