//! GPU side of the viewer (wasm32 only): the 3-D view drawn with three-d on the page's
//! own WebGL2 canvas. Meshes arrive as plain arrays in patient millimetres; three-d uses
//! cgmath, so conversion happens here at the render edge and nowhere else.
//!
//! Per-part opacity uses three-d's transparent physical material (sorted back to front).
//! The clipping plane is a `discard` injected at the top of that material's fragment shader
//! ([`ClipMaterial`]): three-d 0.19 has no clip planes of its own and WebGL2 has no
//! `gl_ClipDistance`, and a discard costs nothing when the plane is off.

use crate::mesh::pick::{OrbitView, FOV_Y_DEG};
use std::sync::Arc;
use three_d::{
    degrees, vec3, vec4, AmbientLight, Camera, ClearState, Context, CpuMaterial, CpuMesh,
    DirectionalLight, EffectMaterialId, Gm, Indices, InnerSpace, Light, Material, MaterialType,
    Mesh, PhysicalMaterial, Positions, Program, RenderStates, RenderTarget, Srgba, Vec3, Viewport,
};

/// Orbit camera parameters, chosen by the page's controls.
#[derive(Clone, Copy, Debug)]
pub struct Orbit {
    /// Rotation about the patient superior axis, degrees; 0 looks from anterior.
    pub yaw_deg: f32,
    /// Elevation above the axial plane, degrees.
    pub pitch_deg: f32,
    /// Distance factor; 1 frames the whole scene.
    pub zoom: f32,
}

/// One part surface to draw, in patient mm.
pub struct PartSurface {
    pub label: u8,
    pub positions_mm: Vec<f32>,
    pub indices: Vec<u32>,
    pub colour: [u8; 3],
}

/// A clipping plane in patient mm: fragments at `p` with `dot(n, p) + w < 0` are cut
/// away, where `(n, w)` is the plane as a 4-vector.
pub type Plane = [f32; 4];

/// The plane that keeps nothing away (`w = 1`, `n = 0`).
const NO_CLIP: Plane = [0.0, 0.0, 0.0, 1.0];

/// A lit physical material whose fragments on the far side of a plane are discarded.
pub struct ClipMaterial {
    inner: PhysicalMaterial,
    plane: Plane,
}

/// Shader id in three-d's public range (below 0x5000); one variant (no textures).
const CLIP_MATERIAL_ID: u16 = 0x0C1A;

impl Material for ClipMaterial {
    fn fragment_shader_source(&self, lights: &[&dyn Light]) -> String {
        let source = self.inner.fragment_shader_source(lights);
        // Insert the clip test as the first statement of main().
        match source
            .find("void main()")
            .and_then(|at| source[at..].find('{').map(|b| at + b + 1))
        {
            Some(at) => format!(
                "{}\n    if (dot(clipPlane.xyz, pos) + clipPlane.w < 0.0) discard;{}",
                &source[..at],
                &source[at..]
            )
            .replacen("void main()", "uniform vec4 clipPlane;\nvoid main()", 1),
            None => source,
        }
    }
    fn id(&self) -> EffectMaterialId {
        EffectMaterialId(CLIP_MATERIAL_ID)
    }
    fn use_uniforms(&self, program: &Program, viewer: &dyn three_d::Viewer, lights: &[&dyn Light]) {
        self.inner.use_uniforms(program, viewer, lights);
        let [a, b, c, d] = self.plane;
        program.use_uniform_if_required("clipPlane", vec4(a, b, c, d));
    }
    fn render_states(&self) -> RenderStates {
        self.inner.render_states()
    }
    fn material_type(&self) -> MaterialType {
        self.inner.material_type()
    }
}

/// A part's material; a `highlighted` (picked) part glows in its own colour.
fn physical(
    context: &Context,
    colour: [u8; 3],
    opacity: f32,
    highlighted: bool,
) -> PhysicalMaterial {
    let [r, g, b] = colour;
    let alpha = (opacity.clamp(0.0, 1.0) * 255.0).round() as u8;
    let glow = |c: u8| if highlighted { c / 2 + 60 } else { 0 };
    let material = CpuMaterial {
        albedo: Srgba::new(r, g, b, alpha),
        emissive: Srgba::new(glow(r), glow(g), glow(b), 255),
        roughness: 0.6,
        metallic: 0.0,
        ..Default::default()
    };
    if alpha == 255 {
        PhysicalMaterial::new_opaque(context, &material)
    } else {
        PhysicalMaterial::new_transparent(context, &material)
    }
}

/// One calculated part on the GPU.
struct PartGm {
    label: u8,
    visible: bool,
    colour: [u8; 3],
    gm: Gm<Mesh, ClipMaterial>,
}

/// The 3-D scene: the iso-surface preview of the study, or the calculated parts, lit.
pub struct Scene3d {
    context: Context,
    surface: Option<Gm<Mesh, ClipMaterial>>,
    parts: Vec<PartGm>,
    /// Opacity by label (parts not listed are opaque); kept across "Calculate parts".
    opacity: Vec<(u8, f32)>,
    /// Overlays drawn over the part with the same label while it is shown (articular
    /// marks); never picked, and replaced without touching the parts.
    overlays: Vec<(u8, Gm<Mesh, ClipMaterial>)>,
    /// The picked part, drawn glowing.
    highlight: Option<u8>,
    plane: Plane,
    center: Vec3,
    radius: f32,
}

fn lit_mesh(
    context: &Context,
    positions_mm: &[f32],
    normals: &[f32],
    indices: &[u32],
    material: ClipMaterial,
) -> (Gm<Mesh, ClipMaterial>, Vec3, Vec3) {
    let to_vec3 = |a: &[f32]| {
        a.chunks_exact(3)
            .map(|p| vec3(p[0], p[1], p[2]))
            .collect::<Vec<_>>()
    };
    let positions = to_vec3(positions_mm);
    let (mut lo, mut hi) = (positions[0], positions[0]);
    for p in &positions {
        lo = vec3(lo.x.min(p.x), lo.y.min(p.y), lo.z.min(p.z));
        hi = vec3(hi.x.max(p.x), hi.y.max(p.y), hi.z.max(p.z));
    }
    let mut cpu_mesh = CpuMesh {
        positions: Positions::F32(positions),
        indices: Indices::U32(indices.to_vec()),
        normals: (normals.len() == positions_mm.len()).then(|| to_vec3(normals)),
        ..Default::default()
    };
    // Lit materials need normals; derive them from the triangles when none were given.
    if cpu_mesh.normals.is_none() {
        cpu_mesh.compute_normals();
    }
    (Gm::new(Mesh::new(context, &cpu_mesh), material), lo, hi)
}

impl Scene3d {
    /// Wraps the WebGL2 context of the page's canvas.
    pub fn new(gl: web_sys::WebGl2RenderingContext) -> Result<Self, String> {
        let glow_context = three_d::context::Context::from_webgl2_context(gl);
        // three-d takes the GL context as an Arc; wasm has one thread, so it never crosses.
        #[allow(clippy::arc_with_non_send_sync)]
        let context =
            Context::from_gl_context(Arc::new(glow_context)).map_err(|e| e.to_string())?;
        Ok(Scene3d {
            context,
            surface: None,
            parts: Vec::new(),
            overlays: Vec::new(),
            opacity: Vec::new(),
            highlight: None,
            plane: NO_CLIP,
            center: vec3(0.0, 0.0, 0.0),
            radius: 100.0,
        })
    }

    /// Replaces the surface. `positions_mm` and `normals` are xyz triples in patient LPS mm.
    pub fn set_surface(&mut self, positions_mm: &[f32], normals: &[f32], indices: &[u32]) {
        if positions_mm.len() < 9 || indices.len() < 3 {
            self.surface = None;
            return;
        }
        let (gm, lo, hi) = lit_mesh(
            &self.context,
            positions_mm,
            normals,
            indices,
            ClipMaterial {
                inner: physical(&self.context, [233, 222, 196], 1.0, false),
                plane: self.plane,
            },
        );
        self.center = (lo + hi) * 0.5;
        self.radius = ((hi - lo).magnitude() * 0.5).max(1.0);
        self.surface = Some(gm);
    }

    /// `p` on the GPU in its colour, lit, clipped by the current plane; `None` when it
    /// has no triangle.
    fn surface_gm(
        &self,
        p: &PartSurface,
        opacity: f32,
        glow: bool,
    ) -> Option<Gm<Mesh, ClipMaterial>> {
        if p.positions_mm.len() < 9 || p.indices.len() < 3 {
            return None;
        }
        let material = ClipMaterial {
            inner: physical(&self.context, p.colour, opacity, glow),
            plane: self.plane,
        };
        Some(lit_mesh(&self.context, &p.positions_mm, &[], &p.indices, material).0)
    }

    /// Replaces the calculated parts; while there are any they are drawn instead of the preview.
    pub fn set_parts(&mut self, parts: Vec<PartSurface>) {
        self.parts = parts
            .iter()
            .filter_map(|p| {
                let lit = self.highlight == Some(p.label);
                let gm = self.surface_gm(p, self.opacity_of(p.label), lit)?;
                Some(PartGm {
                    label: p.label,
                    visible: true,
                    colour: p.colour,
                    gm,
                })
            })
            .collect();
    }

    /// Replaces the overlays: each is drawn over the part with its label while that part
    /// is drawn (lit, in its own colour; a slight glow keeps it legible in shadow).
    pub fn set_overlays(&mut self, overlays: Vec<PartSurface>) {
        self.overlays = overlays
            .iter()
            .filter_map(|p| Some((p.label, self.surface_gm(p, 1.0, true)?)))
            .collect();
    }

    /// Shows or hides the part with `label`.
    pub fn set_part_visible(&mut self, label: u8, visible: bool) {
        for part in self.parts.iter_mut().filter(|p| p.label == label) {
            part.visible = visible;
        }
    }

    fn opacity_of(&self, label: u8) -> f32 {
        self.opacity
            .iter()
            .find(|(l, _)| *l == label)
            .map_or(1.0, |(_, o)| *o)
    }

    /// Sets the opacity (0 = invisible … 1 = opaque) of the part with `label`, now and
    /// after the parts are calculated again.
    pub fn set_part_opacity(&mut self, label: u8, opacity: f32) {
        let opacity = if opacity.is_finite() {
            opacity.clamp(0.0, 1.0)
        } else {
            1.0
        };
        self.opacity.retain(|(l, _)| *l != label);
        if opacity < 1.0 {
            self.opacity.push((label, opacity));
        }
        let lit = self.highlight == Some(label);
        for part in self.parts.iter_mut().filter(|p| p.label == label) {
            part.gm.material.inner = physical(&self.context, part.colour, opacity, lit);
        }
    }

    /// Draws the part with `label` glowing (the picked one); `None` for none.
    pub fn set_highlight(&mut self, label: Option<u8>) {
        let before = std::mem::replace(&mut self.highlight, label);
        for l in [before, label].into_iter().flatten() {
            let opacity = self.opacity_of(l);
            self.set_part_opacity(l, opacity);
        }
    }

    /// True when the part with `label` is drawn and can be clicked (shown, not faded out).
    pub fn part_pickable(&self, label: u8) -> bool {
        self.parts.iter().any(|p| p.label == label && p.visible) && self.opacity_of(label) > 0.05
    }

    /// True when calculated parts (not the preview surface) are shown.
    pub fn has_parts(&self) -> bool {
        !self.parts.is_empty()
    }

    /// The clipping plane, if any (see [`Plane`]).
    pub fn clip(&self) -> Option<Plane> {
        (self.plane != NO_CLIP).then_some(self.plane)
    }

    /// The camera of [`Scene3d::render`] for `orbit`, for picking.
    pub fn view(&self, orbit: Orbit) -> OrbitView {
        OrbitView {
            center: [self.center.x, self.center.y, self.center.z].map(f64::from),
            radius: f64::from(self.radius),
            yaw_deg: f64::from(orbit.yaw_deg),
            pitch_deg: f64::from(orbit.pitch_deg),
            zoom: f64::from(orbit.zoom),
        }
    }

    /// Sets the clipping plane (see [`Plane`]) of every surface; `None` turns it off.
    pub fn set_clip(&mut self, plane: Option<Plane>) {
        self.plane = plane.unwrap_or(NO_CLIP);
        for part in &mut self.parts {
            part.gm.material.plane = self.plane;
        }
        for (_, gm) in &mut self.overlays {
            gm.material.plane = self.plane;
        }
        if let Some(s) = &mut self.surface {
            s.material.plane = self.plane;
        }
    }

    /// True when a surface is loaded.
    pub fn has_surface(&self) -> bool {
        self.surface.is_some()
    }

    /// Draws the scene into the canvas' default framebuffer of `width` × `height` pixels.
    pub fn render(&self, width: u32, height: u32, orbit: Orbit) {
        // The same camera picking uses (mesh::pick::OrbitView).
        let view = self.view(orbit);
        let [dx, dy, dz] = view.direction().map(|c| c as f32);
        let dir = vec3(dx, dy, dz);
        let distance = view.distance() as f32;
        let viewport = Viewport::new_at_origo(width.max(1), height.max(1));
        let camera = Camera::new_perspective(
            viewport,
            self.center + dir * distance,
            self.center,
            vec3(0.0, 0.0, 1.0),
            degrees(FOV_Y_DEG as f32),
            (distance - self.radius * 1.5).max(1.0),
            distance + self.radius * 1.5,
        );
        let ambient = AmbientLight::new(&self.context, 0.35, Srgba::WHITE);
        let key = DirectionalLight::new(
            &self.context,
            1.6,
            Srgba::WHITE,
            -dir + vec3(0.3, 0.2, -0.4),
        );
        let fill =
            DirectionalLight::new(&self.context, 0.6, Srgba::WHITE, dir + vec3(0.0, 0.0, -0.8));
        let target = RenderTarget::screen(&self.context, width.max(1), height.max(1));
        target.clear(ClearState::color_and_depth(0.09, 0.10, 0.12, 1.0, 1.0));
        let lights: [&dyn three_d::Light; 3] = [&ambient, &key, &fill];
        if !self.parts.is_empty() {
            let shown = |label: u8| {
                self.parts
                    .iter()
                    .any(|p| p.label == label && p.visible && self.opacity_of(label) > 0.05)
            };
            let visible = self.parts.iter().filter(|p| p.visible).map(|p| &p.gm);
            let overlays = self
                .overlays
                .iter()
                .filter(|(l, _)| shown(*l))
                .map(|(_, gm)| gm);
            target.render(&camera, visible.chain(overlays), &lights);
        } else if let Some(surface) = &self.surface {
            target.render(&camera, surface, &lights);
        }
    }
}
