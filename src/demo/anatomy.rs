//! The bones and body outline of one foot, and where each foot sits in the patient.
//!
//! # Local frame of a foot (mm)
//! Bones are defined once, for a right foot, in a local frame: `x` points medially (towards
//! the other foot), `y` posteriorly (towards the heel), `z` superiorly; `z = 0` is the sole
//! under the heel and the tibial axis passes near `x = 1, y = 2`. For the patient's right
//! foot local `x` is patient `+x` (patient left); the left foot is the mirror image
//! (`x → −x`) turned by a few degrees and shifted by a few millimetres, and two of its bones
//! are scaled by 2–3 %, so that mirrored-contralateral registration has real work to do.
//!
//! # Bones (per side, label order)
//! tibia (flared distal end, medial malleolus, plafond), fibula (thin shaft, lateral
//! malleolus reaching ~6 mm lower than the medial one), talus (dome, neck, head pointing
//! anteromedially, ~55 mm long), calcaneus (tuberosity at the heel, body, anterior process,
//! sustentaculum; ~80 mm long along `y`), navicular (in front of the talar head), cuboid
//! (in front of the calcaneus, lateral). Neighbouring bones are *carved* by each other:
//! a bone keeps only points at least the joint gap away from its neighbour's surface, so
//! articular surfaces are congruent and the joint space is guaranteed. Gaps are 2–2.5 mm,
//! narrowing to 1.6 mm at the sustentaculum (talus–calcaneus) and to 1.3 mm at the
//! syndesmosis (tibia–fibula) and navicular–cuboid contact — the places a later "split"
//! step has to work for.

use super::noise::uniform_pm1;
use super::shapes::{
    add, mul_mv, rotation_deg, smoothstep, sub, transpose, Aabb, Compound, Shape, M3, V3,
};
use super::Side;

/// Extra margin (mm) around every bone's bounds: larger than any joint gap plus blend, so
/// outside it a bone neither exists nor carves its neighbours.
pub const BOUNDS_MARGIN_MM: f64 = 6.0;

/// Cortical shell thickness (mm), ramping with local height `z` from `thin_mm` below
/// `z0_mm` to `thick_mm` above `z1_mm` (thicker in the tibial and fibular shafts).
#[derive(Clone, Copy, Debug)]
pub struct Cortex {
    pub thin_mm: f64,
    pub thick_mm: f64,
    pub z0_mm: f64,
    pub z1_mm: f64,
}

impl Cortex {
    const fn uniform(mm: f64) -> Cortex {
        Cortex {
            thin_mm: mm,
            thick_mm: mm,
            z0_mm: 0.0,
            z1_mm: 1.0,
        }
    }

    /// The thickest this cortex gets (mm).
    pub fn max_mm(&self) -> f64 {
        self.thin_mm.max(self.thick_mm)
    }

    #[inline]
    pub fn at(&self, p: V3) -> f64 {
        self.thin_mm
            + (self.thick_mm - self.thin_mm)
                * smoothstep((p[2] - self.z0_mm) / (self.z1_mm - self.z0_mm))
    }
}

/// "Keep away from bone `by` by `gap_mm`", narrowing to `narrow_mm` where local `x` passes
/// from `narrow_from_x` to `narrow_to_x` (no narrowing when equal to `gap_mm`).
#[derive(Clone, Copy, Debug)]
pub struct Carve {
    pub by: usize,
    pub gap_mm: f64,
    pub narrow_mm: f64,
    pub narrow_from_x: f64,
    pub narrow_to_x: f64,
}

impl Carve {
    const fn uniform(by: usize, gap_mm: f64) -> Carve {
        Carve {
            by,
            gap_mm,
            narrow_mm: gap_mm,
            narrow_from_x: 0.0,
            narrow_to_x: 1.0,
        }
    }

    #[inline]
    pub fn gap_at(&self, p: V3) -> f64 {
        if self.narrow_mm == self.gap_mm {
            return self.gap_mm;
        }
        let t = smoothstep((p[0] - self.narrow_from_x) / (self.narrow_to_x - self.narrow_from_x));
        self.gap_mm + (self.narrow_mm - self.gap_mm) * t
    }

    /// The smallest gap this carve can produce (mm).
    pub fn min_gap_mm(&self) -> f64 {
        self.gap_mm.min(self.narrow_mm)
    }
}

/// One bone of one foot.
#[derive(Clone, Debug)]
pub struct BoneDef {
    /// Anatomical name, e.g. "talus".
    pub bone: &'static str,
    pub shape: Compound,
    /// Neighbours this bone is carved by (indices into the foot's bone list).
    pub carves: Vec<Carve>,
    pub cortex: Cortex,
    /// Cortical and mean trabecular HU.
    pub cortical_hu: f64,
    pub trabecular_hu: f64,
    /// Local-frame bounds including [`BOUNDS_MARGIN_MM`].
    pub bounds: Aabb,
}

/// Bone order within a foot; label = first label of the side + index.
pub const BONE_NAMES: [&str; 6] = [
    "tibia",
    "fibula",
    "talus",
    "calcaneus",
    "navicular",
    "cuboid",
];
pub const TIBIA: usize = 0;
pub const FIBULA: usize = 1;
pub const TALUS: usize = 2;
pub const CALCANEUS: usize = 3;
pub const NAVICULAR: usize = 4;
pub const CUBOID: usize = 5;

/// Subcutaneous fat thickness under the skin (mm).
pub const FAT_MM: f64 = 4.0;

/// Placement of a foot's local frame in patient LPS coordinates.
#[derive(Clone, Debug)]
pub struct FootFrame {
    /// +1 for the right foot (local x = patient x), −1 for the mirrored left foot.
    pub mirror: f64,
    /// Patient x (mm) of the local origin.
    pub centre_x_mm: f64,
    /// Rotation about `pivot`, then translation by `offset_mm`, in the un-mirrored frame.
    pub rotation: M3,
    pub pivot: V3,
    pub offset_mm: V3,
}

impl FootFrame {
    /// Patient LPS position (mm) of a local point.
    pub fn patient_from_local(&self, l: V3) -> V3 {
        let q = add(
            add(mul_mv(&self.rotation, sub(l, self.pivot)), self.pivot),
            self.offset_mm,
        );
        [self.centre_x_mm + self.mirror * q[0], q[1], q[2]]
    }

    /// Local position of a patient LPS point (mm).
    pub fn local_from_patient(&self, p: V3) -> V3 {
        let q = [(p[0] - self.centre_x_mm) * self.mirror, p[1], p[2]];
        let rt = transpose(&self.rotation);
        add(
            mul_mv(&rt, sub(sub(q, self.pivot), self.offset_mm)),
            self.pivot,
        )
    }

    /// Change of the local position per +1 mm of patient x.
    pub fn local_per_patient_x(&self) -> V3 {
        let rt = transpose(&self.rotation);
        mul_mv(&rt, [self.mirror, 0.0, 0.0])
    }

    /// Patient-space bounds of a local box.
    pub fn patient_bounds(&self, b: &Aabb) -> Aabb {
        let mut out = Aabb::EMPTY;
        for c in b.corners() {
            let p = self.patient_from_local(c.map(|v| v.clamp(-1.0e4, 1.0e4)));
            out = out.union(Aabb { min: p, max: p });
        }
        out
    }
}

/// One side: frame, bones, body outline.
#[derive(Clone, Debug)]
pub struct Foot {
    pub side: Side,
    pub first_label: u8,
    pub frame: FootFrame,
    pub bones: Vec<BoneDef>,
    /// Skin surface of the leg and foot.
    pub envelope: Compound,
}

/// Small per-side variations of the right-foot template.
struct Variation {
    talus_scale: f64,
    calcaneus_scale: f64,
}

fn bone(
    bone: &'static str,
    shape: Compound,
    carves: Vec<Carve>,
    cortex: Cortex,
    cortical_hu: f64,
    trabecular_hu: f64,
) -> BoneDef {
    let bounds = shape.bounds().grown(BOUNDS_MARGIN_MM);
    BoneDef {
        bone,
        shape,
        carves,
        cortex,
        cortical_hu,
        trabecular_hu,
        bounds,
    }
}

/// The six bones of a right foot in its local frame.
fn bones(v: &Variation) -> Vec<BoneDef> {
    let tibia = Compound::new(Shape::swept(
        [1.0, 2.0, 96.0],
        [1.5, 3.0, 400.0],
        [13.5, 12.5, 12.5],
        0.0,
        0.0,
    ))
    .union(
        Shape::ellipsoid([1.0, 2.0, 82.0], [18.0, 16.0, 14.0], 0.0, 0.0),
        10.0,
    )
    .intersect(
        Shape::HalfSpace {
            normal: [0.0, 0.0, -1.0],
            offset: -71.0,
        },
        3.0,
    )
    .union(
        Shape::ellipsoid([19.0, 3.0, 70.0], [6.0, 10.0, 13.0], 0.0, 0.0),
        5.0,
    );
    let fibula = Compound::new(Shape::swept(
        [-22.0, 9.0, 78.0],
        [-23.5, 10.0, 400.0],
        [6.5, 6.5, 6.5],
        0.0,
        0.0,
    ))
    .union(
        Shape::ellipsoid([-21.0, 8.0, 64.0], [7.0, 11.0, 15.0], 0.0, -5.0),
        6.0,
    );
    let talus_centre = [1.0, -2.0, 58.0];
    let talus = Compound::new(Shape::ellipsoid(
        [0.0, 2.0, 62.0],
        [16.0, 16.5, 16.0],
        0.0,
        0.0,
    ))
    .union(
        Shape::ellipsoid([-3.0, 17.0, 52.0], [6.0, 5.5, 6.0], 0.0, 0.0),
        4.0,
    )
    .union(
        Shape::swept(
            [1.0, -6.0, 58.0],
            [4.0, -20.0, 53.0],
            [10.0, 9.0, 9.0],
            0.0,
            0.0,
        ),
        6.0,
    )
    .union(
        Shape::ellipsoid([5.0, -25.0, 52.0], [14.0, 9.0, 11.0], -20.0, 0.0),
        5.0,
    )
    .scaled(v.talus_scale, talus_centre);
    let calc_centre = [-5.0, 10.0, 32.0];
    let calcaneus = Compound::new(Shape::ellipsoid(
        [-3.0, 34.0, 29.0],
        [14.0, 14.0, 17.0],
        0.0,
        0.0,
    ))
    .union(
        Shape::swept(
            [-4.0, 26.0, 32.0],
            [-8.0, -12.0, 35.0],
            [14.0, 14.0, 14.0],
            0.0,
            0.0,
        ),
        8.0,
    )
    .union(
        Shape::ellipsoid([-10.0, -19.0, 34.0], [11.0, 12.0, 10.0], 0.0, 0.0),
        6.0,
    )
    .union(
        Shape::ellipsoid([11.0, 0.0, 43.0], [9.0, 10.0, 5.0], 0.0, 0.0),
        4.0,
    )
    .scaled(v.calcaneus_scale, calc_centre);
    let navicular = Compound::new(Shape::ellipsoid(
        [6.0, -40.0, 50.0],
        [16.0, 8.0, 12.0],
        15.0,
        0.0,
    ))
    .union(
        Shape::ellipsoid([19.0, -38.0, 45.0], [6.0, 6.0, 6.0], 0.0, 0.0),
        4.0,
    );
    let cuboid = Compound::new(Shape::round_box(
        [-14.0, -44.0, 30.0],
        [11.0, 10.0, 11.0],
        4.0,
        -10.0,
    ));

    let shaft_cortex = Cortex {
        thin_mm: 1.6,
        thick_mm: 3.0,
        z0_mm: 85.0,
        z1_mm: 110.0,
    };
    vec![
        bone(
            "tibia",
            tibia,
            vec![Carve::uniform(TALUS, 2.5)],
            shaft_cortex,
            1500.0,
            300.0,
        ),
        bone(
            "fibula",
            fibula,
            vec![
                Carve::uniform(TIBIA, 1.3),
                Carve::uniform(TALUS, 2.0),
                Carve::uniform(CALCANEUS, 2.0),
            ],
            Cortex {
                thin_mm: 1.5,
                thick_mm: 2.2,
                z0_mm: 75.0,
                z1_mm: 95.0,
            },
            1450.0,
            320.0,
        ),
        bone("talus", talus, vec![], Cortex::uniform(1.6), 1350.0, 350.0),
        bone(
            "calcaneus",
            calcaneus,
            vec![Carve {
                by: TALUS,
                gap_mm: 2.2,
                narrow_mm: 1.6,
                narrow_from_x: 4.0,
                narrow_to_x: 10.0,
            }],
            Cortex::uniform(1.5),
            1300.0,
            270.0,
        ),
        bone(
            "navicular",
            navicular,
            vec![Carve::uniform(TALUS, 2.0), Carve::uniform(CALCANEUS, 2.0)],
            Cortex::uniform(1.5),
            1300.0,
            330.0,
        ),
        bone(
            "cuboid",
            cuboid,
            vec![
                Carve::uniform(CALCANEUS, 2.0),
                Carve::uniform(NAVICULAR, 1.3),
                Carve::uniform(TALUS, 2.0),
            ],
            Cortex::uniform(1.5),
            1300.0,
            320.0,
        ),
    ]
}

/// Skin of leg and foot: a vertical elliptic leg blended into a foot running anteriorly
/// out of the field of view.
fn envelope() -> Compound {
    Compound::new(Shape::swept(
        [-5.0, 7.0, 50.0],
        [-5.0, 7.0, 400.0],
        [37.0, 29.0, 29.0],
        0.0,
        0.0,
    ))
    .union(
        Shape::swept(
            [-4.0, 38.0, 34.0],
            [-2.0, -200.0, 36.0],
            [40.0, 22.0, 34.0],
            0.0,
            0.0,
        ),
        15.0,
    )
}

/// Both feet for `seed`: the patient's right foot at x ≈ −49 mm, the mirrored left foot at
/// x ≈ +51 mm with a seed-dependent pose a few degrees/millimetres away from the mirror
/// image.
pub fn feet(seed: u64) -> [Foot; 2] {
    let j = |n: u64| uniform_pm1(seed ^ 0x5eed_a5a5, n);
    let pivot = [0.0, 0.0, 60.0];
    let right = Foot {
        side: Side::Right,
        first_label: 1,
        frame: FootFrame {
            mirror: 1.0,
            centre_x_mm: -49.0 + 1.0 * j(0),
            rotation: rotation_deg(-1.5 + 0.5 * j(1), 0.0, 0.0),
            pivot,
            offset_mm: [0.0, 0.0, 0.0],
        },
        bones: bones(&Variation {
            talus_scale: 1.0,
            calcaneus_scale: 1.0,
        }),
        envelope: envelope(),
    };
    let left = Foot {
        side: Side::Left,
        first_label: 7,
        frame: FootFrame {
            mirror: -1.0,
            centre_x_mm: 51.0 + 1.0 * j(2),
            rotation: rotation_deg(4.0 + 1.0 * j(3), -3.0 + 1.0 * j(4), 2.0 + 0.5 * j(5)),
            pivot,
            offset_mm: [0.5 * j(6), 2.5 + 0.5 * j(7), -2.0 + 0.5 * j(8)],
        },
        bones: bones(&Variation {
            talus_scale: 1.03,
            calcaneus_scale: 0.98,
        }),
        envelope: envelope(),
    };
    [right, left]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_map_patient_to_local_and_back() {
        for foot in feet(5) {
            let p = [foot.frame.centre_x_mm + 3.0, -12.0, 44.0];
            let back = foot
                .frame
                .patient_from_local(foot.frame.local_from_patient(p));
            for a in 0..3 {
                assert!((back[a] - p[a]).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn local_x_points_medially_on_both_sides() {
        let [right, left] = feet(1);
        let (r0, r1) = (
            right.frame.patient_from_local([0.0, 0.0, 60.0]),
            right.frame.patient_from_local([10.0, 0.0, 60.0]),
        );
        let (l0, l1) = (
            left.frame.patient_from_local([0.0, 0.0, 60.0]),
            left.frame.patient_from_local([10.0, 0.0, 60.0]),
        );
        assert!(
            r0[0] < 0.0 && r1[0] > r0[0] + 9.0,
            "right medial is towards +x"
        );
        assert!(
            l0[0] > 0.0 && l1[0] < l0[0] - 9.0,
            "left medial is towards −x"
        );
        let between = l0[0] - r0[0];
        assert!(
            (90.0..=110.0).contains(&between),
            "{between} mm between the ankles"
        );
    }

    #[test]
    fn the_seed_moves_only_the_left_foot_a_little() {
        let (a, b) = (feet(1), feet(2));
        let p = [0.0, 0.0, 60.0];
        let d = |f: &Foot, g: &Foot| {
            let (x, y) = (f.frame.patient_from_local(p), g.frame.patient_from_local(p));
            ((x[0] - y[0]).powi(2) + (x[1] - y[1]).powi(2) + (x[2] - y[2]).powi(2)).sqrt()
        };
        assert!(d(&a[0], &b[0]) <= 2.0);
        let dl = d(&a[1], &b[1]);
        assert!(dl > 0.0 && dl < 4.0, "{dl}");
    }

    #[test]
    fn bone_bounds_hold_every_point_near_the_bone() {
        let foot = &feet(1)[0];
        for b in &foot.bones {
            let inner = b.shape.bounds();
            let outer = b.bounds;
            // Points between the shape's own bounds and the margin box are far from the bone.
            let (lo, hi) = (outer.min, outer.max.map(|v| v.min(140.0)));
            let mut x = lo[0];
            while x <= hi[0] {
                let mut y = lo[1];
                while y <= hi[1] {
                    let mut z = lo[2];
                    while z <= hi[2] {
                        let p = [x, y, z];
                        if !inner.grown(2.0).contains(p) {
                            assert!(b.shape.sdf(p) > 2.0, "{} at {p:?}", b.bone);
                        }
                        z += 1.5;
                    }
                    y += 1.5;
                }
                x += 1.5;
            }
        }
    }

    #[test]
    fn every_carve_refers_to_another_bone_and_keeps_a_positive_gap() {
        for foot in feet(1) {
            assert_eq!(foot.bones.len(), BONE_NAMES.len());
            for (n, b) in foot.bones.iter().enumerate() {
                assert_eq!(b.bone, BONE_NAMES[n]);
                for c in &b.carves {
                    assert_ne!(c.by, n);
                    assert!(c.min_gap_mm() >= 1.0 && c.min_gap_mm() + 1.0 < BOUNDS_MARGIN_MM);
                }
            }
        }
    }
}
