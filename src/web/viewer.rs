//! Page-side handle: MPR slices and the 3-D view.

use crate::mesh::bvh::Bvh;
use crate::mesh::Mesh;
use crate::mpr::{self, Plane, Window};
use crate::render::{Orbit, Scene3d};
use crate::volume::Volume;
use nalgebra::Matrix4;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// The page's viewer: holds its own copy of the HU volume (the worker keeps the master)
/// and the three-d scene on the 3-D canvas.
#[wasm_bindgen]
pub struct Viewer {
    volume: Option<Volume<i16>>,
    labels: Option<Volume<u8>>,
    /// RGBA overlay colour per label (index = label).
    label_colours: Vec<[u8; 4]>,
    threshold_preview: Option<(i16, i16)>,
    scene: Scene3d,
    rgba: Vec<u8>,
    /// Triangles of the shown parts and of the preview surface, for picking; their BVHs
    /// are built on the first click after they change.
    pick: PickMeshes,
}

#[derive(Default)]
struct PickMeshes {
    parts: Vec<(u8, Mesh)>,
    surface: Option<Mesh>,
    part_bvhs: Option<Vec<(u8, Bvh)>>,
    surface_bvh: Option<Option<Bvh>>,
}

/// Patient-mm mesh from the flat arrays the page sends.
fn mesh_of(positions_mm: &[f32], indices: &[u32]) -> Mesh {
    Mesh {
        positions_mm: positions_mm
            .chunks_exact(3)
            .map(|p| [p[0], p[1], p[2]].map(f64::from))
            .collect(),
        triangles: indices
            .chunks_exact(3)
            .map(|t| [t[0], t[1], t[2]])
            .collect(),
    }
}

/// Unit normal of triangle `c`, turned to face against the ray direction `dir` (towards
/// the camera); `-dir` for a degenerate triangle.
fn facing_normal(c: &[[f64; 3]; 3], dir: [f64; 3]) -> [f64; 3] {
    let (n, double_area) = crate::print::overhang::normal_and_double_area(c);
    if double_area <= 0.0 {
        return dir.map(|d| -d);
    }
    let towards = n[0] * dir[0] + n[1] * dir[1] + n[2] * dir[2] > 0.0;
    n.map(|v| if towards { -v } else { v })
}

/// The surfaces in the flat arrays of `setParts` / `setOverlays`: `positions_mm` and
/// `indices` concatenated, `vertex_counts` / `index_counts` per surface, RGB `colours`
/// and `labels` per surface.
fn surfaces_of(
    positions_mm: &[f32],
    indices: &[u32],
    vertex_counts: &[u32],
    index_counts: &[u32],
    colours: &[u8],
    labels: &[u8],
) -> Result<Vec<crate::render::PartSurface>, JsError> {
    let (mut v0, mut i0) = (0usize, 0usize);
    let mut out = Vec::with_capacity(vertex_counts.len());
    for (n, (&nv, &ni)) in vertex_counts.iter().zip(index_counts).enumerate() {
        let (v1, i1) = (v0 + 3 * nv as usize, i0 + ni as usize);
        let (Some(p), Some(ix), Some(c), Some(&l)) = (
            positions_mm.get(v0..v1),
            indices.get(i0..i1),
            colours.get(3 * n..3 * n + 3),
            labels.get(n),
        ) else {
            return Err(JsError::new("part arrays do not add up"));
        };
        out.push(crate::render::PartSurface {
            label: l,
            positions_mm: p.to_vec(),
            indices: ix.to_vec(),
            colour: [c[0], c[1], c[2]],
        });
        (v0, i0) = (v1, i1);
    }
    Ok(out)
}

/// What a click in the 3-D view hit.
#[derive(serde::Serialize)]
struct Picked {
    /// Label of the part or mesh object; 0 for the preview surface.
    label: u8,
    /// Hit point, patient LPS mm.
    point_mm: [f64; 3],
    /// Nearest voxel of the study to the hit point (clamped to the volume).
    voxel: [usize; 3],
    /// Unit normal of the face hit, turned towards the camera.
    normal: [f64; 3],
}

/// Opacity of part colours over the CT, and the threshold preview colour.
const LABEL_ALPHA: u8 = 115;
const THRESHOLD_TINT: [u8; 4] = [60, 220, 120, 90];

fn plane_of(code: u8) -> Result<Plane, JsError> {
    match code {
        0 => Ok(Plane::Axial),
        1 => Ok(Plane::Coronal),
        2 => Ok(Plane::Sagittal),
        _ => Err(JsError::new(
            "plane must be 0 (axial), 1 (coronal) or 2 (sagittal)",
        )),
    }
}

#[wasm_bindgen]
impl Viewer {
    /// Creates the viewer on `canvas3d`, which must support WebGL2.
    #[wasm_bindgen(constructor)]
    pub fn new(canvas3d: web_sys::HtmlCanvasElement) -> Result<Viewer, JsError> {
        // Keep the drawing buffer so screenshots and tests can read the 3-D view back.
        let options = js_sys::Object::new();
        js_sys::Reflect::set(&options, &"preserveDrawingBuffer".into(), &true.into())
            .map_err(|_| JsError::new("could not set WebGL options"))?;
        let gl = canvas3d
            .get_context_with_context_options("webgl2", &options)
            .map_err(|_| JsError::new("this browser refused a WebGL2 context"))?
            .ok_or_else(|| {
                JsError::new("WebGL2 is not available in this browser: the 3-D view needs it")
            })?
            .dyn_into::<web_sys::WebGl2RenderingContext>()
            .map_err(|_| JsError::new("the canvas did not return a WebGL2 context"))?;
        let scene = Scene3d::new(gl)
            .map_err(|e| JsError::new(&format!("could not start the 3-D view: {e}")))?;
        Ok(Viewer {
            volume: None,
            labels: None,
            label_colours: Vec::new(),
            threshold_preview: None,
            scene,
            rgba: Vec::new(),
            pick: PickMeshes::default(),
        })
    }

    /// Takes the volume sent by the worker. `patient_from_voxel` is column-major 4×4.
    #[wasm_bindgen(js_name = setVolume)]
    pub fn set_volume(
        &mut self,
        data: Vec<i16>,
        dims: Vec<usize>,
        spacing_mm: Vec<f64>,
        patient_from_voxel: Vec<f64>,
    ) -> Result<(), JsError> {
        if dims.len() != 3 || spacing_mm.len() != 3 || patient_from_voxel.len() != 16 {
            return Err(JsError::new(
                "volume geometry must have 3 dims, 3 spacings and a 4×4 affine",
            ));
        }
        if dims[0] * dims[1] * dims[2] != data.len() {
            return Err(JsError::new(
                "volume data length does not match its dimensions",
            ));
        }
        self.labels = None;
        self.scene.set_parts(Vec::new());
        self.volume = Some(Volume {
            dims: [dims[0], dims[1], dims[2]],
            spacing_mm: [spacing_mm[0], spacing_mm[1], spacing_mm[2]],
            patient_from_voxel: Matrix4::from_column_slice(&patient_from_voxel),
            data,
        });
        Ok(())
    }

    /// A copy of the HU volume, for handing the study to a restarted worker.
    #[wasm_bindgen(js_name = volumeData)]
    pub fn volume_data(&self) -> Result<js_sys::Int16Array, JsError> {
        Ok(js_sys::Int16Array::from(&self.volume()?.data[..]))
    }

    /// `[width, height]` in pixels of a slice of `plane` (0 axial, 1 coronal, 2 sagittal).
    #[wasm_bindgen(js_name = sliceSize)]
    pub fn slice_size(&self, plane: u8) -> Result<Vec<usize>, JsError> {
        let v = self.volume()?;
        let (w, h) = mpr::slice_size(v.dims, plane_of(plane)?);
        Ok(vec![w, h])
    }

    /// `[x, y]` pixel size in mm of a slice of `plane`.
    #[wasm_bindgen(js_name = pixelMm)]
    pub fn pixel_mm(&self, plane: u8) -> Result<Vec<f64>, JsError> {
        let v = self.volume()?;
        let (x, y) = mpr::slice_pixel_mm(v.spacing_mm, plane_of(plane)?);
        Ok(vec![x, y])
    }

    /// RGBA bytes of slice `index` of `plane`, windowed at `center_hu` / `width_hu`.
    #[wasm_bindgen(js_name = sliceRgba)]
    pub fn slice_rgba(
        &mut self,
        plane: u8,
        index: usize,
        center_hu: f64,
        width_hu: f64,
    ) -> Result<js_sys::Uint8ClampedArray, JsError> {
        let plane = plane_of(plane)?;
        let volume = self.volume.as_ref().ok_or_else(no_volume)?;
        let overlay = self.labels.as_ref().map(|l| (l, &self.label_colours[..]));
        let window = Window {
            center_hu,
            width_hu,
        };
        mpr::render_slice_rgba(volume, plane, index, window, overlay, &mut self.rgba);
        if let Some(range) = self.threshold_preview {
            let labels = self.labels.as_ref();
            mpr::tint_hu_range(
                volume,
                plane,
                index,
                range,
                labels,
                THRESHOLD_TINT,
                &mut self.rgba,
            );
        }
        Ok(js_sys::Uint8ClampedArray::from(&self.rgba[..]))
    }

    /// HU at voxel (i, j, k), or `undefined` outside the volume.
    pub fn hu(&self, i: i32, j: i32, k: i32) -> Option<i16> {
        self.volume.as_ref()?.get(i as i64, j as i64, k as i64)
    }

    /// Patient LPS position in mm of (fractional) voxel (i, j, k).
    #[wasm_bindgen(js_name = patientMm)]
    pub fn patient_mm(&self, i: f64, j: f64, k: f64) -> Result<Vec<f64>, JsError> {
        let p = self.volume()?.patient_mm([i, j, k]);
        Ok(vec![p.x, p.y, p.z])
    }

    /// Takes the label volume from the worker (same grid as the CT) and the colour of
    /// each label as flat RGB triples (`colours[3 * label..]`). Empty data clears it.
    #[wasm_bindgen(js_name = setLabels)]
    pub fn set_labels(&mut self, data: Vec<u8>, colours: Vec<u8>) -> Result<(), JsError> {
        let volume = self.volume()?;
        if data.is_empty() {
            self.labels = None;
            return Ok(());
        }
        if data.len() != volume.data.len() {
            return Err(JsError::new("label volume does not match the study"));
        }
        self.labels = Some(Volume {
            dims: volume.dims,
            spacing_mm: volume.spacing_mm,
            patient_from_voxel: volume.patient_from_voxel,
            data,
        });
        self.label_colours = colours
            .chunks_exact(3)
            .map(|c| [c[0], c[1], c[2], LABEL_ALPHA])
            .collect();
        if !self.label_colours.is_empty() {
            self.label_colours[0][3] = 0;
        }
        Ok(())
    }

    /// Sets the colour of each label as flat RGB triples (`colours[3 * label..]`).
    #[wasm_bindgen(js_name = setLabelColours)]
    pub fn set_label_colours(&mut self, colours: Vec<u8>) {
        self.label_colours = colours
            .chunks_exact(3)
            .map(|c| [c[0], c[1], c[2], LABEL_ALPHA])
            .collect();
        if let Some(background) = self.label_colours.first_mut() {
            background[3] = 0;
        }
    }

    /// Writes a box of labels from the worker (`labelPatch`): `min` and `size` in voxels,
    /// `data` the box's labels with `i` fastest. A box of the whole volume replaces it.
    #[wasm_bindgen(js_name = patchLabels)]
    pub fn patch_labels(
        &mut self,
        min: Vec<usize>,
        size: Vec<usize>,
        data: Vec<u8>,
    ) -> Result<(), JsError> {
        let volume = self.volume.as_ref().ok_or_else(no_volume)?;
        let (dims, spacing_mm, patient_from_voxel) =
            (volume.dims, volume.spacing_mm, volume.patient_from_voxel);
        let (&[i0, j0, k0], &[ni, nj, nk]) = (&min[..], &size[..]) else {
            return Err(JsError::new("a label patch needs a 3-D corner and size"));
        };
        let fits = [(i0, ni), (j0, nj), (k0, nk)]
            .iter()
            .zip(dims)
            .all(|(&(lo, n), d)| n > 0 && lo.checked_add(n).is_some_and(|hi| hi <= d));
        if !fits || ni * nj * nk != data.len() {
            return Err(JsError::new("the label patch does not fit the study"));
        }
        let b = crate::segment::mask::VoxelBox {
            min: [i0, j0, k0],
            max: [i0 + ni - 1, j0 + nj - 1, k0 + nk - 1],
        };
        let geometry = |data| Volume {
            dims,
            spacing_mm,
            patient_from_voxel,
            data,
        };
        if [ni, nj, nk] == dims {
            self.labels = Some(geometry(data));
            return Ok(());
        }
        let labels = match &mut self.labels {
            Some(l) => l,
            None => self.labels.insert(geometry(vec![0; dims.iter().product()])),
        };
        crate::design::label_delta::write(labels, &b, &data);
        Ok(())
    }

    /// SHA-256 of the page's copy of the labels, defined as `osteon replay` and the
    /// worker's `labelsSha256` define it (all zero before any segmentation).
    #[wasm_bindgen(js_name = labelsSha256)]
    pub fn labels_sha256(&self) -> Result<String, JsError> {
        let volume = self.volume()?;
        Ok(match &self.labels {
            Some(l) => crate::volume::labels_sha256_hex(l),
            None => crate::volume::labels_sha256_hex(&Volume {
                dims: volume.dims,
                spacing_mm: volume.spacing_mm,
                patient_from_voxel: volume.patient_from_voxel,
                data: vec![0u8; volume.data.len()],
            }),
        })
    }

    /// Label at voxel (i, j, k), 0 for background or outside.
    #[wasm_bindgen(js_name = labelAt)]
    pub fn label_at(&self, i: i32, j: i32, k: i32) -> u8 {
        self.labels
            .as_ref()
            .and_then(|l| l.get(i as i64, j as i64, k as i64))
            .unwrap_or(0)
    }

    /// Tints voxels in `lower_hu..=upper_hu` on the slices; `lower_hu > upper_hu` turns it off.
    #[wasm_bindgen(js_name = setThresholdPreview)]
    pub fn set_threshold_preview(&mut self, lower_hu: i16, upper_hu: i16) {
        self.threshold_preview = (lower_hu <= upper_hu).then_some((lower_hu, upper_hu));
    }

    /// Replaces the part surfaces of the 3-D view: `positions_mm` and `indices` are
    /// concatenated, `vertex_counts` / `index_counts` say how many belong to each part,
    /// `colours` holds RGB per part and `labels` the part labels (for visibility).
    #[wasm_bindgen(js_name = setParts)]
    pub fn set_parts(
        &mut self,
        positions_mm: Vec<f32>,
        indices: Vec<u32>,
        vertex_counts: Vec<u32>,
        index_counts: Vec<u32>,
        colours: Vec<u8>,
        labels: Vec<u8>,
    ) -> Result<(), JsError> {
        let parts = surfaces_of(
            &positions_mm,
            &indices,
            &vertex_counts,
            &index_counts,
            &colours,
            &labels,
        )?;
        self.pick.parts = parts
            .iter()
            .map(|p| (p.label, mesh_of(&p.positions_mm, &p.indices)))
            .collect();
        self.pick.part_bvhs = None;
        self.scene.set_parts(parts);
        Ok(())
    }

    /// Replaces the overlays of the 3-D view (the articular marks), in the arrays of
    /// [`Viewer::set_parts`]: each is drawn over the part with its label while that part
    /// is shown. Parts, their picking and the selection stay as they are, so marks of a
    /// brush stroke cost only their own triangles.
    #[wasm_bindgen(js_name = setOverlays)]
    pub fn set_overlays(
        &mut self,
        positions_mm: Vec<f32>,
        indices: Vec<u32>,
        vertex_counts: Vec<u32>,
        index_counts: Vec<u32>,
        colours: Vec<u8>,
        labels: Vec<u8>,
    ) -> Result<(), JsError> {
        let overlays = surfaces_of(
            &positions_mm,
            &indices,
            &vertex_counts,
            &index_counts,
            &colours,
            &labels,
        )?;
        self.scene.set_overlays(overlays);
        Ok(())
    }

    /// Draws the part or mesh object with viewer label `label` glowing (the selection);
    /// `undefined` for none.
    #[wasm_bindgen(js_name = setHighlight)]
    pub fn set_highlight(&mut self, label: Option<u8>) {
        self.scene.set_highlight(label);
    }

    /// What is under device pixel `(x, y)` of the `width` × `height` 3-D view drawn with
    /// this orbit: `{ label, point_mm, voxel, normal }` (label 0 on the preview surface;
    /// `normal` is the unit normal of the face hit, towards the camera), or
    /// `null` on empty space. Hidden, faded-out and clipped-away surfaces are not hit.
    #[allow(clippy::too_many_arguments)]
    pub fn pick(
        &mut self,
        x: f64,
        y: f64,
        width: f64,
        height: f64,
        yaw_deg: f32,
        pitch_deg: f32,
        zoom: f32,
    ) -> Result<JsValue, JsError> {
        let view = self.scene.view(Orbit {
            yaw_deg,
            pitch_deg,
            zoom,
        });
        let Some((origin, dir)) = view.ray(x, y, width, height) else {
            return Ok(JsValue::NULL);
        };
        let clip = self.scene.clip().map(|p| p.map(f64::from));
        let hit = if self.scene.has_parts() {
            let pick = &mut self.pick;
            let bvhs = pick.part_bvhs.get_or_insert_with(|| {
                pick.parts
                    .iter()
                    .filter_map(|(l, m)| Bvh::build(m).ok().map(|b| (*l, b)))
                    .collect()
            });
            let scene = &self.scene;
            crate::mesh::pick::pick(
                bvhs.iter()
                    .filter(|(l, _)| scene.part_pickable(*l))
                    .map(|(l, b)| (*l, b)),
                origin,
                dir,
                clip,
            )
        } else {
            let pick = &mut self.pick;
            let bvh = pick
                .surface_bvh
                .get_or_insert_with(|| pick.surface.as_ref().and_then(|m| Bvh::build(m).ok()));
            crate::mesh::pick::pick(bvh.iter().map(|b| (0, b)), origin, dir, clip)
        };
        let Some((label, hit)) = hit else {
            return Ok(JsValue::NULL);
        };
        let mesh = if self.scene.has_parts() {
            self.pick
                .parts
                .iter()
                .find(|(l, _)| *l == label)
                .map(|(_, m)| m)
        } else {
            self.pick.surface.as_ref()
        };
        let normal = mesh
            .and_then(|m| {
                m.triangles
                    .get(hit.triangle as usize)
                    .map(|_| m.corners(hit.triangle as usize))
            })
            .map(|c| facing_normal(&c, dir))
            .unwrap_or(dir.map(|d| -d));
        let voxel = self
            .volume
            .as_ref()
            .and_then(|v| {
                let p = v.voxel_of(nalgebra::Point3::from(hit.point_mm))?;
                Some([0, 1, 2].map(|a| (p[a].round().max(0.0) as usize).min(v.dims[a] - 1)))
            })
            .unwrap_or([0; 3]);
        super::to_js(&Picked {
            label,
            point_mm: hit.point_mm,
            voxel,
            normal,
        })
    }

    /// Device pixels `[x0, y0, x1, y1, …]` of the points `points_mm` (xyz triples, patient
    /// mm) in the `width` × `height` 3-D view drawn with this orbit (NaN for a point behind
    /// the camera): for drawing over the view, e.g. the brush's ring.
    pub fn project(
        &self,
        points_mm: Vec<f64>,
        width: f64,
        height: f64,
        yaw_deg: f32,
        pitch_deg: f32,
        zoom: f32,
    ) -> Vec<f64> {
        let view = self.scene.view(Orbit {
            yaw_deg,
            pitch_deg,
            zoom,
        });
        points_mm
            .chunks_exact(3)
            .flat_map(|p| {
                let (x, y) = view
                    .pixel([p[0], p[1], p[2]], width, height)
                    .unwrap_or((f64::NAN, f64::NAN));
                [x, y]
            })
            .collect()
    }

    /// Shows or hides one part in the 3-D view.
    #[wasm_bindgen(js_name = setPartVisible)]
    pub fn set_part_visible(&mut self, label: u8, visible: bool) {
        self.scene.set_part_visible(label, visible);
    }

    /// Sets the opacity (0…1) of one part in the 3-D view; it persists across "Calculate parts".
    #[wasm_bindgen(js_name = setPartOpacity)]
    pub fn set_part_opacity(&mut self, label: u8, opacity: f32) {
        self.scene.set_part_opacity(label, opacity);
    }

    /// Clips the 3-D view by a plane perpendicular to patient axis `axis` (0 = L-R,
    /// 1 = A-P, 2 = S-I, LPS) at `position_mm`: the side towards +axis stays, or the other
    /// side when `flip`. An axis above 2 turns clipping off.
    #[wasm_bindgen(js_name = setClip)]
    pub fn set_clip(&mut self, axis: u8, position_mm: f32, flip: bool) {
        let plane = (axis <= 2 && position_mm.is_finite()).then(|| {
            let sign = if flip { -1.0 } else { 1.0 };
            let mut p = [0.0f32; 4];
            p[axis as usize] = sign;
            p[3] = -sign * position_mm;
            p
        });
        self.scene.set_clip(plane);
    }

    /// Replaces the 3-D surface (xyz triples in patient mm, CCW triangles).
    #[wasm_bindgen(js_name = setSurface)]
    pub fn set_surface(&mut self, positions_mm: Vec<f32>, normals: Vec<f32>, indices: Vec<u32>) {
        self.scene.set_surface(&positions_mm, &normals, &indices);
        self.pick.surface = Some(mesh_of(&positions_mm, &indices));
        self.pick.surface_bvh = None;
    }

    /// True when the 3-D view has a surface to show.
    #[wasm_bindgen(js_name = hasSurface)]
    pub fn has_surface(&self) -> bool {
        self.scene.has_surface()
    }

    /// Draws the 3-D view at `width` × `height` device pixels.
    #[wasm_bindgen(js_name = render3d)]
    pub fn render_3d(&self, width: u32, height: u32, yaw_deg: f32, pitch_deg: f32, zoom: f32) {
        self.scene.render(
            width,
            height,
            Orbit {
                yaw_deg,
                pitch_deg,
                zoom,
            },
        );
    }
}

impl Viewer {
    fn volume(&self) -> Result<&Volume<i16>, JsError> {
        self.volume.as_ref().ok_or_else(no_volume)
    }
}

fn no_volume() -> JsError {
    JsError::new("no study is shown yet")
}
