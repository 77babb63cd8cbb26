//! Worker-side articular marks: the marked surfaces of the design for the page (counts,
//! areas, and the marked faces to draw over the surfaces in the 3-D view).
//!
//! The mark ops themselves go through `Session::applyMeshOp` (they never change the
//! label volume), so they land in the op log, undo/redo and links.

use super::Session;
use super::{flat_meshes, to_js};
use crate::design::marks::marked_surfaces;
use crate::design::meshes::Inputs;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
impl Session {
    /// Every marked surface: `{ surfaces: [{target, name, faces, triangles, area_mm2}],
    /// note, positions, indices, vertex_counts, index_counts }` — the marked faces of
    /// each surface (patient mm, lifted just off it) concatenated in `surfaces` order;
    /// `note` says what the last mark op did.
    #[wasm_bindgen(js_name = articularScene)]
    pub fn articular_scene(&self) -> Result<js_sys::Object, JsError> {
        let ct = &self.current()?.volume;
        let (surfaces, note) = match &self.seg {
            Some(seg) => {
                let inputs = Inputs {
                    ct,
                    labels: &seg.labels,
                    parts: &seg.parts,
                };
                (
                    marked_surfaces(&inputs, &seg.meshes),
                    seg.meshes.mark_note.clone(),
                )
            }
            None => (Vec::new(), String::new()),
        };
        let out = flat_meshes(surfaces.iter().map(|s| &s.patch))?;
        let set =
            |k: &str, v: JsValue| js_sys::Reflect::set(&out, &JsValue::from_str(k), &v).map(|_| ());
        set("surfaces", to_js(&surfaces)?)
            .and_then(|_| set("note", JsValue::from_str(&note)))
            .map_err(|_| JsError::new("could not build the articular marks"))?;
        Ok(out)
    }
}

#[wasm_bindgen]
impl Session {
    /// Whether the last label op changed what the articular marks of parts show (a marked
    /// part's voxels or name, or the marks themselves), so the page needs them again.
    /// Without the op's undo record (dropped for memory) any part marks count as touched.
    #[wasm_bindgen(js_name = marksTouchedByLastOp)]
    pub fn marks_touched_by_last_op(&self) -> bool {
        let Some(seg) = &self.seg else {
            return false;
        };
        match self.records.last() {
            Some(r) if r.at + 1 == self.ops.len() => r.delta.touches_part_marks(seg),
            _ => !seg.meshes.part_marks.is_empty(),
        }
    }
}
