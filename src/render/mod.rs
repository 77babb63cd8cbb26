//! GPU side of the viewer (wasm32 only): the 3-D view drawn with three-d on the page's
//! own WebGL2 canvas. Meshes arrive as plain arrays in patient millimetres; three-d uses
//! cgmath, so conversion happens here at the render edge and nowhere else.

use std::sync::Arc;
use three_d::{
    degrees, vec3, AmbientLight, Camera, ClearState, Context, CpuMaterial, CpuMesh,
    DirectionalLight, Gm, Indices, InnerSpace, Mesh, PhysicalMaterial, Positions, RenderTarget,
    Srgba, Vec3, Viewport,
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

/// The 3-D scene: the iso-surface preview of the study, or the calculated parts, lit.
pub struct Scene3d {
    context: Context,
    surface: Option<Gm<Mesh, PhysicalMaterial>>,
    parts: Vec<(u8, bool, Gm<Mesh, PhysicalMaterial>)>,
    center: Vec3,
    radius: f32,
}

fn lit_mesh(
    context: &Context,
    positions_mm: &[f32],
    normals: &[f32],
    indices: &[u32],
    albedo: Srgba,
) -> (Gm<Mesh, PhysicalMaterial>, Vec3, Vec3) {
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
    let material = CpuMaterial {
        albedo,
        roughness: 0.6,
        metallic: 0.0,
        ..Default::default()
    };
    (
        Gm::new(
            Mesh::new(context, &cpu_mesh),
            PhysicalMaterial::new_opaque(context, &material),
        ),
        lo,
        hi,
    )
}

impl Scene3d {
    /// Wraps the WebGL2 context of the page's canvas.
    pub fn new(gl: web_sys::WebGl2RenderingContext) -> Result<Self, String> {
        let glow_context = three_d::context::Context::from_webgl2_context(gl);
        let context =
            Context::from_gl_context(Arc::new(glow_context)).map_err(|e| e.to_string())?;
        Ok(Scene3d {
            context,
            surface: None,
            parts: Vec::new(),
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
            Srgba::new(233, 222, 196, 255),
        );
        self.center = (lo + hi) * 0.5;
        self.radius = ((hi - lo).magnitude() * 0.5).max(1.0);
        self.surface = Some(gm);
    }

    /// Replaces the calculated parts; while there are any they are drawn instead of the preview.
    pub fn set_parts(&mut self, parts: Vec<PartSurface>) {
        self.parts = parts
            .iter()
            .filter(|p| p.positions_mm.len() >= 9 && p.indices.len() >= 3)
            .map(|p| {
                let [r, g, b] = p.colour;
                let (gm, _, _) = lit_mesh(
                    &self.context,
                    &p.positions_mm,
                    &[],
                    &p.indices,
                    Srgba::new(r, g, b, 255),
                );
                (p.label, true, gm)
            })
            .collect();
    }

    /// Shows or hides the part with `label`.
    pub fn set_part_visible(&mut self, label: u8, visible: bool) {
        for part in self.parts.iter_mut().filter(|p| p.0 == label) {
            part.1 = visible;
        }
    }

    /// True when a surface is loaded.
    pub fn has_surface(&self) -> bool {
        self.surface.is_some()
    }

    /// Draws the scene into the canvas' default framebuffer of `width` × `height` pixels.
    pub fn render(&self, width: u32, height: u32, orbit: Orbit) {
        let (yaw, pitch) = (orbit.yaw_deg.to_radians(), orbit.pitch_deg.to_radians());
        // LPS: anterior is -y, superior is +z. Yaw 0 puts the camera in front of the patient.
        let dir = vec3(
            yaw.sin() * pitch.cos(),
            -yaw.cos() * pitch.cos(),
            pitch.sin(),
        );
        let distance = self.radius * 2.6 * orbit.zoom.max(0.05);
        let viewport = Viewport::new_at_origo(width.max(1), height.max(1));
        let camera = Camera::new_perspective(
            viewport,
            self.center + dir * distance,
            self.center,
            vec3(0.0, 0.0, 1.0),
            degrees(40.0),
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
            let visible = self.parts.iter().filter(|p| p.1).map(|p| &p.2);
            target.render(&camera, visible, &lights);
        } else if let Some(surface) = &self.surface {
            target.render(&camera, surface, &lights);
        }
    }
}
