//! Worker-side print preparation: the print state for the page (report, 3-D scene with
//! the overhang colour map, one layer's paths for the layer viewer) and the exports.
//!
//! The print ops themselves go through `Session::applyMeshOp` (they never change the
//! label volume, like the mesh ops), so they land in the op log, undo/redo and links.
//! Build space: mm, +z up from the plate.

use super::to_js;
use super::Session;
use crate::design::print_ops::{
    export_job, export_svg, layer_scan, preview, report, support_stl, JobFormat, PrintStore,
    SlicedJob,
};
use crate::mesh::Mesh;
use crate::print::overhang::{
    CLASS_ARTICULAR_OVERHANG, CLASS_FINE, CLASS_ON_PLATE, CLASS_OVERHANG,
};
use crate::print::slice::to_mm;
use wasm_bindgen::prelude::*;

/// Colours of the 3-D print view: fine faces, overhangs (red), articular overhangs
/// (orange), faces on the plate, supports, and articular faces that need no support (the
/// marks' colour, as in the design view).
const SCENE_COLOURS: [[u8; 3]; 6] = [
    [205, 205, 200],
    [225, 40, 40],
    [245, 150, 30],
    [80, 140, 230],
    [120, 200, 110],
    ARTICULAR_COLOUR,
];
/// Colour of articular marks in the 3-D views (page: mark_tools.js): a vivid magenta
/// unlike every part colour.
const ARTICULAR_COLOUR: [u8; 3] = [255, 0, 255];

/// Object with typed-array and plain fields, built without panics.
struct Out(js_sys::Object);

impl Out {
    fn new() -> Self {
        Out(js_sys::Object::new())
    }
    fn set(&self, k: &str, v: JsValue) -> Result<(), JsError> {
        js_sys::Reflect::set(&self.0, &JsValue::from_str(k), &v)
            .map(|_| ())
            .map_err(|_| JsError::new("could not build the print object"))
    }
}

/// Sub-meshes of `mesh` by face class (0–3; fine articular faces apart), then `supports`,
/// each with its own vertices.
fn scene(
    mesh: &Mesh,
    class: &[u8],
    articular: &[bool],
    supports: Option<&Mesh>,
) -> Result<js_sys::Object, JsError> {
    let (mut positions, mut indices, mut vertex_counts, mut index_counts, mut colours) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut push = |m: &Mesh, keep: &dyn Fn(usize) -> bool, colour: [u8; 3]| {
        let mut map = vec![u32::MAX; m.positions_mm.len()];
        let mut n = 0u32;
        let mut count = 0u32;
        for (t, tri) in m.triangles.iter().enumerate() {
            if !keep(t) {
                continue;
            }
            for &v in tri {
                let Some(slot) = map.get_mut(v as usize) else {
                    continue;
                };
                if *slot == u32::MAX {
                    *slot = n;
                    n += 1;
                    if let Some(p) = m.positions_mm.get(v as usize) {
                        positions.extend(p.map(|c| c as f32));
                    }
                }
                indices.push(*slot);
                count += 1;
            }
        }
        if count > 0 {
            vertex_counts.push(n);
            index_counts.push(count);
            colours.extend(colour);
        }
    };
    let marked = |t: usize| articular.get(t).copied().unwrap_or(false);
    for (c, colour) in [
        (CLASS_FINE, SCENE_COLOURS[0]),
        (CLASS_OVERHANG, SCENE_COLOURS[1]),
        (CLASS_ARTICULAR_OVERHANG, SCENE_COLOURS[2]),
        (CLASS_ON_PLATE, SCENE_COLOURS[3]),
    ] {
        push(
            mesh,
            &|t| class.get(t) == Some(&c) && !(c == CLASS_FINE && marked(t)),
            colour,
        );
    }
    push(
        mesh,
        &|t| class.get(t) == Some(&CLASS_FINE) && marked(t),
        SCENE_COLOURS[5],
    );
    if let Some(s) = supports {
        push(s, &|_| true, SCENE_COLOURS[4]);
    }
    let out = Out::new();
    out.set(
        "positions",
        js_sys::Float32Array::from(&positions[..]).into(),
    )?;
    out.set("indices", js_sys::Uint32Array::from(&indices[..]).into())?;
    out.set(
        "vertex_counts",
        js_sys::Uint32Array::from(&vertex_counts[..]).into(),
    )?;
    out.set(
        "index_counts",
        js_sys::Uint32Array::from(&index_counts[..]).into(),
    )?;
    out.set("colours", js_sys::Uint8Array::from(&colours[..]).into())?;
    Ok(out.0)
}

fn flat_polys<'a>(
    polys: impl Iterator<Item = &'a [[f64; 2]]>,
    xy: &mut Vec<f32>,
    counts: &mut Vec<u32>,
) {
    for p in polys {
        xy.extend(p.iter().flat_map(|q| [q[0] as f32, q[1] as f32]));
        counts.push(p.len() as u32);
    }
}

impl Session {
    fn print_store(&self) -> Result<&PrintStore, JsError> {
        self.seg
            .as_ref()
            .map(|s| &s.print)
            .ok_or_else(|| JsError::new("there is no design yet: segment the study first"))
    }

    fn job(&self, plate: bool) -> Result<&SlicedJob, JsError> {
        let store = self.print_store()?;
        if plate {
            store
                .plate
                .as_ref()
                .map(|p| &p.job)
                .ok_or_else(|| JsError::new("make the build job first (Print panel: Build job)"))
        } else {
            store
                .sliced
                .as_ref()
                .ok_or_else(|| JsError::new("slice the part first (Print panel: Slice)"))
        }
    }
}

#[wasm_bindgen]
impl Session {
    /// Summary of the print preparation (`design::print_ops::PrintReport`).
    #[wasm_bindgen(js_name = printState)]
    pub fn print_state(&self) -> Result<JsValue, JsError> {
        let store = match &self.seg {
            Some(s) => report(&s.print),
            None => report(&PrintStore::default()),
        };
        to_js(&store)
    }

    /// The oriented part in build space split by overhang class (fine, overhang,
    /// articular overhang, on the plate) and the supports, for the 3-D view:
    /// `{positions, indices, vertex_counts, index_counts, colours}` or `null`.
    #[wasm_bindgen(js_name = printScene)]
    pub fn print_scene(&self) -> Result<JsValue, JsError> {
        let store = self.print_store()?;
        let Some(o) = &store.oriented else {
            return Ok(JsValue::NULL);
        };
        let sup = store.supports.as_ref().map(|s| &s.result.mesh);
        Ok(scene(&o.mesh, &o.map.class, &o.marks.mask, sup)?.into())
    }

    /// The oriented part turned to candidate `rank` and the hand rotation (degrees about
    /// build x, y, z), without recording anything: the scene as [`Self::print_scene`]
    /// (no supports) plus `supported_area_mm2` and `height_mm`.
    #[wasm_bindgen(js_name = printPreview)]
    pub fn print_preview(&self, rank: u32, rx: f64, ry: f64, rz: f64) -> Result<JsValue, JsError> {
        let o = self
            .print_store()?
            .oriented
            .as_ref()
            .ok_or_else(|| JsError::new("orient the part first"))?;
        let posed = preview(o, rank, [rx, ry, rz]).map_err(|e| JsError::new(&e.to_string()))?;
        let out = scene(&posed.mesh, &posed.map.class, &o.marks.mask, None)?;
        let o = Out(out);
        o.set(
            "supported_area_mm2",
            JsValue::from_f64(posed.map.supported_area_mm2),
        )?;
        o.set("height_mm", JsValue::from_f64(posed.map.height_mm))?;
        Ok(o.0.into())
    }

    /// Layer `k` of the sliced part (or the plate): `{index, z_top_mm, hatch_angle_deg,
    /// view_mm, section_xy, section_counts, support_xy, support_counts, contour_xy,
    /// contour_counts, hatches}` (xy pairs in mm; hatches as x0, y0, x1, y1). The scan
    /// paths are made for this layer only.
    #[wasm_bindgen(js_name = printLayer)]
    pub fn print_layer(&self, plate: bool, k: usize) -> Result<js_sys::Object, JsError> {
        let job = self.job(plate)?;
        let scan = layer_scan(job, k).map_err(|e| JsError::new(&e.to_string()))?;
        let to_xy = |layer: &crate::print::slice::Layer| -> Vec<Vec<[f64; 2]>> {
            layer
                .polygons
                .iter()
                .map(|p| p.points.iter().map(|&q| to_mm(q)).collect())
                .collect()
        };
        let section = job.slices.layers.get(k).map(to_xy).unwrap_or_default();
        let support = job
            .support_layers
            .as_ref()
            .and_then(|s| s.get(k))
            .map(to_xy)
            .unwrap_or_default();
        let (mut sxy, mut sc, mut uxy, mut uc, mut cxy, mut cc) = (
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
        );
        flat_polys(section.iter().map(|p| &p[..]), &mut sxy, &mut sc);
        flat_polys(support.iter().map(|p| &p[..]), &mut uxy, &mut uc);
        flat_polys(scan.contours.iter().map(|p| &p[..]), &mut cxy, &mut cc);
        let hatches: Vec<f32> = scan
            .hatches
            .iter()
            .flat_map(|h| [h[0][0], h[0][1], h[1][0], h[1][1]].map(|c| c as f32))
            .collect();
        let out = Out::new();
        out.set("index", JsValue::from(k as u32))?;
        out.set("layers", JsValue::from(job.slices.layers.len() as u32))?;
        out.set("z_top_mm", JsValue::from_f64(scan.z_top_mm))?;
        out.set("hatch_angle_deg", JsValue::from_f64(scan.hatch_angle_deg))?;
        out.set("view_mm", to_js(&job.view_mm)?)?;
        out.set("section_xy", js_sys::Float32Array::from(&sxy[..]).into())?;
        out.set("section_counts", js_sys::Uint32Array::from(&sc[..]).into())?;
        out.set("support_xy", js_sys::Float32Array::from(&uxy[..]).into())?;
        out.set("support_counts", js_sys::Uint32Array::from(&uc[..]).into())?;
        out.set("contour_xy", js_sys::Float32Array::from(&cxy[..]).into())?;
        out.set("contour_counts", js_sys::Uint32Array::from(&cc[..]).into())?;
        out.set("hatches", js_sys::Float32Array::from(&hatches[..]).into())?;
        Ok(out.0)
    }

    /// Export bytes: `kind` is `gcode`, `cli` (ASCII), `cli_binary`, `svg` (layer
    /// `layer`), `supports_stl` or `plate_3mf`; `plate` picks the build job's slicing.
    /// `on_progress(done, total)` is called while the scan paths are made.
    #[wasm_bindgen(js_name = exportPrint)]
    pub fn export_print(
        &self,
        kind: &str,
        plate: bool,
        layer: usize,
        on_progress: &js_sys::Function,
    ) -> Result<Vec<u8>, JsError> {
        let err = |e: crate::design::print_ops::PrintOpError| JsError::new(&e.to_string());
        let mut progress = |done: usize, total: usize| {
            let _ = on_progress.call2(
                &JsValue::NULL,
                &JsValue::from(done as u32),
                &JsValue::from(total as u32),
            );
            true
        };
        match kind {
            "gcode" => export_job(self.job(plate)?, JobFormat::Gcode, &mut progress).map_err(err),
            "cli" => export_job(self.job(plate)?, JobFormat::CliAscii, &mut progress).map_err(err),
            "cli_binary" => {
                export_job(self.job(plate)?, JobFormat::CliBinary, &mut progress).map_err(err)
            }
            "svg" => export_svg(self.job(plate)?, layer).map_err(err),
            "supports_stl" => {
                let s = self
                    .print_store()?
                    .supports
                    .as_ref()
                    .filter(|s| !s.result.mesh.triangles.is_empty())
                    .ok_or_else(|| {
                        JsError::new("there are no supports: generate them first (Supports)")
                    })?;
                support_stl(s).map_err(err)
            }
            "plate_3mf" => {
                let p = self
                    .print_store()?
                    .plate
                    .as_ref()
                    .ok_or_else(|| JsError::new("make the build job first"))?;
                p.plate
                    .write_3mf()
                    .map_err(|e| JsError::new(&e.to_string()))
            }
            other => Err(JsError::new(&format!("unknown print export '{other}'"))),
        }
    }
}
