//! Worker-side articular marks: the marked surfaces of the design for the page (counts,
//! areas, and the marked faces to draw over the surfaces in the 3-D view).
//!
//! The mark ops themselves go through `Session::applyMeshOp` (they never change the
//! label volume), so they land in the op log, undo/redo and links.

use super::to_js;
use super::Session;
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
        let (mut positions, mut indices, mut vertex_counts, mut index_counts) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for s in &surfaces {
            positions.extend(s.patch.positions_mm.iter().flat_map(|p| p.map(|c| c as f32)));
            indices.extend(s.patch.triangles.iter().flatten());
            vertex_counts.push(s.patch.positions_mm.len() as u32);
            index_counts.push(3 * s.patch.triangles.len() as u32);
        }
        let out = js_sys::Object::new();
        let set =
            |k: &str, v: JsValue| js_sys::Reflect::set(&out, &JsValue::from_str(k), &v).map(|_| ());
        set("surfaces", to_js(&surfaces)?)
            .and_then(|_| set("note", JsValue::from_str(&note)))
            .and_then(|_| {
                set(
                    "positions",
                    js_sys::Float32Array::from(&positions[..]).into(),
                )
            })
            .and_then(|_| set("indices", js_sys::Uint32Array::from(&indices[..]).into()))
            .and_then(|_| {
                set(
                    "vertex_counts",
                    js_sys::Uint32Array::from(&vertex_counts[..]).into(),
                )
            })
            .and_then(|_| {
                set(
                    "index_counts",
                    js_sys::Uint32Array::from(&index_counts[..]).into(),
                )
            })
            .map_err(|_| JsError::new("could not build the articular marks"))?;
        Ok(out)
    }
}
