//! Picking in the 3-D view: the camera ray through a pixel of the orbit view, and the
//! first surface it meets among several meshes, skipping what a clip plane cuts away.
//!
//! Units and spaces: positions are patient LPS millimetres; pixels are device pixels of
//! the 3-D canvas from its top-left corner (continuous: pixel `(x, y)` covers
//! `[x, x+1) × [y, y+1)`). The camera is the one the renderer draws with
//! ([`OrbitView::eye`]): it looks at `center` from `distance` along the orbit direction
//! with a vertical field of view of [`FOV_Y_DEG`], superior (+z) up.

use super::bvh::{Bvh, RayHit};

/// Vertical field of view of the 3-D view, degrees.
pub const FOV_Y_DEG: f64 = 40.0;

/// The orbit camera of the 3-D view.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OrbitView {
    /// Point looked at (mm).
    pub center: [f64; 3],
    /// Radius of the scene (mm); the camera distance is `2.6 · radius · zoom`.
    pub radius: f64,
    /// Rotation about the superior axis, degrees; 0 looks from anterior.
    pub yaw_deg: f64,
    /// Elevation above the axial plane, degrees.
    pub pitch_deg: f64,
    /// Distance factor; 1 frames the whole scene.
    pub zoom: f64,
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn unit(a: [f64; 3]) -> Option<[f64; 3]> {
    let n = (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt();
    (n > 1e-12 && n.is_finite()).then(|| a.map(|c| c / n))
}

impl OrbitView {
    /// Unit vector from the centre towards the camera.
    pub fn direction(&self) -> [f64; 3] {
        let (yaw, pitch) = (self.yaw_deg.to_radians(), self.pitch_deg.to_radians());
        // LPS: anterior is -y, superior is +z. Yaw 0 puts the camera in front of the patient.
        [
            yaw.sin() * pitch.cos(),
            -yaw.cos() * pitch.cos(),
            pitch.sin(),
        ]
    }

    /// Camera distance from the centre (mm).
    pub fn distance(&self) -> f64 {
        self.radius * 2.6 * self.zoom.max(0.05)
    }

    /// Camera position (mm).
    pub fn eye(&self) -> [f64; 3] {
        let (d, s) = (self.direction(), self.distance());
        [0, 1, 2].map(|a| self.center[a] + d[a] * s)
    }

    /// The ray from the camera through pixel position `(x, y)` of a `width × height`
    /// view: `(origin, unit direction)`. `None` for an empty view.
    pub fn ray(&self, x: f64, y: f64, width: f64, height: f64) -> Option<([f64; 3], [f64; 3])> {
        if !(width > 0.0 && height > 0.0) {
            return None;
        }
        let forward = self.direction().map(|c| -c);
        let right = unit(cross(forward, [0.0, 0.0, 1.0])).unwrap_or([1.0, 0.0, 0.0]);
        let up = cross(right, forward);
        let tan = (FOV_Y_DEG.to_radians() / 2.0).tan();
        let (nx, ny) = (2.0 * x / width - 1.0, 1.0 - 2.0 * y / height);
        let (sx, sy) = (nx * tan * width / height, ny * tan);
        let d = unit([0, 1, 2].map(|a| forward[a] + right[a] * sx + up[a] * sy))?;
        Some((self.eye(), d))
    }
}

impl OrbitView {
    /// Device-pixel position of `p` (mm) in a `width × height` view, as the renderer draws
    /// it (the inverse of [`OrbitView::ray`]); `None` behind the camera or for an empty view.
    pub fn pixel(&self, p: [f64; 3], width: f64, height: f64) -> Option<(f64, f64)> {
        if !(width > 0.0 && height > 0.0) {
            return None;
        }
        let eye = self.eye();
        let f = self.direction().map(|c| -c);
        let r = unit(cross(f, [0.0, 0.0, 1.0])).unwrap_or([1.0, 0.0, 0.0]);
        let u = cross(r, f);
        let d = [0, 1, 2].map(|a| p[a] - eye[a]);
        let dot = |a: [f64; 3], b: [f64; 3]| a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
        let (z, x, y) = (dot(d, f), dot(d, r), dot(d, u));
        if z <= 1e-9 {
            return None;
        }
        let tan = (FOV_Y_DEG.to_radians() / 2.0).tan();
        let (nx, ny) = (x / z / (tan * width / height), y / z / tan);
        Some(((nx + 1.0) * width / 2.0, (1.0 - ny) * height / 2.0))
    }
}

/// A clip plane `(n, w)`: points `p` with `n · p + w < 0` are cut away (as the renderer
/// discards them).
pub type ClipPlane = [f64; 4];

fn clipped(plane: Option<ClipPlane>, p: [f64; 3]) -> bool {
    plane.is_some_and(|c| c[0] * p[0] + c[1] * p[1] + c[2] * p[2] + c[3] < 0.0)
}

/// The first hit of the ray on `bvh` that the clip plane keeps.
fn first_kept_hit(
    bvh: &Bvh,
    origin: [f64; 3],
    dir: [f64; 3],
    clip: Option<ClipPlane>,
) -> Option<RayHit> {
    let mut from = 0.0f64;
    // Each retry starts just past the last clipped hit; a ray crosses few surfaces.
    for _ in 0..256 {
        let o = [0, 1, 2].map(|a| origin[a] + dir[a] * from);
        let mut hit = bvh.ray_cast(o, dir, f64::INFINITY)?;
        hit.t += from;
        if !clipped(clip, hit.point_mm) {
            return Some(hit);
        }
        from = hit.t + 1e-6 * (1.0 + hit.t.abs());
    }
    None
}

/// The nearest hit of the ray `(origin, dir)` among `meshes` (`(id, bvh)`), skipping
/// surface the clip plane cuts away: `(id, hit)` with `hit.t` measured from `origin`.
/// Equal distances go to the earlier mesh.
pub fn pick<'a>(
    meshes: impl IntoIterator<Item = (u8, &'a Bvh)>,
    origin: [f64; 3],
    dir: [f64; 3],
    clip: Option<ClipPlane>,
) -> Option<(u8, RayHit)> {
    let mut best: Option<(u8, RayHit)> = None;
    for (id, bvh) in meshes {
        if let Some(hit) = first_kept_hit(bvh, origin, dir, clip) {
            if best.as_ref().is_none_or(|(_, b)| hit.t < b.t) {
                best = Some((id, hit));
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::Mesh;

    /// An axis-aligned box mesh (outward CCW) from `lo` to `hi`.
    fn cube(lo: [f64; 3], hi: [f64; 3]) -> Mesh {
        let p = |i: usize| [0, 1, 2].map(|a| if i >> a & 1 == 1 { hi[a] } else { lo[a] });
        let positions_mm = (0..8).map(p).collect();
        let triangles = vec![
            [0, 2, 1],
            [1, 2, 3],
            [4, 5, 6],
            [5, 7, 6],
            [0, 1, 4],
            [1, 5, 4],
            [2, 6, 3],
            [3, 6, 7],
            [0, 4, 2],
            [2, 4, 6],
            [1, 3, 5],
            [3, 7, 5],
        ];
        Mesh {
            positions_mm,
            triangles,
        }
    }

    fn view(yaw: f64, pitch: f64) -> OrbitView {
        OrbitView {
            center: [10.0, -20.0, 30.0],
            radius: 50.0,
            yaw_deg: yaw,
            pitch_deg: pitch,
            zoom: 1.0,
        }
    }

    #[test]
    fn the_ray_through_a_projected_point_passes_through_it() {
        for (yaw, pitch) in [(0.0, 0.0), (25.0, 20.0), (-130.0, -60.0), (200.0, 85.0)] {
            let v = view(yaw, pitch);
            let p = [25.0, -5.0, 12.0];
            let (x, y) = v.pixel(p, 800.0, 500.0).expect("in front of the camera");
            let (o, d) = v.ray(x, y, 800.0, 500.0).expect("a ray");
            let to_p = [0, 1, 2].map(|a| p[a] - o[a]);
            let along: f64 = (0..3).map(|a| to_p[a] * d[a]).sum();
            let off = (0..3)
                .map(|a| (to_p[a] - along * d[a]).powi(2))
                .sum::<f64>()
                .sqrt();
            assert!(
                along > 0.0 && off < 1e-9,
                "yaw {yaw} pitch {pitch}: {off} mm off the ray"
            );
        }
    }

    #[test]
    fn the_centre_pixel_looks_at_the_centre() {
        let v = view(25.0, 20.0);
        let (o, d) = v.ray(400.0, 250.0, 800.0, 500.0).expect("a ray");
        let back = [0, 1, 2].map(|a| o[a] + d[a] * v.distance());
        assert!(
            (0..3).all(|a| (back[a] - v.center[a]).abs() < 1e-9),
            "{back:?}"
        );
        assert_eq!(v.ray(1.0, 1.0, 0.0, 10.0), None);
        // Behind the camera nothing is drawn.
        let behind = [0, 1, 2].map(|a| v.eye()[a] + v.direction()[a] * 10.0);
        assert_eq!(v.pixel(behind, 800.0, 500.0), None);
    }

    #[test]
    fn the_nearest_kept_surface_is_picked() {
        // Two boxes on the line of sight from anterior (-y): the front one at y −10…0.
        let front = Bvh::build(&cube([-5.0, -10.0, -5.0], [5.0, 0.0, 5.0])).expect("bvh");
        let back = Bvh::build(&cube([-5.0, 20.0, -5.0], [5.0, 30.0, 5.0])).expect("bvh");
        let origin = [0.0, -100.0, 0.0];
        let dir = [0.0, 1.0, 0.0];
        let (id, hit) = pick([(3, &back), (7, &front)], origin, dir, None).expect("a hit");
        assert_eq!(id, 7);
        assert!((hit.point_mm[1] + 10.0).abs() < 1e-9, "{:?}", hit.point_mm);
        // A clip plane keeping y ≥ 15 cuts the front box away: the back one is picked.
        let clip = Some([0.0, 1.0, 0.0, -15.0]);
        let (id, hit) = pick([(3, &back), (7, &front)], origin, dir, clip).expect("a hit");
        assert_eq!(id, 3);
        assert!((hit.point_mm[1] - 20.0).abs() < 1e-9 && (hit.t - 120.0).abs() < 1e-9);
        // Keeping y ≥ −5 cuts the front face only: the ray meets the front box's back face.
        let (id, hit) =
            pick([(7, &front)], origin, dir, Some([0.0, 1.0, 0.0, 5.0])).expect("a hit");
        assert_eq!(id, 7);
        assert!(hit.point_mm[1].abs() < 1e-9, "{:?}", hit.point_mm);
        // Missing everything.
        assert!(pick([(7, &front)], origin, [1.0, 0.0, 0.0], None).is_none());
    }
}
