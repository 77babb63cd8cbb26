//! Worker-side handle: files in, volume and surfaces out.

use super::to_js;
use crate::demo::{self, DemoParams};
use crate::dicom::{self, FileBytes, LoadedSeries, ReadOptions, Scan, SeriesReader};
use crate::surface::preview::{iso_surface_preview, PreviewParams};
use crate::volume::sha256_hex;
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
    files: Vec<(String, Vec<u8>)>,
    scan: Option<Scan>,
    reader: Option<SeriesReader>,
    study: Option<LoadedSeries>,
    study_source: &'static str,
    bones: Vec<demo::BoneInfo>,
    focus_voxel: Option<[usize; 3]>,
}

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
            reader: None,
            study: None,
            study_source: "",
            bones: Vec::new(),
            focus_voxel: None,
        }
    }

    /// Forgets the dropped files (not the loaded study).
    #[wasm_bindgen(js_name = clearFiles)]
    pub fn clear_files(&mut self) {
        self.files.clear();
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
    pub fn preview_surface(&self, iso_hu: f64) -> Result<js_sys::Object, JsError> {
        // The CT table would hide the bones in the preview: leave it out.
        let volume = &self.current()?.volume;
        let without_table =
            crate::segment::table::without_table(volume, iso_hu.round() as i16, -1000);
        let mesh = iso_surface_preview(
            without_table.as_ref().unwrap_or(volume),
            &PreviewParams {
                iso_hu,
                ..PreviewParams::default()
            },
        );
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

impl Session {
    fn current(&self) -> Result<&LoadedSeries, JsError> {
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
