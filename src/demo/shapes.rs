//! Smooth implicit shapes for the phantom: primitives, blends and deterministic trigonometry.
//!
//! Every shape answers "signed distance (mm) from a point in the foot's local frame":
//! negative inside, positive outside. Ellipsoids and swept ellipsoids use the first-order
//! estimate `f / |∇f|`, which is accurate within a few millimetres of the surface — the only
//! place where the cortical shell and the partial-volume ramp need it. Only `+ − × ÷`,
//! `sqrt`, `floor`, `min`/`max` are used here (all correctly rounded in IEEE 754), so the
//! results are bit-identical natively and on wasm32. Rotations are built from
//! [`sin_cos_deg`], a fixed Taylor polynomial, never from the platform's `sin`/`cos`.

/// A point or vector in millimetres.
pub type V3 = [f64; 3];
/// A 3×3 matrix, row-major.
pub type M3 = [[f64; 3]; 3];

#[inline]
pub fn sub(a: V3, b: V3) -> V3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

#[inline]
pub fn add(a: V3, b: V3) -> V3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

#[inline]
pub fn dot(a: V3, b: V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

#[inline]
pub fn mul_mv(m: &M3, v: V3) -> V3 {
    [dot(m[0], v), dot(m[1], v), dot(m[2], v)]
}

/// Transpose of `m` (the inverse of a rotation).
pub fn transpose(m: &M3) -> M3 {
    [
        [m[0][0], m[1][0], m[2][0]],
        [m[0][1], m[1][1], m[2][1]],
        [m[0][2], m[1][2], m[2][2]],
    ]
}

pub fn mul_mm(a: &M3, b: &M3) -> M3 {
    let mut r = [[0.0; 3]; 3];
    for (i, row) in r.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j];
        }
    }
    r
}

pub const IDENTITY: M3 = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

/// Sine and cosine of an angle in degrees, |deg| ≤ 90, from a fixed Taylor polynomial
/// (error < 1e-13) so that native and wasm32 builds agree bit for bit.
pub fn sin_cos_deg(deg: f64) -> (f64, f64) {
    assert!(deg.abs() <= 90.0, "phantom angles stay within ±90°");
    let x = deg * (std::f64::consts::PI / 180.0);
    let x2 = x * x;
    let (mut s, mut c) = (0.0, 0.0);
    let (mut ts, mut tc) = (x, 1.0);
    for n in 0..12 {
        s += ts;
        c += tc;
        let a = (2 * n + 2) as f64;
        ts *= -x2 / (a * (a + 1.0));
        tc *= -x2 / ((a - 1.0) * a);
    }
    (s, c)
}

/// Rotation `Rz(yaw) · Rx(pitch) · Ry(roll)`, angles in degrees.
pub fn rotation_deg(yaw_z: f64, pitch_x: f64, roll_y: f64) -> M3 {
    let (sz, cz) = sin_cos_deg(yaw_z);
    let (sx, cx) = sin_cos_deg(pitch_x);
    let (sy, cy) = sin_cos_deg(roll_y);
    let rz = [[cz, -sz, 0.0], [sz, cz, 0.0], [0.0, 0.0, 1.0]];
    let rx = [[1.0, 0.0, 0.0], [0.0, cx, -sx], [0.0, sx, cx]];
    let ry = [[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]];
    mul_mm(&mul_mm(&rz, &rx), &ry)
}

/// Polynomial smooth minimum with blend radius `k` mm; `smin ≤ min`.
#[inline]
pub fn smin(a: f64, b: f64, k: f64) -> f64 {
    let h = (k - (a - b).abs()).max(0.0) / k;
    a.min(b) - h * h * k * 0.25
}

/// Polynomial smooth maximum with blend radius `k` mm; `smax ≥ max`.
#[inline]
pub fn smax(a: f64, b: f64, k: f64) -> f64 {
    -smin(-a, -b, k)
}

/// Cubic smoothstep of `t` clamped to [0, 1].
#[inline]
pub fn smoothstep(t: f64) -> f64 {
    let t = t.clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// An axis-aligned box in millimetres.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Aabb {
    pub min: V3,
    pub max: V3,
}

impl Aabb {
    pub const EMPTY: Aabb = Aabb {
        min: [f64::INFINITY; 3],
        max: [f64::NEG_INFINITY; 3],
    };

    pub fn union(self, o: Aabb) -> Aabb {
        Aabb {
            min: [0, 1, 2].map(|a| self.min[a].min(o.min[a])),
            max: [0, 1, 2].map(|a| self.max[a].max(o.max[a])),
        }
    }

    pub fn grown(self, mm: f64) -> Aabb {
        Aabb {
            min: self.min.map(|v| v - mm),
            max: self.max.map(|v| v + mm),
        }
    }

    pub fn contains(&self, p: V3) -> bool {
        (0..3).all(|a| p[a] >= self.min[a] && p[a] <= self.max[a])
    }

    /// The eight corners.
    pub fn corners(&self) -> [V3; 8] {
        let mut c = [[0.0; 3]; 8];
        for (n, v) in c.iter_mut().enumerate() {
            *v = [0, 1, 2].map(|a| {
                if n >> a & 1 == 0 {
                    self.min[a]
                } else {
                    self.max[a]
                }
            });
        }
        c
    }
}

/// One implicit primitive in the foot's local frame.
#[derive(Clone, Debug)]
pub enum Shape {
    /// An ellipsoid with semi-axes `radii` swept along a segment (capsule-like). `prim_from_local`
    /// rotates local offsets from the segment start into the primitive's axes; the segment end
    /// is stored in normalised coordinates (divided by the radii). A zero-length segment is an
    /// ellipsoid.
    Blob {
        start: V3,
        prim_from_local: M3,
        end_n: V3,
        inv_len2_n: f64,
        inv_r: V3,
        min_r: f64,
    },
    /// A box with rounded edges: exact signed distance.
    RoundBox {
        centre: V3,
        prim_from_local: M3,
        half_inner: V3,
        round_mm: f64,
    },
    /// Half-space `dot(normal, p) ≤ offset` (normal of unit length).
    HalfSpace { normal: V3, offset: f64 },
}

impl Shape {
    /// Ellipsoid centred at `centre` with semi-axes `radii` (mm) along the axes of
    /// `rotation_deg(yaw, pitch, 0)` applied to local x, y, z.
    pub fn ellipsoid(centre: V3, radii: V3, yaw_deg: f64, pitch_deg: f64) -> Shape {
        Shape::swept(centre, centre, radii, yaw_deg, pitch_deg)
    }

    /// Ellipsoid with semi-axes `radii` swept from `a` to `b` (mm, local frame).
    pub fn swept(a: V3, b: V3, radii: V3, yaw_deg: f64, pitch_deg: f64) -> Shape {
        let local_from_prim = rotation_deg(yaw_deg, pitch_deg, 0.0);
        let prim_from_local = transpose(&local_from_prim);
        let inv_r = radii.map(|r| 1.0 / r);
        let e = mul_mv(&prim_from_local, sub(b, a));
        let end_n = [e[0] * inv_r[0], e[1] * inv_r[1], e[2] * inv_r[2]];
        let l2 = dot(end_n, end_n);
        Shape::Blob {
            start: a,
            prim_from_local,
            end_n,
            inv_len2_n: if l2 > 0.0 { 1.0 / l2 } else { 0.0 },
            inv_r,
            min_r: radii[0].min(radii[1]).min(radii[2]),
        }
    }

    /// Box centred at `centre` with half-extents `half` (mm, including the rounding) and
    /// edges rounded by `round_mm`, turned by `yaw_deg` about z.
    pub fn round_box(centre: V3, half: V3, round_mm: f64, yaw_deg: f64) -> Shape {
        Shape::RoundBox {
            centre,
            prim_from_local: transpose(&rotation_deg(yaw_deg, 0.0, 0.0)),
            half_inner: half.map(|h| h - round_mm),
            round_mm,
        }
    }

    /// Signed distance (mm) at local point `p`.
    #[inline]
    pub fn sdf(&self, p: V3) -> f64 {
        match self {
            Shape::Blob {
                start,
                prim_from_local,
                end_n,
                inv_len2_n,
                inv_r,
                min_r,
            } => {
                let q = mul_mv(prim_from_local, sub(p, *start));
                let qn = [q[0] * inv_r[0], q[1] * inv_r[1], q[2] * inv_r[2]];
                let t = (dot(qn, *end_n) * inv_len2_n).clamp(0.0, 1.0);
                let dn = [
                    qn[0] - t * end_n[0],
                    qn[1] - t * end_n[1],
                    qn[2] - t * end_n[2],
                ];
                let k0 = dot(dn, dn).sqrt();
                let g = [dn[0] * inv_r[0], dn[1] * inv_r[1], dn[2] * inv_r[2]];
                let k1 = dot(g, g).sqrt();
                if k1 < 1e-12 {
                    -min_r
                } else {
                    (k0 - 1.0) * k0 / k1
                }
            }
            Shape::RoundBox {
                centre,
                prim_from_local,
                half_inner,
                round_mm,
            } => {
                let q = mul_mv(prim_from_local, sub(p, *centre));
                let v = [0, 1, 2].map(|a| q[a].abs() - half_inner[a]);
                let o = v.map(|x| x.max(0.0));
                dot(o, o).sqrt() + v[0].max(v[1]).max(v[2]).min(0.0) - round_mm
            }
            Shape::HalfSpace { normal, offset } => dot(*normal, p) - offset,
        }
    }

    /// Local-frame bounding box of the interior (unbounded for a half-space).
    pub fn bounds(&self) -> Aabb {
        match self {
            Shape::Blob {
                start,
                prim_from_local,
                end_n,
                inv_r,
                ..
            } => {
                let local_from_prim = transpose(prim_from_local);
                let radii = inv_r.map(|v| 1.0 / v);
                let end_prim = [
                    end_n[0] * radii[0],
                    end_n[1] * radii[1],
                    end_n[2] * radii[2],
                ];
                let end = add(*start, mul_mv(&local_from_prim, end_prim));
                // Exact half-extent of a rotated ellipsoid along each local axis.
                let ext = [0, 1, 2].map(|a| {
                    (0..3)
                        .map(|j| {
                            let e = local_from_prim[a][j] * radii[j];
                            e * e
                        })
                        .sum::<f64>()
                        .sqrt()
                });
                Aabb {
                    min: [0, 1, 2].map(|a| start[a].min(end[a]) - ext[a]),
                    max: [0, 1, 2].map(|a| start[a].max(end[a]) + ext[a]),
                }
            }
            Shape::RoundBox {
                centre,
                prim_from_local,
                half_inner,
                round_mm,
            } => {
                let local_from_prim = transpose(prim_from_local);
                let ext = [0, 1, 2].map(|a| {
                    (0..3)
                        .map(|j| (local_from_prim[a][j] * (half_inner[j] + round_mm)).abs())
                        .sum::<f64>()
                });
                Aabb {
                    min: sub(*centre, ext),
                    max: add(*centre, ext),
                }
            }
            Shape::HalfSpace { .. } => Aabb {
                min: [f64::NEG_INFINITY; 3],
                max: [f64::INFINITY; 3],
            },
        }
    }
}

/// How a primitive joins the shape built so far.
#[derive(Clone, Copy, Debug)]
pub enum Op {
    /// Smooth union with blend radius (mm).
    Union(f64),
    /// Smooth intersection with blend radius (mm).
    Intersect(f64),
}

/// A bone or body outline: primitives combined in order, optionally scaled about a centre
/// (used for the small left/right size asymmetries).
#[derive(Clone, Debug)]
pub struct Compound {
    pub first: Shape,
    pub rest: Vec<(Op, Shape)>,
    pub scale: f64,
    pub scale_centre: V3,
}

impl Compound {
    pub fn new(first: Shape) -> Compound {
        Compound {
            first,
            rest: Vec::new(),
            scale: 1.0,
            scale_centre: [0.0; 3],
        }
    }

    pub fn union(mut self, s: Shape, blend_mm: f64) -> Compound {
        self.rest.push((Op::Union(blend_mm), s));
        self
    }

    pub fn intersect(mut self, s: Shape, blend_mm: f64) -> Compound {
        self.rest.push((Op::Intersect(blend_mm), s));
        self
    }

    /// Scale the whole shape by `s` about `centre`.
    pub fn scaled(mut self, s: f64, centre: V3) -> Compound {
        self.scale = s;
        self.scale_centre = centre;
        self
    }

    /// Signed distance (mm) at local point `p`.
    #[inline]
    pub fn sdf(&self, p: V3) -> f64 {
        let q = if self.scale == 1.0 {
            p
        } else {
            let inv = 1.0 / self.scale;
            [0, 1, 2].map(|a| self.scale_centre[a] + (p[a] - self.scale_centre[a]) * inv)
        };
        let mut d = self.first.sdf(q);
        for (op, s) in &self.rest {
            d = match *op {
                Op::Union(k) => smin(d, s.sdf(q), k),
                Op::Intersect(k) => smax(d, s.sdf(q), k),
            };
        }
        d * self.scale
    }

    /// Local-frame bounds of the interior (unions of the union members, clipped by nothing).
    pub fn bounds(&self) -> Aabb {
        let mut b = self.first.bounds();
        for (op, s) in &self.rest {
            if let Op::Union(_) = op {
                b = b.union(s.bounds());
            }
        }
        let c = self.scale_centre;
        let s = self.scale;
        Aabb {
            min: [0, 1, 2].map(|a| c[a] + (b.min[a] - c[a]) * s),
            max: [0, 1, 2].map(|a| c[a] + (b.max[a] - c[a]) * s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taylor_sin_cos_matches_std_to_1e12() {
        for d in [-90.0, -33.0, -4.0, 0.0, 1.5, 20.0, 45.0, 90.0] {
            let (s, c) = sin_cos_deg(d);
            let r = f64::to_radians(d);
            assert!(
                (s - r.sin()).abs() < 1e-12 && (c - r.cos()).abs() < 1e-12,
                "{d}"
            );
        }
    }

    #[test]
    fn ellipsoid_distance_is_exact_along_its_axes() {
        let e = Shape::ellipsoid([1.0, 2.0, 3.0], [10.0, 20.0, 5.0], 0.0, 0.0);
        assert!((e.sdf([13.0, 2.0, 3.0]) - 2.0).abs() < 1e-9);
        assert!((e.sdf([1.0, 2.0 - 21.0, 3.0]) - 1.0).abs() < 1e-9);
        assert!((e.sdf([1.0, 2.0, 3.0 + 4.0]) + 1.0).abs() < 1e-9);
        assert!(e.sdf([1.0, 2.0, 3.0]) < 0.0);
    }

    #[test]
    fn swept_sphere_is_a_capsule() {
        let c = Shape::swept([0.0; 3], [0.0, 0.0, 10.0], [2.0; 3], 0.0, 0.0);
        assert!((c.sdf([5.0, 0.0, 5.0]) - 3.0).abs() < 1e-12);
        assert!((c.sdf([0.0, 0.0, 13.0]) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn rotated_ellipsoid_bounds_contain_its_surface() {
        let e = Shape::ellipsoid([0.0; 3], [14.0, 9.0, 11.0], 20.0, 10.0);
        let b = e.bounds();
        for i in -20..=20 {
            for j in -20..=20 {
                for k in -20..=20 {
                    let p = [i as f64, j as f64, k as f64];
                    if e.sdf(p) < 0.0 {
                        assert!(b.contains(p), "{p:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn smooth_blends_bound_the_sharp_ones() {
        for (a, b) in [(1.0, 1.5), (-2.0, 0.3), (4.0, -4.0)] {
            assert!(smin(a, b, 2.0) <= a.min(b));
            assert!(smax(a, b, 2.0) >= a.max(b));
        }
    }
}
