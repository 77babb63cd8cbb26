//! Reading CT series from DICOM bytes: scan headers, group into series, sort slices
//! along the slice normal, decode to Hounsfield units, regularise the grid and check
//! the protocol (QA).
//!
//! Units and spaces: positions and directions are DICOM patient coordinates (LPS) in
//! millimetres; voxel values are Hounsfield units (i16). Pixel spacings given as
//! `[f64; 2]` follow the DICOM PixelSpacing order: `[between rows, between columns]`
//! (i.e. `[along j, along i]` of the volume).
//!
//! Flow: [`expand_archives`] → [`scan`] (headers only matter, every file gets a series
//! or a [`FileError`]) → [`SeriesReader`] (incremental, cancellable) or [`read_series`].
//! Nothing here panics on input data; unusable files become [`FileError`]s and the
//! rest of the series still loads.
// Input-derived data never reaches unwrap/expect here (tests may use them).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod archive;
mod decode;
mod lengths;
mod parse;
pub mod qa;
mod resample;
mod series;
pub mod write;

use serde::Serialize;

use crate::progress::Progress;
use crate::volume::{affine_from_directions, Volume};

pub use archive::{
    expand_archives, MAX_ENTRY_BYTES as MAX_ZIP_ENTRY_BYTES,
    MAX_EXPANDED_BYTES as MAX_ZIP_TOTAL_BYTES,
};
pub use lengths::MAX_SEQUENCE_DEPTH;
pub use parse::{MAX_FRAMES, MAX_INFLATED_DATASET_BYTES};
pub use qa::{check, QaLine, QaReport, QaStatus};
pub use write::{write_ct_series, WriteMeta};

use decode::AIR_HU;
use parse::FileHeader;
use resample::TargetGrid;
use series::{Group, StackPlan};

/// One input file: its display name (path inside the drop or archive) and its bytes.
#[derive(Clone, Copy, Debug)]
pub struct FileBytes<'a> {
    pub name: &'a str,
    pub bytes: &'a [u8],
}

/// Why one file could not be used, in plain words.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FileError {
    pub name: String,
    pub reason: String,
}

/// Errors that stop a series from loading. Messages say what is wrong and what to do.
#[derive(thiserror::Error, Debug)]
pub enum DicomError {
    #[error("there is no series number {id} (the scan found {count}); scan the files again")]
    NoSuchSeries { id: usize, count: usize },
    #[error(
        "the file {file} has no PixelSpacing, so the pixel size is unknown; enter the pixel \
         size in mm (row and column spacing) and load again"
    )]
    MissingPixelSpacing { file: String },
    #[error("the slices cannot be placed in space: {reason}")]
    MissingGeometry { reason: String },
    #[error(
        "the image is {cols} × {rows} pixels, more than the limit of {limit} per side \
         (dicom::MAX_SIDE); this is not a CT slice or the header is damaged"
    )]
    ImageTooLarge {
        rows: usize,
        cols: usize,
        limit: usize,
    },
    #[error(
        "the series needs {voxels} voxels, more than the limit of {limit} \
         (ReadOptions.max_voxels); raise max_voxels if the device has enough memory, or \
         export a cropped or thinner series"
    )]
    TooManyVoxels { voxels: usize, limit: usize },
    #[error(
        "not enough memory for {bytes} bytes of voxels; close other tabs or load a smaller series"
    )]
    OutOfMemory { bytes: usize },
    #[error(
        "the file list differs from the one that was scanned ({detail}); scan the files again"
    )]
    FilesChanged { detail: String },
    #[error("no slice of the series could be decoded; first problem: {first_error}")]
    NoSliceDecoded { first_error: String },
    #[error("loading was cancelled")]
    Cancelled,
    #[error("cannot write DICOM: {0}")]
    Write(String),
}

/// Short description of one series found by [`scan`].
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SeriesSummary {
    /// Index into [`Scan::series`], used by [`SeriesReader::new`].
    pub id: usize,
    pub description: String,
    pub modality: String,
    pub cols: usize,
    pub rows: usize,
    /// Distinct slice positions (duplicates not counted).
    pub slices: usize,
    /// DICOM PixelSpacing `[between rows, between columns]`, mm.
    pub pixel_spacing_mm: Option<[f64; 2]>,
    /// Median distance between slices along the normal, mm (`None` for one slice).
    pub slice_spacing_mm: Option<f64>,
    pub kvp: Option<f64>,
    /// Scout / localizer: the UI hides these.
    pub is_localizer: bool,
    pub file_count: usize,
    /// Transfer syntax name and UID of the first file.
    pub transfer_syntax: String,
}

/// Result of [`scan`]: series found, per-file problems, and private header data.
#[derive(Clone, Debug)]
pub struct Scan {
    pub series: Vec<SeriesSummary>,
    pub errors: Vec<FileError>,
    names: Vec<String>,
    headers: Vec<Option<FileHeader>>,
    groups: Vec<Group>,
    plans: Vec<Result<StackPlan, String>>,
}

/// Options for reading a series.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// Largest number of voxels to allocate (source stack or resampled grid). Default 1.1e9.
    pub max_voxels: usize,
    /// Pixel size to use when the files have no PixelSpacing, DICOM order
    /// `[between rows, between columns]`, mm. Default `None` (refuse to guess).
    pub assume_pixel_spacing_mm: Option<[f64; 2]>,
    /// Resample a gantry-tilted stack onto a grid orthogonal to the slices. Default true.
    pub resample_tilt: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            max_voxels: 1_100_000_000,
            assume_pixel_spacing_mm: None,
            resample_tilt: true,
        }
    }
}

/// Geometry facts of a loaded series (mm, degrees).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct GeometryReport {
    /// Distance between slices of the loaded volume along the normal, mm.
    pub slice_spacing_mm: f64,
    /// Smallest and largest distance between source slices, mm.
    pub min_gap_mm: f64,
    pub max_gap_mm: f64,
    /// Source spacing varies by more than 1 % of the median.
    pub uneven: bool,
    /// Slices dropped because another slice had the same position.
    pub duplicates: usize,
    /// Slices missing from the stack (gaps > 1.5 × median, plus undecodable slices), filled by interpolation.
    pub missing_slices: usize,
    /// Angle between the stacking direction and the slice normal, degrees.
    pub tilt_deg: f64,
    /// The volume was resampled onto a regular grid (uneven, gaps or tilt).
    pub resampled: bool,
    /// The slice spacing was not known (single slice without SliceThickness) and 1 mm was assumed.
    pub spacing_assumed: bool,
}

/// A loaded series: HU volume in patient space plus reports.
#[derive(Clone, Debug)]
pub struct LoadedSeries {
    pub volume: Volume<i16>,
    pub summary: SeriesSummary,
    pub geometry: GeometryReport,
    pub qa: QaReport,
    pub file_errors: Vec<FileError>,
}

/// Largest Rows or Columns accepted (CT slices are 512 or 1024). Raise it here for
/// micro-CT detectors larger than 8192 pixels.
pub const MAX_SIDE: usize = 8192;
const TILT_LIMIT_DEG: f64 = 0.1;

/// Parse the header of every file and group the frames into series.
pub fn scan(files: &[FileBytes]) -> Scan {
    let mut b = ScanBuilder::default();
    for f in files {
        b.add(f);
    }
    b.finish()
}

/// [`scan`] one file at a time, so a caller can keep the file bytes elsewhere (the
/// browser worker keeps them in JavaScript and hands each file to wasm only while it is
/// parsed or decoded, so the dropped files never sit in wasm memory next to the volume).
#[derive(Default)]
pub struct ScanBuilder {
    names: Vec<String>,
    headers: Vec<Option<FileHeader>>,
    errors: Vec<FileError>,
}

impl ScanBuilder {
    /// Parses one file's header (its bytes are not kept).
    pub fn add(&mut self, f: &FileBytes) {
        let h = parse::parse_header(f.bytes).and_then(|p| parse::extract_header(&p));
        match h {
            Ok(h) => self.headers.push(Some(h)),
            Err(reason) => {
                self.errors.push(FileError {
                    name: f.name.to_string(),
                    reason,
                });
                self.headers.push(None);
            }
        }
        self.names.push(f.name.to_string());
    }

    /// Groups the parsed files into series.
    pub fn finish(self) -> Scan {
        scan_headers(self.names, self.headers, self.errors)
    }
}

fn scan_headers(
    names: Vec<String>,
    headers: Vec<Option<FileHeader>>,
    errors: Vec<FileError>,
) -> Scan {
    let groups = series::group_frames(&headers);
    let mut series = Vec::with_capacity(groups.len());
    let mut plans = Vec::with_capacity(groups.len());
    for (id, g) in groups.iter().enumerate() {
        let plan = plan_group(&headers, g);
        let Some(h0) = g.frames.first().and_then(|(fi, _)| headers[*fi].as_ref()) else {
            continue;
        };
        let geom0 = g
            .frames
            .first()
            .and_then(|(fi, f)| frame_geom(&headers, *fi, *f));
        let mut file_ids: Vec<usize> = g.frames.iter().map(|f| f.0).collect();
        file_ids.dedup();
        file_ids.sort_unstable();
        file_ids.dedup();
        let kvp = g
            .frames
            .iter()
            .find_map(|(fi, _)| headers[*fi].as_ref().and_then(|h| h.kvp));
        let (slices, spacing) = match &plan {
            Ok(p) => (p.slices.len(), p.median_gap_mm),
            Err(_) => (g.frames.len(), None),
        };
        series.push(SeriesSummary {
            id,
            description: h0.description.clone(),
            modality: h0.modality.clone(),
            cols: h0.cols,
            rows: h0.rows,
            slices,
            pixel_spacing_mm: geom0.and_then(|g| g.pixel_spacing),
            slice_spacing_mm: spacing,
            kvp,
            is_localizer: g.is_localizer,
            file_count: file_ids.len(),
            transfer_syntax: parse::ts_display(&h0.ts_uid),
        });
        plans.push(plan);
    }
    Scan {
        series,
        errors,
        names,
        headers,
        groups,
        plans,
    }
}

fn frame_geom(headers: &[Option<FileHeader>], fi: usize, f: u32) -> Option<&parse::FrameGeom> {
    headers.get(fi)?.as_ref()?.frames.get(f as usize)
}

fn plan_group(headers: &[Option<FileHeader>], g: &Group) -> Result<StackPlan, String> {
    let mut positions = Vec::with_capacity(g.frames.len());
    for (fi, f) in &g.frames {
        match frame_geom(headers, *fi, *f).and_then(|x| x.position) {
            Some(p) => positions.push(p),
            None if g.frames.len() == 1 => positions.push([0.0; 3]),
            None => {
                return Err(
                    "some slices have no ImagePositionPatient, so they cannot be ordered; \
                     re-export the series with full geometry"
                        .to_string(),
                )
            }
        }
    }
    Ok(series::plan_stack(&g.frames, &positions, &g.orientation))
}

impl Scan {
    /// Series that are not scouts/localizers (what the UI offers).
    pub fn volume_series(&self) -> impl Iterator<Item = &SeriesSummary> {
        self.series.iter().filter(|s| !s.is_localizer)
    }
}

/// Incremental reader of one series: create, call [`decode_next`](Self::decode_next)
/// until `done() == total()`, then [`finish`](Self::finish).
pub struct SeriesReader {
    summary: SeriesSummary,
    plan: StackPlan,
    headers: Vec<Option<FileHeader>>,
    names: Vec<String>,
    orientation: [f64; 6],
    /// DICOM order [between rows, between columns], mm.
    pixel_spacing: [f64; 2],
    grid: TargetGrid,
    need_resample: bool,
    spacing_assumed: bool,
    stack: Vec<i16>,
    failed: Vec<bool>,
    failed_files: Vec<usize>,
    file_errors: Vec<FileError>,
    done: usize,
    cache: Option<(usize, decode::DecodableFile)>,
}

fn alloc_i16(n: usize) -> Result<Vec<i16>, DicomError> {
    let mut v: Vec<i16> = Vec::new();
    v.try_reserve_exact(n)
        .map_err(|_| DicomError::OutOfMemory {
            bytes: n.saturating_mul(2),
        })?;
    v.resize(n, AIR_HU);
    Ok(v)
}

impl SeriesReader {
    /// Validate geometry and limits, then allocate the slice stack.
    pub fn new(
        scan: &Scan,
        series_id: usize,
        opts: &ReadOptions,
    ) -> Result<SeriesReader, DicomError> {
        let count = scan.series.len();
        let summary = scan
            .series
            .get(series_id)
            .cloned()
            .ok_or(DicomError::NoSuchSeries {
                id: series_id,
                count,
            })?;
        let group = &scan.groups[summary.id];
        let plan = match &scan.plans[summary.id] {
            Ok(p) => p.clone(),
            Err(reason) => {
                return Err(DicomError::MissingGeometry {
                    reason: reason.clone(),
                })
            }
        };
        let (rows, cols) = (summary.rows, summary.cols);
        if rows > MAX_SIDE || cols > MAX_SIDE {
            return Err(DicomError::ImageTooLarge {
                rows,
                cols,
                limit: MAX_SIDE,
            });
        }
        let n_src = plan.slices.len();
        if n_src == 0 {
            return Err(DicomError::MissingGeometry {
                reason: "the series has no slice".into(),
            });
        }
        let first = plan.slices[0].frame;
        let geom0 = frame_geom(&scan.headers, first.0, first.1)
            .cloned()
            .unwrap_or_default();
        let tilted = plan.tilt_deg > TILT_LIMIT_DEG;
        let mut spacing_assumed = false;
        let (grid, need_resample) = if n_src == 1 {
            let s = match geom0.slice_thickness {
                Some(t) => t,
                None => {
                    spacing_assumed = true;
                    1.0
                }
            };
            (
                TargetGrid {
                    n: 1,
                    spacing_mm: s,
                    shear: [0.0; 2],
                },
                false,
            )
        } else {
            let last = &plan.slices[n_src - 1];
            let span = last.d_mm;
            let shear = if tilted && !opts.resample_tilt {
                [last.offset_mm[0] / span, last.offset_mm[1] / span]
            } else {
                [0.0; 2]
            };
            let need = plan.uneven || plan.missing > 0 || (tilted && opts.resample_tilt);
            let m = plan.median_gap_mm.unwrap_or(span / (n_src - 1) as f64);
            if need {
                // Slice count of the regular grid, bounded before any allocation: a
                // crafted gap (tiny or not finite) must not overflow or reach the allocator.
                let n_f = (span / m).round() + 1.0;
                let limit = opts.max_voxels / (rows * cols).max(1);
                if !n_f.is_finite() || n_f < 1.0 || n_f > limit as f64 {
                    return Err(DicomError::TooManyVoxels {
                        voxels: if n_f.is_finite() && n_f >= 1.0 {
                            (n_f as usize).saturating_mul(rows * cols)
                        } else {
                            usize::MAX
                        },
                        limit: opts.max_voxels,
                    });
                }
                let n = n_f as usize;
                (
                    TargetGrid {
                        n,
                        spacing_mm: m,
                        shear,
                    },
                    true,
                )
            } else {
                (
                    TargetGrid {
                        n: n_src,
                        spacing_mm: span / (n_src - 1) as f64,
                        shear,
                    },
                    false,
                )
            }
        };
        let plane = rows * cols;
        let voxels = plane.saturating_mul(n_src.max(grid.n));
        if voxels > opts.max_voxels {
            return Err(DicomError::TooManyVoxels {
                voxels,
                limit: opts.max_voxels,
            });
        }
        let pixel_spacing = match geom0.pixel_spacing.or(opts.assume_pixel_spacing_mm) {
            Some(p) if p[0] > 0.0 && p[1] > 0.0 && p[0].is_finite() && p[1].is_finite() => p,
            _ => {
                let file = scan.names.get(first.0).cloned().unwrap_or_default();
                return Err(DicomError::MissingPixelSpacing { file });
            }
        };
        let stack = alloc_i16(plane * n_src)?;
        Ok(SeriesReader {
            summary,
            plan,
            headers: scan.headers.clone(),
            names: scan.names.clone(),
            orientation: group.orientation,
            pixel_spacing,
            grid,
            need_resample,
            spacing_assumed,
            stack,
            failed: vec![false; n_src],
            failed_files: Vec::new(),
            file_errors: Vec::new(),
            done: 0,
            cache: None,
        })
    }

    /// Number of slices (frames) to decode.
    pub fn total(&self) -> usize {
        self.plan.slices.len()
    }

    /// Number of slices decoded so far.
    pub fn done(&self) -> usize {
        self.done
    }

    /// Decode up to `max_slices` more slices into the stack; returns how many were
    /// processed. A slice whose file fails becomes a [`FileError`] and is later filled
    /// by interpolation.
    pub fn decode_next(
        &mut self,
        files: &[FileBytes],
        max_slices: usize,
    ) -> Result<usize, DicomError> {
        if files.len() != self.names.len() {
            return Err(DicomError::FilesChanged {
                detail: format!("{} files now, {} scanned", files.len(), self.names.len()),
            });
        }
        let end = (self.done + max_slices).min(self.total());
        let start = self.done;
        for s in start..end {
            let fi = self.plan.slices[s].frame.0;
            if files[fi].name != self.names[fi] {
                return Err(DicomError::FilesChanged {
                    detail: format!("file {} is now {}", self.names[fi], files[fi].name),
                });
            }
        }
        self.decode_runs(|fi| files[fi], end);
        if self.done == self.total() {
            self.cache = None;
        }
        Ok(end - start)
    }

    /// Index (in scan order) of the file the next slice comes from; `None` when every
    /// slice is done.
    pub fn next_file(&self) -> Option<usize> {
        self.plan.slices.get(self.done).map(|s| s.frame.0)
    }

    /// Like [`decode_next`](Self::decode_next) with only the bytes of file
    /// [`next_file`](Self::next_file): decodes up to `max_slices` consecutive slices
    /// that come from that file; returns how many.
    pub fn decode_next_from(
        &mut self,
        file: &FileBytes,
        max_slices: usize,
    ) -> Result<usize, DicomError> {
        self.decode_next_from_files(std::slice::from_ref(file), max_slices)
    }

    /// Files (scan order) the next `max_slices` slices come from, each once, in slice order.
    pub fn next_files(&self, max_slices: usize) -> Vec<usize> {
        let end = (self.done + max_slices.max(1)).min(self.total());
        let mut out: Vec<usize> = Vec::new();
        for s in &self.plan.slices[self.done..end] {
            if !out.contains(&s.frame.0) {
                out.push(s.frame.0);
            }
        }
        out
    }

    /// Like [`decode_next`](Self::decode_next) with only the bytes of the files
    /// [`next_files`](Self::next_files) named, in that order: decodes up to `max_slices`
    /// slices, stopping at the first that needs a file not given; returns how many.
    pub fn decode_next_from_files(
        &mut self,
        files: &[FileBytes],
        max_slices: usize,
    ) -> Result<usize, DicomError> {
        if self.next_file().is_none() {
            return Ok(0);
        }
        let expected = self.next_files(max_slices);
        for (n, file) in files.iter().enumerate() {
            let want = expected.get(n).and_then(|&fi| self.names.get(fi));
            if want.map(String::as_str) != Some(file.name) {
                return Err(DicomError::FilesChanged {
                    detail: format!(
                        "expected file {}, got {}",
                        want.map(String::as_str).unwrap_or("?"),
                        file.name
                    ),
                });
            }
        }
        let given = &expected[..files.len()];
        let start = self.done;
        let mut end = start;
        while end < self.total()
            && end - start < max_slices.max(1)
            && given.contains(&self.plan.slices[end].frame.0)
        {
            end += 1;
        }
        let file_of = |fi: usize| {
            let n = given.iter().position(|&g| g == fi).unwrap_or(0);
            files[n]
        };
        self.decode_runs(file_of, end);
        // The decoded-file cache holds one file's parse: drop it when that file is done.
        if self.cache.as_ref().map(|c| c.0) != self.next_file() {
            self.cache = None;
        }
        Ok(end - start)
    }

    /// Decodes slices `done..end`, `file_of(fi)` giving file `fi`'s bytes. Each run of
    /// consecutive slices from one file is a unit of work (the file is parsed once per
    /// run; one run per thread with `parallel`); then the slices are booked in order, as
    /// one slice-by-slice pass would: once a file fails, its later slices fail too.
    fn decode_runs<'f>(&mut self, file_of: impl Fn(usize) -> FileBytes<'f> + Sync, end: usize) {
        let start = self.done;
        let plane = self.summary.rows * self.summary.cols;
        let slices = &self.plan.slices;
        let (headers, failed_files) = (&self.headers, &self.failed_files);
        let mut units = Vec::new();
        let mut rest = &mut self.stack[start * plane..end * plane];
        let mut cache = self.cache.take();
        let mut s = start;
        while s < end {
            let fi = slices[s].frame.0;
            let e = (s..end).find(|&e| slices[e].frame.0 != fi).unwrap_or(end);
            let (out, tail) = std::mem::take(&mut rest).split_at_mut((e - s) * plane);
            rest = tail;
            // A file's parse carries over from the previous call to the run that continues it.
            let held = cache.take_if(|c| c.0 == fi);
            units.push((s..e, fi, out, held));
            s = e;
        }
        let decoded = crate::parallel::map_vec(units, |(run, fi, out, mut held)| {
            let file = file_of(fi);
            let mut outcomes: Vec<Option<Result<(), String>>> = Vec::with_capacity(run.len());
            let mut ok = !failed_files.contains(&fi);
            for (s, out) in run.zip(out.chunks_mut(plane.max(1))) {
                if !ok {
                    outcomes.push(None); // the file failed already
                    continue;
                }
                let r = decode_slice(headers, &file, fi, slices[s].frame.1, out, &mut held);
                ok = r.is_ok();
                outcomes.push(Some(r));
            }
            (outcomes, held)
        });
        for (s, outcome) in (start..end).zip(decoded.iter().flat_map(|d| &d.0)) {
            let fi = slices[s].frame.0;
            if self.failed_files.contains(&fi) {
                self.failed[s] = true;
            } else if let Some(Err(reason)) = outcome {
                self.failed[s] = true;
                self.failed_files.push(fi);
                self.file_errors.push(FileError {
                    name: file_of(fi).name.to_string(),
                    reason: reason.clone(),
                });
            }
        }
        self.cache = decoded.into_iter().next_back().and_then(|d| d.1);
        self.done = end;
    }

    /// Regularise the grid (gaps, uneven spacing, tilt), build the volume and run QA.
    pub fn finish(mut self) -> Result<LoadedSeries, DicomError> {
        // Undecoded slices (not reached, or failed) are dropped and filled by interpolation.
        for s in self.done..self.total() {
            self.failed[s] = true;
        }
        let n_failed = self.failed.iter().filter(|f| **f).count();
        let (rows, cols) = (self.summary.rows, self.summary.cols);
        let plane = rows * cols;
        let mut slices = self.plan.slices.clone();
        let mut stack = std::mem::take(&mut self.stack);
        let mut need_resample = self.need_resample;
        if n_failed > 0 {
            if n_failed == slices.len() {
                let first_error = self
                    .file_errors
                    .first()
                    .map(|e| format!("{}: {}", e.name, e.reason))
                    .unwrap_or_else(|| "no slice was decoded".into());
                return Err(DicomError::NoSliceDecoded { first_error });
            }
            let mut kept_slices = Vec::new();
            let mut w = 0;
            for (s, sl) in slices.iter().enumerate() {
                if !self.failed[s] {
                    stack.copy_within(s * plane..(s + 1) * plane, w * plane);
                    kept_slices.push(sl.clone());
                    w += 1;
                }
            }
            stack.truncate(w * plane);
            // Re-base distances/offsets on the first kept slice; keep the planned grid origin.
            slices = kept_slices;
            need_resample = true;
        }
        let ps = self.pixel_spacing;
        let pixel_mm = [ps[1], ps[0]];
        let (r, c, n) = series::axes(&self.orientation);
        let s = self.grid.spacing_mm;
        let step = n * s + (r * self.grid.shear[0] + c * self.grid.shear[1]) * s;
        let o = self.plan.origin_mm;
        let data = if need_resample {
            resample::resample_stack(&stack, cols, rows, pixel_mm, &slices, &self.grid)
        } else {
            stack
        };
        let n_k = data.len() / plane.max(1);
        let volume = Volume {
            dims: [cols, rows, n_k],
            spacing_mm: [pixel_mm[0], pixel_mm[1], s],
            patient_from_voxel: affine_from_directions(
                r,
                c,
                step,
                pixel_mm,
                nalgebra::Point3::new(o[0], o[1], o[2]),
            ),
            data,
        };
        let geometry = GeometryReport {
            slice_spacing_mm: s,
            min_gap_mm: if self.plan.slices.len() > 1 {
                self.plan.min_gap_mm
            } else {
                s
            },
            max_gap_mm: if self.plan.slices.len() > 1 {
                self.plan.max_gap_mm
            } else {
                s
            },
            uneven: self.plan.uneven,
            duplicates: self.plan.duplicates,
            missing_slices: self.plan.missing + n_failed,
            tilt_deg: self.plan.tilt_deg,
            resampled: need_resample,
            spacing_assumed: self.spacing_assumed,
        };
        let qa = qa::check(&volume, &self.summary, &geometry);
        Ok(LoadedSeries {
            volume,
            summary: self.summary,
            geometry,
            qa,
            file_errors: self.file_errors,
        })
    }
}

/// Decodes frame `frame` of file `fi` into `out` (one slice), keeping the file's parse
/// in `cache` for its next frame.
fn decode_slice(
    headers: &[Option<FileHeader>],
    file: &FileBytes,
    fi: usize,
    frame: u32,
    out: &mut [i16],
    cache: &mut Option<(usize, decode::DecodableFile)>,
) -> Result<(), String> {
    let header = headers[fi].as_ref().ok_or("file has no usable header")?;
    let geom = header
        .frames
        .get(frame as usize)
        .ok_or("frame out of range")?;
    if let Some(raw) = decode::trailing_pixel_frame(file.bytes, header, frame) {
        decode::convert_raw_frame(raw, header, geom, out);
        return Ok(());
    }
    if cache.as_ref().map(|c| c.0) != Some(fi) {
        *cache = None;
        *cache = Some((fi, decode::open(file.bytes)?));
    }
    let Some((_, df)) = cache.as_ref() else {
        return Err("internal cache error".into());
    };
    decode::decode_frame(df, header, frame, geom, out)
}

/// Read a whole series, reporting progress in slices; `Err(Cancelled)` when the
/// progress sink returns false.
pub fn read_series(
    files: &[FileBytes],
    scan: &Scan,
    series_id: usize,
    opts: &ReadOptions,
    progress: &mut dyn Progress,
) -> Result<LoadedSeries, DicomError> {
    let mut reader = SeriesReader::new(scan, series_id, opts)?;
    if !progress.report(0, reader.total()) {
        return Err(DicomError::Cancelled);
    }
    while reader.done() < reader.total() {
        reader.decode_next(files, 8)?;
        if !progress.report(reader.done(), reader.total()) {
            return Err(DicomError::Cancelled);
        }
    }
    reader.finish()
}
