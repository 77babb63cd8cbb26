//! Worker-side handle: files in, volume and surfaces out.

use super::to_js;
use crate::demo::{self, DemoParams};
use crate::design::label_delta::{self, Delta};
use crate::design::replay::{apply_tracked, replay, PartInfo, Segmentation, Threshold};
use crate::design::Op;
use crate::dicom::{self, FileBytes, LoadedSeries, ReadOptions, Scan, SeriesReader};
use crate::mesh::Mesh;
use crate::progress::{NoProgress, Progress};
use crate::segment::mask::VoxelBox;
use crate::surface::preview::{iso_surface_preview, PreviewParams};
use crate::volume::{labels_sha256_hex, sha256_hex};
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// What the page needs to know about the study the worker holds.
#[derive(Serialize)]
struct StudyReport<'a> {
    source: &'a str,
    summary: &'a dicom::SeriesSummary,
    geometry: &'a dicom::GeometryReport,
    qa: &'a dicom::QaReport,
    file_errors: &'a [dicom::FileError],
    dims: [usize; 3],
    spacing_mm: [f64; 3],
    /// Column-major 4×4 `patient_from_voxel`.
    patient_from_voxel: Vec<f64>,
    hu_range: (i16, i16),
    sha256: String,
    bones: Vec<demo::BoneInfo>,
    /// Voxel where the crosshair starts (the centre of the volume unless the study knows better).
    focus_voxel: [usize; 3],
}

/// Compute session held by the worker. Loading is incremental (`beginLoad`,
/// `loadStep`, `finishLoad`) so the worker can post progress and honour cancel between
/// steps. A failed or cancelled load leaves the previously loaded study untouched.
#[wasm_bindgen]
pub struct Session {
    pub(crate) files: Vec<(String, Vec<u8>)>,
    pub(crate) scan: Option<Scan>,
    /// Headers parsed so far by `scanAdd` (files kept by the worker, not here).
    pub(crate) scan_builder: Option<dicom::ScanBuilder>,
    pub(crate) reader: Option<SeriesReader>,
    pub(crate) study: Option<LoadedSeries>,
    pub(crate) study_source: &'static str,
    pub(crate) bones: Vec<demo::BoneInfo>,
    pub(crate) focus_voxel: Option<[usize; 3]>,
    /// Segmentation ops applied to the study (the source op is not among them).
    pub(crate) ops: Vec<Op>,
    /// Ops undone, most recent last, for redo.
    pub(crate) undone: Vec<Op>,
    pub(crate) seg: Option<Segmentation>,
    /// Surfaces of the last "Calculate parts", by label.
    pub(crate) surfaces: Vec<(u8, Mesh)>,
    /// Undo records of recent ops, oldest first (see [`UndoRecord`]).
    pub(crate) records: Vec<UndoRecord>,
    /// Box of labels changed since the page last took them (`labelPatch`).
    pub(crate) dirty: Option<VoxelBox>,
}

/// What undoing `ops[at]` (which is `op`) writes back, so undo needs no replay. Kept for
/// the most recent ops within [`UNDO_BUDGET_LABELS`]; older ops are undone by replaying.
pub(crate) struct UndoRecord {
    pub(super) at: usize,
    op: Op,
    pub(super) delta: Delta,
}

/// Undo records hold at most this many label volumes' worth of bytes (memory in wasm).
const UNDO_BUDGET_LABELS: usize = 1;
/// Undo records that keep a whole print state (see `record`).
const UNDO_PRINT_STATES: usize = 4;
/// Undo records that keep a whole mesh store (mesh, print and articular-mark ops; a
/// brushing session makes many).
const UNDO_MESH_STATES: usize = 8;

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

#[wasm_bindgen]
impl Session {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Session {
        Session {
            files: Vec::new(),
            scan: None,
            scan_builder: None,
            reader: None,
            study: None,
            study_source: "",
            bones: Vec::new(),
            focus_voxel: None,
            ops: Vec::new(),
            undone: Vec::new(),
            seg: None,
            surfaces: Vec::new(),
            records: Vec::new(),
            dirty: None,
        }
    }

    /// Forgets the dropped files (not the loaded study).
    #[wasm_bindgen(js_name = clearFiles)]
    pub fn clear_files(&mut self) {
        self.files.clear();
        self.scan_builder = None;
        self.scan = None;
        self.reader = None;
    }

    /// Adds one dropped file (a DICOM file or a .zip of them).
    #[wasm_bindgen(js_name = addFile)]
    pub fn add_file(&mut self, name: String, bytes: Vec<u8>) {
        self.files.push((name, bytes));
    }

    /// Expands archives, parses every header and groups the files into series.
    /// Returns `{ series: [...], errors: [{name, reason}] }`.
    pub fn scan(&mut self) -> Result<JsValue, JsError> {
        let (files, mut errors) = dicom::expand_archives(std::mem::take(&mut self.files));
        self.files = files;
        let scan = dicom::scan(&self.file_bytes());
        errors.extend(scan.errors.iter().cloned());
        #[derive(Serialize)]
        struct ScanReport<'a> {
            series: &'a [dicom::SeriesSummary],
            errors: &'a [dicom::FileError],
        }
        let report = to_js(&ScanReport {
            series: &scan.series,
            errors: &errors,
        });
        self.scan = Some(scan);
        report
    }

    /// Parses the header of one dropped file whose bytes the caller keeps (no archives):
    /// with `scanFinish` and `loadStepFromFiles` the dropped files never sit in wasm memory
    /// next to the volume (a 512 × 512 × 1000 study would otherwise need both at once).
    #[wasm_bindgen(js_name = scanAdd)]
    pub fn scan_add(&mut self, name: &str, bytes: &[u8]) {
        if self.scan_builder.is_none() {
            self.clear_files();
        }
        self.scan_builder
            .get_or_insert_with(dicom::ScanBuilder::default)
            .add(&FileBytes { name, bytes });
    }

    /// Groups the files given to `scanAdd` into series; returns what `scan` returns.
    #[wasm_bindgen(js_name = scanFinish)]
    pub fn scan_finish(&mut self) -> Result<JsValue, JsError> {
        let scan = self.scan_builder.take().unwrap_or_default().finish();
        #[derive(Serialize)]
        struct ScanReport<'a> {
            series: &'a [dicom::SeriesSummary],
            errors: &'a [dicom::FileError],
        }
        let report = to_js(&ScanReport {
            series: &scan.series,
            errors: &scan.errors,
        });
        self.scan = Some(scan);
        report
    }

    /// Indices (scan order) of the files the next `max_slices` slices come from, each
    /// once: the files `loadStepFromFiles` takes.
    #[wasm_bindgen(js_name = nextFiles)]
    pub fn next_files(&self, max_slices: usize) -> Vec<u32> {
        self.reader
            .as_ref()
            .map(|r| {
                r.next_files(max_slices)
                    .into_iter()
                    .map(|f| f as u32)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Decodes up to `max_slices` slices from the files `nextFiles(max_slices)` named
    /// (`names[k]`: strings, `buffers[k]`: ArrayBuffers or Uint8Arrays), one file run per
    /// thread in the threaded build; returns how many slices are done.
    #[wasm_bindgen(js_name = loadStepFromFiles)]
    pub fn load_step_from_files(
        &mut self,
        names: js_sys::Array,
        buffers: js_sys::Array,
        max_slices: usize,
    ) -> Result<usize, JsError> {
        let reader = self
            .reader
            .as_mut()
            .ok_or_else(|| JsError::new("no load in progress"))?;
        let names: Vec<String> = names
            .iter()
            .map(|n| {
                n.as_string()
                    .ok_or_else(|| JsError::new("file names must be strings"))
            })
            .collect::<Result<_, _>>()?;
        let bytes: Vec<Vec<u8>> = buffers
            .iter()
            .map(|b| js_sys::Uint8Array::new(&b).to_vec())
            .collect();
        let files: Vec<FileBytes> = names
            .iter()
            .zip(&bytes)
            .map(|(name, bytes)| FileBytes { name, bytes })
            .collect();
        reader
            .decode_next_from_files(&files, max_slices)
            .map_err(|e| JsError::new(&e.to_string()))?;
        Ok(reader.done())
    }

    /// Starts reading series `series_id`; returns the number of slices to decode.
    /// `pixel_spacing_mm` (two values) is used only when the files have no PixelSpacing.
    #[wasm_bindgen(js_name = beginLoad)]
    pub fn begin_load(
        &mut self,
        series_id: usize,
        pixel_spacing_mm: Vec<f64>,
    ) -> Result<usize, JsError> {
        let scan = self
            .scan
            .as_ref()
            .ok_or_else(|| JsError::new("no files scanned yet: drop a DICOM folder first"))?;
        let opts = ReadOptions {
            assume_pixel_spacing_mm: (pixel_spacing_mm.len() == 2)
                .then(|| [pixel_spacing_mm[0], pixel_spacing_mm[1]]),
            ..ReadOptions::default()
        };
        let reader =
            SeriesReader::new(scan, series_id, &opts).map_err(|e| JsError::new(&e.to_string()))?;
        let total = reader.total();
        self.reader = Some(reader);
        Ok(total)
    }

    /// Decodes up to `max_slices` more slices; returns how many are done.
    #[wasm_bindgen(js_name = loadStep)]
    pub fn load_step(&mut self, max_slices: usize) -> Result<usize, JsError> {
        let files: Vec<FileBytes> = self
            .files
            .iter()
            .map(|(n, b)| FileBytes { name: n, bytes: b })
            .collect();
        let reader = self
            .reader
            .as_mut()
            .ok_or_else(|| JsError::new("no load in progress"))?;
        reader
            .decode_next(&files, max_slices)
            .map_err(|e| JsError::new(&e.to_string()))?;
        Ok(reader.done())
    }

    /// Abandons the load in progress; the loaded study stays.
    #[wasm_bindgen(js_name = cancelLoad)]
    pub fn cancel_load(&mut self) {
        self.reader = None;
    }

    /// Completes the load and makes it the current study. Returns the study report.
    #[wasm_bindgen(js_name = finishLoad)]
    pub fn finish_load(&mut self) -> Result<JsValue, JsError> {
        let reader = self
            .reader
            .take()
            .ok_or_else(|| JsError::new("no load in progress"))?;
        let loaded = reader.finish().map_err(|e| JsError::new(&e.to_string()))?;
        self.study = Some(loaded);
        self.study_source = "dicom";
        self.bones.clear();
        self.focus_voxel = None;
        self.reset_design();
        self.report()
    }

    /// Generates the embedded demo study (bilateral ankle CT phantom) and makes it current.
    /// `on_progress(done, total)` is called per slice.
    #[wasm_bindgen(js_name = openDemo)]
    pub fn open_demo(&mut self, on_progress: &js_sys::Function) -> Result<JsValue, JsError> {
        let mut progress = |done: usize, total: usize| {
            let _ = on_progress.call2(
                &JsValue::NULL,
                &JsValue::from(done as u32),
                &JsValue::from(total as u32),
            );
            true
        };
        let study = demo::generate_with_progress(&DemoParams::default(), &mut progress)
            .ok_or_else(|| JsError::new("demo generation was cancelled"))?;
        self.focus_voxel = demo::bone_centre_voxel(&study, "right talus");
        self.reset_design();
        self.bones = study.bones;
        let loaded = demo::loaded_series(study.ct);
        self.study = Some(loaded);
        self.study_source = "demo";
        self.report()
    }

    /// The current study's report (see `finishLoad`).
    pub fn report(&self) -> Result<JsValue, JsError> {
        let s = self.current()?;
        let v = &s.volume;
        to_js(&StudyReport {
            source: self.study_source,
            summary: &s.summary,
            geometry: &s.geometry,
            qa: &s.qa,
            file_errors: &s.file_errors,
            dims: v.dims,
            spacing_mm: v.spacing_mm,
            patient_from_voxel: v.patient_from_voxel.as_slice().to_vec(),
            hu_range: v.min_max().unwrap_or((0, 0)),
            sha256: sha256_hex(v),
            bones: self.bones.clone(),
            focus_voxel: self.focus_voxel.unwrap_or(v.dims.map(|n| n / 2)),
        })
    }

    /// A copy of the current HU volume, `i` fastest, for transfer to the page.
    #[wasm_bindgen(js_name = volumeData)]
    pub fn volume_data(&self) -> Result<js_sys::Int16Array, JsError> {
        Ok(js_sys::Int16Array::from(&self.current()?.volume.data[..]))
    }

    /// Iso-surface preview of the current study at `iso_hu`:
    /// `{ positions: Float32Array, normals: Float32Array, indices: Uint32Array }` in patient mm.
    #[wasm_bindgen(js_name = previewSurface)]
    pub fn preview_surface(&mut self, iso_hu: f64) -> Result<js_sys::Object, JsError> {
        // The CT table would hide the bones in the preview: leave it out. The table's
        // voxels are set to air in place and restored afterwards (a copy of the whole
        // volume would double the worker's memory for a large study).
        let volume = &mut self.study.as_mut().ok_or_else(no_study)?.volume;
        let table = crate::segment::table::table_footprint(volume, iso_hu.round() as i16);
        let cells: Vec<usize> = (0..table.len()).filter(|&p| table[p]).collect();
        let plane = table.len().max(1);
        let mut saved = Vec::with_capacity(cells.len() * volume.dims[2]);
        for slice in volume.data.chunks_exact_mut(plane) {
            for &p in &cells {
                saved.push(slice[p]);
                slice[p] = -1000;
            }
        }
        let mesh = iso_surface_preview(
            volume,
            &PreviewParams {
                iso_hu,
                ..PreviewParams::default()
            },
        );
        let mut old = saved.into_iter();
        for slice in volume.data.chunks_exact_mut(plane) {
            for &p in &cells {
                slice[p] = old.next().unwrap_or(slice[p]);
            }
        }
        let out = js_sys::Object::new();
        let set =
            |k: &str, v: JsValue| js_sys::Reflect::set(&out, &JsValue::from_str(k), &v).map(|_| ());
        set(
            "positions",
            js_sys::Float32Array::from(&mesh.positions_mm[..]).into(),
        )
        .and_then(|_| {
            set(
                "normals",
                js_sys::Float32Array::from(&mesh.normals[..]).into(),
            )
        })
        .and_then(|_| {
            set(
                "indices",
                js_sys::Uint32Array::from(&mesh.indices[..]).into(),
            )
        })
        .map_err(|_| JsError::new("could not build the surface object"))?;
        Ok(out)
    }
}

/// Segmentation state the page shows after every operation.
#[derive(Serialize)]
struct SegReport<'a> {
    parts: &'a [PartInfo],
    ops: &'a [Op],
    threshold: Threshold,
    can_undo: bool,
    can_redo: bool,
}

/// One calculated part surface, as sent to the page.
#[derive(Serialize)]
struct SurfaceInfo {
    label: u8,
    triangles: usize,
    volume_mm3: f64,
    area_mm2: f64,
    sha256: String,
}

#[wasm_bindgen]
impl Session {
    /// Applies one design operation (`{op: "auto_bones", ...}`); on error nothing changes.
    /// Returns the segmentation report.
    #[wasm_bindgen(js_name = applyOp)]
    pub fn apply_op(&mut self, op: JsValue) -> Result<JsValue, JsError> {
        let op: Op = serde_wasm_bindgen::from_value(op)
            .map_err(|e| JsError::new(&format!("not a design operation: {e}")))?;
        self.apply_tracked(op, &mut NoProgress)?;
        self.undone.clear();
        self.surfaces.clear();
        self.seg_report()
    }

    /// Replays a whole op log (from a design link) on the current study.
    #[wasm_bindgen(js_name = replayOps)]
    pub fn replay_ops(&mut self, ops: JsValue) -> Result<JsValue, JsError> {
        let ops: Vec<Op> = serde_wasm_bindgen::from_value(ops)
            .map_err(|e| JsError::new(&format!("the design's operations are not valid: {e}")))?;
        let ops: Vec<Op> = ops
            .into_iter()
            .filter(|o| !matches!(o, Op::OpenDemo { .. } | Op::LoadSeries))
            .collect();
        let ct = &self.current()?.volume;
        let seg = replay(ct, &ops).map_err(|(n, e)| {
            JsError::new(&format!("operation {} of the design failed: {e}", n + 1))
        })?;
        let seg_dims = ct.dims;
        self.seg = Some(seg);
        self.ops = ops;
        self.undone.clear();
        self.records.clear();
        self.surfaces.clear();
        self.dirty = label_delta::full_box(seg_dims);
        self.seg_report()
    }

    /// Undoes the last operation: writes back what it changed when its undo record is
    /// kept, else replays the design without it.
    pub fn undo(&mut self) -> Result<JsValue, JsError> {
        let op = self
            .ops
            .pop()
            .ok_or_else(|| JsError::new("nothing to undo"))?;
        let at = self.ops.len();
        while self.records.last().is_some_and(|r| r.at > at) {
            self.records.pop();
        }
        let record = match self.records.last() {
            Some(r) if r.at == at && r.op == op => self.records.pop(),
            _ => None,
        };
        let kept = op.is_mesh_op().then(|| std::mem::take(&mut self.surfaces));
        self.undone.push(op);
        let report = match (record, self.seg.as_mut()) {
            (Some(r), Some(seg)) => {
                let written = r.delta.revert(seg);
                self.mark_dirty(written);
                self.surfaces.clear();
                self.seg_report()
            }
            _ => self.rebuild(),
        };
        self.surfaces = kept.unwrap_or_default();
        report
    }

    /// Redoes the last undone operation.
    pub fn redo(&mut self) -> Result<JsValue, JsError> {
        let op = self
            .undone
            .pop()
            .ok_or_else(|| JsError::new("nothing to redo"))?;
        let mesh_op = op.is_mesh_op();
        if let Err(e) = self.apply_tracked(op.clone(), &mut NoProgress) {
            self.undone.push(op);
            return Err(e);
        }
        if !mesh_op {
            self.surfaces.clear();
        }
        self.seg_report()
    }

    /// The labels changed since the last call, for the page's copy: `{ min: [i, j, k],
    /// size: [ni, nj, nk], data: Uint8Array }` (the box's labels, `i` fastest), or `null`
    /// when nothing changed. After a replay the box is the whole volume.
    #[wasm_bindgen(js_name = labelPatch)]
    pub fn label_patch(&mut self) -> Result<JsValue, JsError> {
        let (Some(b), Some(seg)) = (self.dirty.take(), &self.seg) else {
            return Ok(JsValue::NULL);
        };
        let data = if label_delta::full_box(seg.labels.dims) == Some(b) {
            js_sys::Uint8Array::from(&seg.labels.data[..])
        } else {
            js_sys::Uint8Array::from(&label_delta::extract(&seg.labels, &b)[..])
        };
        let out = js_sys::Object::new();
        let size = b.dims();
        let set =
            |k: &str, v: JsValue| js_sys::Reflect::set(&out, &JsValue::from_str(k), &v).map(|_| ());
        set("min", to_js(&b.min)?)
            .and_then(|_| set("size", to_js(&size).unwrap_or(JsValue::NULL)))
            .and_then(|_| set("data", data.into()))
            .map_err(|_| JsError::new("could not build the label patch"))?;
        Ok(out.into())
    }

    /// SHA-256 of the whole label volume (as `osteon replay` prints it), computed on
    /// request only: it reads every voxel.
    #[wasm_bindgen(js_name = labelsSha256)]
    pub fn labels_sha256(&self) -> Result<String, JsError> {
        let ct = &self.current()?.volume;
        Ok(match &self.seg {
            Some(seg) => labels_sha256_hex(&seg.labels),
            None => labels_sha256_hex(&Segmentation::empty(ct).labels),
        })
    }

    /// "Calculate parts": one watertight surface per part at `iso_hu`, kept for export.
    /// Returns `{ parts: [{label, triangles, volume_mm3, area_mm2, sha256}], positions,
    /// indices, vertex_counts, index_counts }` with the meshes concatenated.
    #[wasm_bindgen(js_name = calculateParts)]
    pub fn calculate_parts(&mut self, iso_hu: f64) -> Result<js_sys::Object, JsError> {
        let ct = &self.current()?.volume;
        let seg = self
            .seg
            .as_ref()
            .filter(|s| !s.parts.is_empty())
            .ok_or_else(|| {
                JsError::new(
                    "there are no parts yet: use Auto bones or grow a bone from a seed first",
                )
            })?;
        let surfaces: Vec<(u8, Mesh)> = crate::design::outputs::part_meshes(ct, seg, iso_hu)
            .map_err(|e| JsError::new(&e))?
            .into_iter()
            .map(|p| (p.label, p.mesh))
            .collect();
        let mut infos = Vec::with_capacity(surfaces.len());
        for (label, mesh) in &surfaces {
            let (volume_mm3, area_mm2) = crate::mesh::measure::volume_and_area(mesh)
                .map_err(|e| JsError::new(&e.to_string()))?;
            infos.push(SurfaceInfo {
                label: *label,
                triangles: mesh.triangles.len(),
                volume_mm3,
                area_mm2,
                sha256: mesh_sha256(mesh),
            });
        }
        let out = super::flat_meshes(surfaces.iter().map(|(_, m)| m))?;
        self.surfaces = surfaces;
        let set =
            |k: &str, v: JsValue| js_sys::Reflect::set(&out, &JsValue::from_str(k), &v).map(|_| ());
        set("parts", to_js(&infos)?)
            .map_err(|_| JsError::new("could not build the parts object"))?;
        Ok(out)
    }

    /// Binary STL of the calculated part `label` (patient mm).
    #[wasm_bindgen(js_name = exportStl)]
    pub fn export_stl(&self, label: u8) -> Result<Vec<u8>, JsError> {
        let (_, mesh) = self
            .surfaces
            .iter()
            .find(|(l, _)| *l == label)
            .ok_or_else(|| JsError::new("calculate the parts first"))?;
        crate::mesh::io::write_stl_binary(mesh, "Osteon part (patient mm)")
            .map_err(|e| JsError::new(&e.to_string()))
    }

    /// All calculated parts in one 3MF file, one named object each.
    #[wasm_bindgen(js_name = export3mf)]
    pub fn export_3mf(&self) -> Result<Vec<u8>, JsError> {
        let seg = self
            .seg
            .as_ref()
            .ok_or_else(|| JsError::new("there are no parts yet"))?;
        if self.surfaces.is_empty() {
            return Err(JsError::new("calculate the parts first"));
        }
        crate::mesh::io::write_3mf(&named_surfaces(seg, &self.surfaces))
            .map_err(|e| JsError::new(&e.to_string()))
    }
}

/// The calculated part surfaces with their part names, for a 3MF with named objects.
pub(super) fn named_surfaces<'a>(
    seg: &'a Segmentation,
    surfaces: &'a [(u8, Mesh)],
) -> Vec<(&'a str, &'a Mesh)> {
    surfaces
        .iter()
        .map(|(l, m)| {
            let name = seg.parts.iter().find(|p| p.label == *l);
            (name.map(|p| p.name.as_str()).unwrap_or("part"), m)
        })
        .collect()
}

fn no_study() -> JsError {
    JsError::new("no study loaded: open the demo study or drop a DICOM folder")
}

fn mesh_sha256(mesh: &Mesh) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in &mesh.positions_mm {
        for c in p {
            h.update(c.to_le_bytes());
        }
    }
    for t in &mesh.triangles {
        for v in t {
            h.update(v.to_le_bytes());
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl Session {
    fn reset_design(&mut self) {
        self.ops.clear();
        self.undone.clear();
        self.records.clear();
        self.dirty = None;
        self.seg = None;
        self.surfaces.clear();
    }

    /// Applies `op`, appends it to the op log with its undo record and marks the labels it
    /// changed for the page. On error nothing changes.
    pub(super) fn apply_tracked(
        &mut self,
        op: Op,
        progress: &mut dyn Progress,
    ) -> Result<(), JsError> {
        let ct = &self.study.as_ref().ok_or_else(no_study)?.volume;
        let seg = self.seg.get_or_insert_with(|| Segmentation::empty(ct));
        let delta =
            apply_tracked(ct, seg, &op, progress).map_err(|e| JsError::new(&e.to_string()))?;
        let changed = delta.region.as_ref().map(|r| r.0);
        let budget = UNDO_BUDGET_LABELS * seg.labels.data.len();
        self.mark_dirty(changed);
        let at = self.ops.len();
        self.ops.push(op.clone());
        self.records.retain(|r| r.at < at);
        self.records.push(UndoRecord { at, op, delta });
        // Oldest records go first; their ops are undone by replaying.
        let mut total: usize = self.records.iter().map(|r| r.delta.bytes()).sum();
        while total > budget && !self.records.is_empty() {
            total -= self.records.remove(0).delta.bytes();
        }
        // Print states (sliced jobs) and mesh stores can be large and are not in the byte
        // count: keep the newest few; older ops are undone by replaying.
        for (keeps, most) in [
            (
                (|r: &UndoRecord| r.delta.print.is_some()) as fn(&UndoRecord) -> bool,
                UNDO_PRINT_STATES,
            ),
            (|r: &UndoRecord| r.delta.meshes.is_some(), UNDO_MESH_STATES),
        ] {
            while self.records.iter().filter(|r| keeps(r)).count() > most {
                if let Some(i) = self.records.iter().position(keeps) {
                    self.records.remove(i);
                }
            }
        }
        Ok(())
    }

    fn mark_dirty(&mut self, b: Option<VoxelBox>) {
        if let Some(b) = b {
            self.dirty = Some(self.dirty.map_or(b, |d| d.union(b)));
        }
    }

    fn rebuild(&mut self) -> Result<JsValue, JsError> {
        let ct = &self.current()?.volume;
        let seg = replay(ct, &self.ops).map_err(|(n, e)| {
            JsError::new(&format!("operation {} failed on replay: {e}", n + 1))
        })?;
        // Older records stay valid: a replay gives the same labels bit for bit.
        self.dirty = label_delta::full_box(ct.dims);
        self.seg = Some(seg);
        self.surfaces.clear();
        self.seg_report()
    }

    pub(super) fn seg_report(&self) -> Result<JsValue, JsError> {
        let ct = &self.current()?.volume;
        let empty;
        let seg = match &self.seg {
            Some(s) => s,
            None => {
                empty = Segmentation::empty(ct);
                &empty
            }
        };
        to_js(&SegReport {
            parts: &seg.parts,
            ops: &self.ops,
            threshold: seg.threshold,
            can_undo: !self.ops.is_empty(),
            can_redo: !self.undone.is_empty(),
        })
    }

    pub(super) fn current(&self) -> Result<&LoadedSeries, JsError> {
        self.study.as_ref().ok_or_else(|| {
            JsError::new("no study loaded: open the demo study or drop a DICOM folder")
        })
    }

    fn file_bytes(&self) -> Vec<FileBytes<'_>> {
        self.files
            .iter()
            .map(|(n, b)| FileBytes { name: n, bytes: b })
            .collect()
    }
}
