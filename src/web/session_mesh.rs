//! Worker-side mesh objects: applying the mesh operations of the design (with progress),
//! sending the objects to the page for the 3-D view, and exporting them.
//!
//! The operations go into the same op log as the segmentation, so undo, redo and design
//! links treat them like any other op (`Session::undo`, `redo`, `replayOps`).

use super::to_js;
use crate::design::meshes::{MeshObject, STL_HEADER};
use crate::design::Op;
use wasm_bindgen::prelude::*;

use super::Session;

#[wasm_bindgen]
impl Session {
    /// Applies one mesh operation (`{op: "mirror_mesh", ...}`); `on_progress(done, total)`
    /// is called during long steps (registration, plane fitting, remeshing, decimation).
    /// On error nothing changes. Returns the segmentation report (ops, undo state).
    #[wasm_bindgen(js_name = applyMeshOp)]
    pub fn apply_mesh_op(
        &mut self,
        op: JsValue,
        on_progress: &js_sys::Function,
    ) -> Result<JsValue, JsError> {
        let op: Op = serde_wasm_bindgen::from_value(op)
            .map_err(|e| JsError::new(&format!("not a design operation: {e}")))?;
        if !op.is_mesh_op() {
            return Err(JsError::new(
                "applyMeshOp takes mesh operations only; use applyOp",
            ));
        }
        // A new registration records the settings it runs with (its link replays them).
        let op = crate::design::meshes::with_current_settings(op);
        let mut progress = |done: usize, total: usize| {
            let _ = on_progress.call2(
                &JsValue::NULL,
                &JsValue::from(done as u32),
                &JsValue::from(total as u32),
            );
            true
        };
        self.apply_tracked(op, &mut progress)?;
        self.undone.clear();
        self.seg_report()
    }

    /// The mesh objects for the page: `{ objects: [{id, name, colour, source, report}],
    /// positions: Float32Array, indices: Uint32Array, vertex_counts, index_counts,
    /// parts_calculated }` with the meshes concatenated in object order (patient mm).
    /// `parts_calculated` says whether the part surfaces of the last "Calculate parts"
    /// are still valid. `deviation` is the design's last comparison (or null): its
    /// summary with `positions`, `indices` (the measured surface) and `values` (signed
    /// distance per vertex, mm).
    #[wasm_bindgen(js_name = meshObjects)]
    pub fn mesh_objects(&self) -> Result<js_sys::Object, JsError> {
        let objects: &[MeshObject] = match &self.seg {
            Some(seg) => &seg.meshes.objects,
            None => &[],
        };
        let out = super::flat_meshes(objects.iter().map(|o| &o.mesh))?;
        let set =
            |k: &str, v: JsValue| js_sys::Reflect::set(&out, &JsValue::from_str(k), &v).map(|_| ());
        set("objects", to_js(&objects)?)
            .and_then(|_| {
                set(
                    "parts_calculated",
                    JsValue::from_bool(!self.surfaces.is_empty()),
                )
            })
            .map_err(|_| JsError::new("could not build the mesh objects"))?;
        let deviation = match self.seg.as_ref().and_then(|s| s.meshes.deviation.as_ref()) {
            Some(d) => {
                let js = super::flat_meshes(std::iter::once(&d.surface))?;
                let values: Vec<f32> = d.per_vertex_mm.iter().map(|&v| v as f32).collect();
                js_sys::Reflect::set(&js, &"summary".into(), &to_js(d)?)
                    .and_then(|_| {
                        js_sys::Reflect::set(
                            &js,
                            &"values".into(),
                            &js_sys::Float32Array::from(&values[..]).into(),
                        )
                    })
                    .map_err(|_| JsError::new("could not build the deviation map"))?;
                js.into()
            }
            None => JsValue::NULL,
        };
        set("deviation", deviation)
            .map_err(|_| JsError::new("could not build the mesh objects"))?;
        Ok(out)
    }

    /// Measurements of a part's calculated surface (`{part: label}`) or of a mesh object
    /// (`{mesh: id}`): volume, area, centroid, principal axes, bounding box, watertight
    /// and genus (`design::meshes::SurfaceMeasurements`).
    #[wasm_bindgen(js_name = measureSurface)]
    pub fn measure_surface(&self, target: JsValue) -> Result<JsValue, JsError> {
        use crate::design::MeshRef;
        let target: MeshRef = serde_wasm_bindgen::from_value(target)
            .map_err(|e| JsError::new(&format!("not a part or mesh object: {e}")))?;
        let mesh = match target {
            MeshRef::Mesh(id) => self
                .seg
                .as_ref()
                .and_then(|s| s.meshes.get(id))
                .map(|o| &o.mesh)
                .ok_or_else(|| JsError::new(&format!("there is no mesh object {id}")))?,
            MeshRef::Part(label) => self
                .surfaces
                .iter()
                .find(|(l, _)| *l == label)
                .map(|(_, m)| m)
                .ok_or_else(|| {
                    JsError::new(&format!(
                        "part {label} has no calculated surface: press Calculate parts first"
                    ))
                })?,
        };
        let m = crate::design::meshes::measure_surface(mesh)
            .map_err(|e| JsError::new(&e.to_string()))?;
        to_js(&m)
    }

    /// Binary STL of mesh object `id` (patient mm); its SHA-256 is the object's
    /// `report.stl_sha256`.
    #[wasm_bindgen(js_name = exportMeshStl)]
    pub fn export_mesh_stl(&self, id: u32) -> Result<Vec<u8>, JsError> {
        let o = self
            .seg
            .as_ref()
            .and_then(|s| s.meshes.get(id))
            .ok_or_else(|| JsError::new(&format!("there is no mesh object {id}")))?;
        crate::mesh::io::write_stl_binary(&o.mesh, STL_HEADER)
            .map_err(|e| JsError::new(&e.to_string()))
    }

    /// One 3MF with the calculated parts (when there are any) and every mesh object, one
    /// named object each.
    #[wasm_bindgen(js_name = exportAll3mf)]
    pub fn export_all_3mf(&self) -> Result<Vec<u8>, JsError> {
        let seg = self
            .seg
            .as_ref()
            .ok_or_else(|| JsError::new("there are no parts or mesh objects yet"))?;
        let mut named = super::session::named_surfaces(seg, &self.surfaces);
        named.extend(
            seg.meshes
                .objects
                .iter()
                .map(|o| (o.name.as_str(), &o.mesh)),
        );
        if named.is_empty() {
            return Err(JsError::new(
                "nothing to export: calculate the parts or make a mesh object first",
            ));
        }
        crate::mesh::io::write_3mf(&named).map_err(|e| JsError::new(&e.to_string()))
    }

    /// Implant-only link (`#m=…`) of mesh object `id`: the mesh quantised to 10 µm, no
    /// anatomy, for a reviewer without the CT.
    #[wasm_bindgen(js_name = meshLink)]
    pub fn mesh_link(&self, id: u32) -> Result<String, JsError> {
        use crate::design::mesh_link::{encode_mesh_link, SharedMesh, DEFAULT_STEP_MM};
        let o = self
            .seg
            .as_ref()
            .and_then(|s| s.meshes.get(id))
            .ok_or_else(|| JsError::new(&format!("there is no mesh object {id}")))?;
        let shared = SharedMesh {
            name: o.name.clone(),
            mesh: o.mesh.clone(),
        };
        encode_mesh_link(&shared, DEFAULT_STEP_MM).map_err(|e| JsError::new(&e.to_string()))
    }
}
