//! Build job: the implant in several sizes plus tensile coupons on one build plate.
//!
//! Space: build-space millimetres. The plate spans `x ∈ [0, X]`, `y ∈ [0, Y]` with
//! `z = 0` its top; the machine's build volume is `X × Y × Z` (default 250 × 250 × 300).
//! The implant comes in already oriented (its +z is the build direction).
//!
//! Sizes are **volume** percentages (protocol: 95 / 100 / 105 %): size `p` is the implant
//! scaled uniformly by `∛(p / 100)` (0.98305, 1, 1.01640) about its volume centroid, so
//! its volume is exactly `p %` of the original while its shape is unchanged.
//!
//! Coupons for lot release (protocol 4.5.2) are flat dog-bones built **vertically**
//! (pull axis = build direction z), after ASTM E8/E8M's sheet-type *subsize* specimen:
//! gauge length G 25 mm, width W 6 mm, thickness T 6 mm, fillet radius R 6 mm, reduced
//! section A 32 mm, grip width C 10 mm, grip length B 30 mm, overall ≈ 100.9 mm. The
//! outline is lofted from rectangles, the fillets as `fillet_steps` straight pieces.
//!
//! Supports: [`build_plate_with_supports`] gives each implant size its own supports, made
//! by the caller on the size as it will stand (scaled, lowest point on `z = lift_mm`) and
//! moved with it; the layout then spaces the boxes of part and supports together.
//!
//! Layout: objects in order (sizes, then coupons) are packed in rows along +x starting at
//! `margin_mm`, `spacing_mm` apart (bounding boxes), a new row when a row is full. Each
//! rests at `z = lift_mm` (0, or the height of the supports under it). A job that does
//! not fit is refused with a message naming the sizes. Cube roots use Newton steps from
//! `+ − × ÷` only, so the plate is the same natively and in the browser.

use crate::mesh::measure::{bounding_box, mass_properties};
use crate::mesh::{io::MeshError, Mesh};

/// Errors of plate building.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlateError {
    /// The implant mesh is invalid.
    #[error("{0}")]
    Mesh(#[from] MeshError),
    /// The implant encloses no volume (not closed or inside out).
    #[error("the implant encloses no volume ({volume_mm3:.3} mm³); repair it into a closed, outward solid first")]
    NoVolume { volume_mm3: f64 },
    /// A parameter outside its valid range.
    #[error("invalid plate parameter: {0}")]
    InvalidParameter(String),
    /// The job does not fit in the build volume.
    #[error("the build job does not fit: {0}")]
    DoesNotFit(String),
}

/// Tensile coupon dimensions (mm), see the module doc.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CouponSpec {
    /// Width of the reduced section W. Default 6.
    pub gauge_width_mm: f64,
    /// Thickness T. Default 6.
    pub thickness_mm: f64,
    /// Length of the reduced (parallel) section A. Default 32.
    pub reduced_length_mm: f64,
    /// Gauge length G marked inside A (documentation, ≤ A). Default 25.
    pub gauge_length_mm: f64,
    /// Fillet radius R between the reduced section and the grips. Default 6.
    pub fillet_radius_mm: f64,
    /// Grip width C. Default 10.
    pub grip_width_mm: f64,
    /// Grip length B. Default 30.
    pub grip_length_mm: f64,
    /// Straight pieces per fillet (2..=64). Default 12.
    pub fillet_steps: usize,
}

impl Default for CouponSpec {
    fn default() -> Self {
        CouponSpec {
            gauge_width_mm: 6.0,
            thickness_mm: 6.0,
            reduced_length_mm: 32.0,
            gauge_length_mm: 25.0,
            fillet_radius_mm: 6.0,
            grip_width_mm: 10.0,
            grip_length_mm: 30.0,
            fillet_steps: 12,
        }
    }
}

impl CouponSpec {
    /// Height of the fillet along the pull axis: where the arc of radius R tangent to
    /// the reduced section reaches the grip width.
    pub fn fillet_length_mm(&self) -> f64 {
        let r = self.fillet_radius_mm;
        let step = 0.5 * (self.grip_width_mm - self.gauge_width_mm);
        (r * r - (r - step) * (r - step)).max(0.0).sqrt()
    }

    /// Overall length (mm): 2 B + 2 fillets + A.
    pub fn overall_length_mm(&self) -> f64 {
        2.0 * self.grip_length_mm + 2.0 * self.fillet_length_mm() + self.reduced_length_mm
    }

    fn validate(&self) -> Result<(), PlateError> {
        let all = [
            self.gauge_width_mm,
            self.thickness_mm,
            self.reduced_length_mm,
            self.gauge_length_mm,
            self.fillet_radius_mm,
            self.grip_width_mm,
            self.grip_length_mm,
        ];
        if !all.iter().all(|v| v.is_finite() && *v > 0.0) {
            return Err(PlateError::InvalidParameter(
                "every coupon dimension must be a finite length > 0 mm".into(),
            ));
        }
        if self.grip_width_mm <= self.gauge_width_mm {
            return Err(PlateError::InvalidParameter(format!(
                "coupon grip width {} mm must exceed the gauge width {} mm",
                self.grip_width_mm, self.gauge_width_mm
            )));
        }
        if self.fillet_radius_mm < 0.5 * (self.grip_width_mm - self.gauge_width_mm) {
            return Err(PlateError::InvalidParameter(format!(
                "coupon fillet radius {} mm is smaller than the width step {} mm",
                self.fillet_radius_mm,
                0.5 * (self.grip_width_mm - self.gauge_width_mm)
            )));
        }
        if self.gauge_length_mm > self.reduced_length_mm {
            return Err(PlateError::InvalidParameter(format!(
                "coupon gauge length {} mm exceeds the reduced section {} mm",
                self.gauge_length_mm, self.reduced_length_mm
            )));
        }
        if !(2..=64).contains(&self.fillet_steps) {
            return Err(PlateError::InvalidParameter(format!(
                "{} fillet steps: use 2 to 64",
                self.fillet_steps
            )));
        }
        Ok(())
    }
}

/// Options of [`build_plate`].
#[derive(Clone, Debug, PartialEq)]
pub struct PlateParams {
    /// Implant sizes as volume percentages, each in [50, 200]. Default 95, 100, 105.
    pub sizes_percent: Vec<f64>,
    /// Number of tensile coupons (0..=50). Default 2.
    pub coupons: usize,
    /// Coupon dimensions.
    pub coupon: CouponSpec,
    /// Gap between bounding boxes (mm), ≥ 0. Default 10.
    pub spacing_mm: f64,
    /// Free border along the plate edges (mm), ≥ 0. Default 5.
    pub margin_mm: f64,
    /// Build volume X × Y × Z (mm). Default 250 × 250 × 300.
    pub machine_mm: [f64; 3],
    /// Height of every object's lowest point above the plate (room for supports, mm).
    /// Default 0.
    pub lift_mm: f64,
}

impl Default for PlateParams {
    fn default() -> Self {
        PlateParams {
            sizes_percent: vec![95.0, 100.0, 105.0],
            coupons: 2,
            coupon: CouponSpec::default(),
            spacing_mm: 10.0,
            margin_mm: 5.0,
            machine_mm: [250.0, 250.0, 300.0],
            lift_mm: 0.0,
        }
    }
}

/// What an object on the plate is.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub enum PlateObjectKind {
    /// The implant at a volume percentage.
    Implant { percent: f64 },
    /// Tensile coupon number (from 1).
    Coupon { number: usize },
}

/// One object placed on the plate.
#[derive(Clone, Debug, PartialEq)]
pub struct PlateObject {
    /// Name for the 3MF file, e.g. "implant 95 %" or "coupon 1".
    pub name: String,
    /// What it is.
    pub kind: PlateObjectKind,
    /// The mesh in build space (mm).
    pub mesh: Mesh,
    /// Linear scale applied (1 for coupons).
    pub linear_scale: f64,
    /// Bounding box in build space (mm).
    pub min_mm: [f64; 3],
    /// Bounding box in build space (mm), supports included.
    pub max_mm: [f64; 3],
    /// Its supports in build space, when it has any.
    pub supports: Option<Mesh>,
}

/// A filled build plate.
#[derive(Clone, Debug, PartialEq)]
pub struct BuildPlate {
    /// Objects in placement order.
    pub objects: Vec<PlateObject>,
    /// Build volume (mm).
    pub machine_mm: [f64; 3],
}

impl BuildPlate {
    /// `(name, mesh)` pairs for [`write_3mf`](crate::mesh::io::write_3mf): each object,
    /// then its supports as "<name> supports".
    pub fn named_meshes(&self) -> Vec<(String, &Mesh)> {
        let mut out = Vec::new();
        for o in &self.objects {
            out.push((o.name.clone(), &o.mesh));
            if let Some(s) = &o.supports {
                out.push((format!("{} supports", o.name), s));
            }
        }
        out
    }

    /// The plate as a 3MF file with one named object per part and per support set.
    pub fn write_3mf(&self) -> Result<Vec<u8>, MeshError> {
        let named = self.named_meshes();
        let refs: Vec<(&str, &Mesh)> = named.iter().map(|(n, m)| (n.as_str(), *m)).collect();
        crate::mesh::io::write_3mf(&refs)
    }
}

/// Cube root of `a > 0` by Newton steps from a power-of-two start (`+ − × ÷` only).
pub fn det_cbrt(a: f64) -> f64 {
    if !(a.is_finite() && a > 0.0) {
        return f64::NAN;
    }
    let mut x = 1.0f64;
    while x * x * x < a {
        x *= 2.0;
    }
    while x * x * x > 8.0 * a {
        x *= 0.5;
    }
    for _ in 0..100 {
        let next = x - (x * x * x - a) / (3.0 * x * x);
        if next == x {
            break;
        }
        x = next;
    }
    x
}

/// Linear scale for a size given as a volume percentage: `∛(percent / 100)`.
pub fn linear_scale_for_volume_percent(percent: f64) -> f64 {
    det_cbrt(percent / 100.0)
}

/// A vertical dog-bone coupon standing on `z = 0`, centred on x = y = 0 (width along x,
/// thickness along y).
pub fn dog_bone(spec: &CouponSpec) -> Result<Mesh, PlateError> {
    spec.validate()?;
    let (w, c) = (0.5 * spec.gauge_width_mm, 0.5 * spec.grip_width_mm);
    let r = spec.fillet_radius_mm;
    let f = spec.fillet_length_mm();
    let b = spec.grip_length_mm;
    let a = spec.reduced_length_mm;
    // (z, half-width) levels from bottom to top.
    let mut levels: Vec<(f64, f64)> = vec![(0.0, c), (b, c)];
    let fillet = |u: f64| w + r - (r * r - u * u).max(0.0).sqrt(); // u = distance from A
    for k in 1..spec.fillet_steps {
        let u = f * (1.0 - k as f64 / spec.fillet_steps as f64);
        levels.push((b + f - u, fillet(u)));
    }
    levels.push((b + f, w));
    levels.push((b + f + a, w));
    for k in 1..spec.fillet_steps {
        let u = f * k as f64 / spec.fillet_steps as f64;
        levels.push((b + f + a + u, fillet(u)));
    }
    levels.push((b + 2.0 * f + a, c));
    levels.push((2.0 * b + 2.0 * f + a, c));
    let t = 0.5 * spec.thickness_mm;
    let mut p = Vec::with_capacity(levels.len() * 4);
    for &(z, hw) in &levels {
        p.extend_from_slice(&[[-hw, -t, z], [hw, -t, z], [hw, t, z], [-hw, t, z]]);
    }
    let mut tris: Vec<[u32; 3]> = vec![[0, 2, 1], [0, 3, 2]];
    for l in 0..levels.len() as u32 - 1 {
        let (lo, hi) = (4 * l, 4 * l + 4);
        for k in 0..4 {
            let k1 = (k + 1) % 4;
            tris.push([lo + k, lo + k1, hi + k1]);
            tris.push([lo + k, hi + k1, hi + k]);
        }
    }
    let top = 4 * (levels.len() as u32 - 1);
    tris.push([top, top + 1, top + 2]);
    tris.push([top, top + 2, top + 3]);
    Ok(Mesh::new(p, tris))
}

/// Places the implant sizes and the coupons on one plate; see the module doc.
pub fn build_plate(implant: &Mesh, params: &PlateParams) -> Result<BuildPlate, PlateError> {
    build_plate_with_supports(implant, params, &mut |_| Ok(None))
}

/// [`build_plate`] where `supports` makes the supports of each implant size: it gets the
/// size scaled and standing with its lowest point on `z = lift_mm` (same triangles as
/// `implant`) and returns the supports there, or `None`; an error text is returned as
/// [`PlateError::InvalidParameter`].
pub fn build_plate_with_supports(
    implant: &Mesh,
    params: &PlateParams,
    supports: &mut dyn FnMut(&Mesh) -> Result<Option<Mesh>, String>,
) -> Result<BuildPlate, PlateError> {
    let [mx, my, mz] = params.machine_mm;
    if ![mx, my, mz].iter().all(|v| v.is_finite() && *v > 0.0) {
        return Err(PlateError::InvalidParameter(
            "the build volume must be three finite lengths > 0 mm".into(),
        ));
    }
    for (name, v) in [
        ("spacing", params.spacing_mm),
        ("margin", params.margin_mm),
        ("lift", params.lift_mm),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(PlateError::InvalidParameter(format!(
                "{name} {v} mm must be a finite number ≥ 0"
            )));
        }
    }
    if params.sizes_percent.is_empty() && params.coupons == 0 {
        return Err(PlateError::InvalidParameter(
            "nothing to place: give at least one size or one coupon".into(),
        ));
    }
    if let Some(p) = params
        .sizes_percent
        .iter()
        .find(|p| !(p.is_finite() && (50.0..=200.0).contains(*p)))
    {
        return Err(PlateError::InvalidParameter(format!(
            "size {p} % is outside 50–200 % of the implant volume"
        )));
    }
    if params.coupons > 50 {
        return Err(PlateError::InvalidParameter(format!(
            "{} coupons: at most 50 on one plate",
            params.coupons
        )));
    }
    let mut objects: Vec<(String, PlateObjectKind, Mesh, f64, Option<Mesh>)> = Vec::new();
    if !params.sizes_percent.is_empty() {
        let mp = mass_properties(implant)?;
        if !(mp.volume_mm3 > 0.0 && mp.volume_mm3.is_finite()) {
            return Err(PlateError::NoVolume {
                volume_mm3: mp.volume_mm3,
            });
        }
        let g = mp.centroid_mm;
        for &pct in &params.sizes_percent {
            let s = linear_scale_for_volume_percent(pct);
            let mut m = implant.clone();
            for v in m.positions_mm.iter_mut() {
                *v = [0, 1, 2].map(|k| g[k] + s * (v[k] - g[k]));
            }
            let name = format!("implant {} %", fmt_percent(pct));
            // Stand it on the plate as placed, then make its supports there.
            let z0 = bounding_box(&m).map_or(0.0, |b| b.min_mm[2]);
            for v in m.positions_mm.iter_mut() {
                v[2] += params.lift_mm - z0;
            }
            let sup = supports(&m)
                .map_err(|e| PlateError::InvalidParameter(format!("supports of the {name}: {e}")))?
                .filter(|s| !s.triangles.is_empty());
            objects.push((name, PlateObjectKind::Implant { percent: pct }, m, s, sup));
        }
    }
    if params.coupons > 0 {
        let coupon = dog_bone(&params.coupon)?;
        for i in 1..=params.coupons {
            objects.push((
                format!("coupon {i}"),
                PlateObjectKind::Coupon { number: i },
                coupon.clone(),
                1.0,
                None,
            ));
        }
    }
    // Every object alone must fit.
    let usable = [mx - 2.0 * params.margin_mm, my - 2.0 * params.margin_mm];
    let mut boxes = Vec::with_capacity(objects.len());
    for (name, _, m, _, sup) in &objects {
        let bb = match sup {
            Some(s) => bounding_box(&crate::mesh::shapes::concat(&[m, s])),
            None => bounding_box(m),
        }
        .ok_or_else(|| PlateError::InvalidParameter(format!("the {name} has no vertices")))?;
        let e = bb.extent_mm();
        if e[0] > usable[0] || e[1] > usable[1] || e[2] + params.lift_mm > mz {
            return Err(PlateError::DoesNotFit(format!(
                "the {name} is {:.1} × {:.1} × {:.1} mm{} but the build volume is {mx} × {my} × {mz} mm ({} mm margins); reorient or scale the part, or choose a larger machine",
                e[0],
                e[1],
                e[2],
                if params.lift_mm > 0.0 { format!(" plus a {} mm lift", params.lift_mm) } else { String::new() },
                params.margin_mm
            )));
        }
        boxes.push(bb);
    }
    // Shelf packing in rows along +x.
    let (mut x, mut y, mut row_depth) = (params.margin_mm, params.margin_mm, 0.0f64);
    let mut placed = Vec::with_capacity(objects.len());
    for ((name, kind, mesh, s, sup), bb) in objects.into_iter().zip(boxes) {
        let e = bb.extent_mm();
        if x > params.margin_mm && x + e[0] > mx - params.margin_mm {
            x = params.margin_mm;
            y += row_depth + params.spacing_mm;
            row_depth = 0.0;
        }
        let offset = [
            x - bb.min_mm[0],
            y - bb.min_mm[1],
            params.lift_mm - bb.min_mm[2],
        ];
        let shift = |mut m: Mesh| {
            for v in m.positions_mm.iter_mut() {
                *v = [v[0] + offset[0], v[1] + offset[1], v[2] + offset[2]];
            }
            m
        };
        let m = shift(mesh);
        let supports = sup.map(shift);
        let min_mm = [0, 1, 2].map(|k| bb.min_mm[k] + offset[k]);
        let max_mm = [0, 1, 2].map(|k| bb.max_mm[k] + offset[k]);
        placed.push(PlateObject {
            name,
            kind,
            mesh: m,
            linear_scale: s,
            min_mm,
            max_mm,
            supports,
        });
        x += e[0] + params.spacing_mm;
        row_depth = row_depth.max(e[1]);
    }
    let needed_y = y + row_depth + params.margin_mm;
    if needed_y > my {
        let sizes: Vec<String> = params
            .sizes_percent
            .iter()
            .map(|p| fmt_percent(*p))
            .collect();
        return Err(PlateError::DoesNotFit(format!(
            "{} implant size(s) ({} %) and {} coupon(s) need {needed_y:.1} mm of plate depth at {} mm spacing but the build volume is {mx} × {my} × {mz} mm; place fewer objects, reduce the spacing or use a larger machine",
            params.sizes_percent.len(),
            sizes.join(" / "),
            params.coupons,
            params.spacing_mm
        )));
    }
    Ok(BuildPlate {
        objects: placed,
        machine_mm: params.machine_mm,
    })
}

/// "95", "100", "102.5": whole percentages without decimals.
fn fmt_percent(p: f64) -> String {
    if p == p.round() {
        format!("{}", p as i64)
    } else {
        format!("{p}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::repair::check;

    #[test]
    fn cube_root_is_exact_enough() {
        for a in [0.95, 1.0, 1.05, 8.0, 1e-6, 123456.0] {
            let c = det_cbrt(a);
            assert!((c * c * c - a).abs() <= 4.0 * f64::EPSILON * a, "{a}");
        }
        assert_eq!(det_cbrt(1.0), 1.0);
    }

    #[test]
    fn dog_bone_is_a_closed_solid_of_the_closed_form_volume() {
        let spec = CouponSpec {
            fillet_steps: 64,
            ..Default::default()
        };
        let m = dog_bone(&spec).unwrap();
        let rep = check(&m).unwrap();
        assert!(rep.is_clean_solid(), "{rep:?}");
        // V = T·(2 B C + A W + 2 ∫₀^f 2 (W/2 + R − √(R² − u²)) du).
        let (w, c, r, f) = (6.0f64, 10.0f64, 6.0f64, spec.fillet_length_mm());
        let integral =
            (w / 2.0 + r) * f - 0.5 * (f * (r * r - f * f).sqrt() + r * r * (f / r).asin());
        let want = 6.0 * (2.0 * 30.0 * c + 32.0 * w + 4.0 * integral);
        let got = rep.signed_volume_mm3;
        assert!((got - want).abs() < 1e-3 * want, "{got} vs {want}");
        assert!((spec.overall_length_mm() - 100.944).abs() < 1e-3);
    }
}
