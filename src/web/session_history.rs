//! The design-history record in the browser: the same output files and SHA-256 as
//! `osteon replay` writes for the same link (both use `design::outputs`).

use super::session::Session;
use super::to_js;
use crate::design::history::design_history;
use crate::design::outputs::{output_files, part_meshes, PART_ISO_HU};
use crate::design::DesignState;
use crate::volume::sha256_hex;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
impl Session {
    /// Builds every output of the current design and its history record. `design` is the
    /// page's design (op log with its source op, fingerprint, view). Returns
    /// `{ json: "<design-history.json>", outputs: [{file, bytes, sha256}] }`.
    #[wasm_bindgen(js_name = designHistory)]
    pub fn design_history_record(&self, design: JsValue) -> Result<JsValue, JsError> {
        let design: DesignState = serde_wasm_bindgen::from_value(design)
            .map_err(|e| JsError::new(&format!("the design is not valid: {e}")))?;
        let ct = &self.current()?.volume;
        if sha256_hex(ct) != design.study_fingerprint {
            return Err(JsError::new(
                "the design belongs to another study than the one loaded",
            ));
        }
        let seg = self
            .seg
            .as_ref()
            .ok_or_else(|| JsError::new("there is no design yet: segment the study first"))?;
        let meshes = part_meshes(ct, seg, PART_ISO_HU).map_err(|e| JsError::new(&e))?;
        let files = output_files(seg, &meshes).map_err(|e| JsError::new(&e))?;
        let outputs: Vec<(String, &[u8])> =
            files.iter().map(|(n, b)| (n.clone(), &b[..])).collect();
        let history = design_history(&design, env!("CARGO_PKG_VERSION"), &outputs);
        #[derive(serde::Serialize)]
        struct Out<'a> {
            json: String,
            outputs: &'a [crate::design::history::OutputDigest],
        }
        to_js(&Out {
            json: history.to_json(),
            outputs: &history.outputs,
        })
    }
}
