//! Rasterising the anatomy into a CT volume and a label volume, slice by slice.
//!
//! Each voxel centre is mapped into a foot's local frame and classified from signed
//! distances: air/table, subcutaneous fat, soft tissue, cortical shell, trabecular bone.
//! Transitions go through a cubic ramp of half-width `w` = (sx + sy + sz) / 6 mm (≈ one
//! in-plane voxel in total) to imitate partial-volume blur. A voxel is labelled with the
//! bone whose (carved) interior contains its centre.
//!
//! Speed: only bones whose bounds contain the row are evaluated, and along a row the
//! distance value lets us skip voxels that are surely far outside every bone (or deep in
//! trabecular bone, or in air/deep soft tissue), stepping 70 % of the distance to the
//! nearest transition (never past a bone's bounds entering the row). The skip is a pure
//! function of the row, so results do not depend on evaluation order or platform.

use super::anatomy::{Foot, FAT_MM};
use super::noise::{gaussianish, stream_key, value_noise};
use super::shapes::{smax, smoothstep, Aabb, Compound, V3};
use super::DemoParams;
use crate::progress::Progress;
use crate::volume::Volume;

/// Patient LPS point (mm) at the centre of the demo grid.
pub const GRID_CENTRE_MM: V3 = [0.0, 0.0, 58.0];

/// Air (HU).
pub const AIR_HU: f64 = -1000.0;
/// Subcutaneous fat (HU).
pub const FAT_HU: f64 = -100.0;
/// Muscle, tendon and other soft tissue (HU).
pub const SOFT_TISSUE_HU: f64 = 40.0;
/// Carbon-fibre shell of the CT table (HU): bone-bright, never labelled.
pub const TABLE_SHELL_HU: f64 = 320.0;
/// Foam core of the table under the shell (HU).
pub const TABLE_FOAM_HU: f64 = -850.0;
/// Peak-to-mean amplitude of the trabecular texture (HU) and its lattice cell (mm).
pub const TRABECULAR_TEXTURE_HU: f64 = 90.0;
pub const TRABECULAR_CELL_MM: f64 = 1.4;
/// Table top: `y = TABLE_TOP_Y_MM − TABLE_CURVE_PER_MM · x²`, shell thickness in mm.
pub const TABLE_TOP_Y_MM: f64 = 70.0;
pub const TABLE_CURVE_PER_MM: f64 = 0.0005;
pub const TABLE_SHELL_MM: f64 = 5.0;
/// Blend radius (mm) of the carving between neighbouring bones.
const CARVE_BLEND_MM: f64 = 1.0;
/// Longest run of voxels skipped without evaluating.
const MAX_SKIP: usize = 64;
/// Fraction of the distance to the nearest transition that a skip may cover (the
/// distance estimates are close to, but not exactly, 1-Lipschitz).
const SKIP_SAFETY: f64 = 0.7;
const MAX_BONES: usize = 8;
const TEXTURE_SEED_SALT: u64 = 0x7ea8_b0e5;

/// Patient position (mm) of voxel (0, 0, 0) so the grid is centred on [`GRID_CENTRE_MM`].
pub fn grid_origin(dims: [usize; 3], spacing_mm: [f64; 3]) -> V3 {
    [0, 1, 2].map(|a| GRID_CENTRE_MM[a] - (dims[a] as f64 - 1.0) * 0.5 * spacing_mm[a])
}

/// 1 well inside (`d ≤ −w`), 0 well outside (`d ≥ w`), cubic in between.
#[inline]
fn inside(d: f64, w: f64) -> f64 {
    smoothstep((w - d) / (2.0 * w))
}

/// Air or patient table at patient (x, y); independent of z.
fn background_hu(x: f64, y: f64, w: f64) -> f64 {
    let top = TABLE_TOP_Y_MM - TABLE_CURVE_PER_MM * x * x;
    let in_table = inside(top - y, w);
    if in_table == 0.0 {
        return AIR_HU;
    }
    let in_foam = inside(top + TABLE_SHELL_MM - y, w);
    let table = TABLE_SHELL_HU + in_foam * (TABLE_FOAM_HU - TABLE_SHELL_HU);
    AIR_HU + in_table * (table - AIR_HU)
}

/// Per-foot precomputed patient-space bounds.
struct FootBounds {
    region: Aabb,
    envelope: Aabb,
    bones: Vec<Aabb>,
}

/// Index range `[lo, hi]` of voxels along x whose centres lie in `[x0, x1]`, clipped to
/// the grid; empty as `lo > hi`.
fn i_range(x0: f64, x1: f64, ox: f64, sx: f64, nx: usize) -> (usize, usize) {
    let lo = ((x0 - ox) / sx).ceil().max(0.0);
    let hi = ((x1 - ox) / sx).floor().min(nx as f64 - 1.0);
    if lo > hi {
        (1, 0)
    } else {
        (lo as usize, hi as usize)
    }
}

#[derive(Clone, Copy)]
enum BoneState {
    /// Farther than `w` from every bone.
    Outside,
    /// Deeper than the cortex plus `w` inside bone `b`.
    Deep(usize),
    /// Near a surface: `carved` holds every bone's distance, `best` the nearest.
    Exact(usize, f64),
}

/// Tissue class of a run of voxels along a row.
#[derive(Clone, Copy)]
enum Skin {
    /// Outside the body: keep the background (air or table).
    Background,
    /// Deeper than the fat layer.
    Soft,
    /// At the skin or in the fat: blend `in_body` of `tissue_hu` over the background.
    Exact { in_body: f64, tissue_hu: f64 },
}

/// Walks the body outline along one row, remembering how far the last answer holds.
struct SkinCursor<'a> {
    envelope: &'a Compound,
    lo: usize,
    hi: usize,
    class: Skin,
    valid_to: usize,
    w: f64,
    sx: f64,
}

impl SkinCursor<'_> {
    /// Tissue at voxel `i` (local position `l`) and the end (exclusive) of the run it holds for.
    #[inline]
    fn at(&mut self, i: usize, l: V3) -> (Skin, usize) {
        if i < self.lo || self.lo > self.hi {
            return (
                Skin::Background,
                if self.lo > self.hi {
                    usize::MAX
                } else {
                    self.lo
                },
            );
        }
        if i > self.hi {
            return (Skin::Background, usize::MAX);
        }
        if i < self.valid_to {
            return (self.class, self.valid_to.min(self.hi + 1));
        }
        let (w, sx) = (self.w, self.sx);
        let d = self.envelope.sdf(l);
        if d > w {
            self.class = Skin::Background;
            self.valid_to = i + 1 + skip_count(d - w, sx);
        } else if d < -(FAT_MM + w) {
            self.class = Skin::Soft;
            self.valid_to = i + 1 + skip_count(-d - FAT_MM - w, sx);
        } else {
            self.valid_to = i + 1;
            let in_deep = inside(d + FAT_MM, w);
            return (
                Skin::Exact {
                    in_body: inside(d, w),
                    tissue_hu: FAT_HU + in_deep * (SOFT_TISSUE_HU - FAT_HU),
                },
                i + 1,
            );
        }
        (self.class, self.valid_to.min(self.hi + 1))
    }
}

/// Rasterise both feet; `None` when `progress` cancels.
pub fn rasterise(
    params: &DemoParams,
    feet: &[Foot; 2],
    progress: &mut dyn Progress,
) -> Option<(Volume<i16>, Volume<u8>)> {
    let [nx, ny, nz] = params.dims;
    let [sx, sy, sz] = params.spacing_mm;
    let origin = grid_origin(params.dims, params.spacing_mm);
    let w = (sx + sy + sz) / 6.0;
    let mut ct = Volume::filled(params.dims, params.spacing_mm, origin, 0i16);
    let mut labels = Volume::filled(params.dims, params.spacing_mm, origin, 0u8);
    let texture_seed = params.seed ^ TEXTURE_SEED_SALT;
    let noise_key = stream_key(params.seed);

    let mut background = vec![0.0f64; nx * ny];
    for j in 0..ny {
        let y = origin[1] + j as f64 * sy;
        for i in 0..nx {
            background[i + nx * j] = background_hu(origin[0] + i as f64 * sx, y, w);
        }
    }

    let bounds: Vec<FootBounds> = feet
        .iter()
        .map(|f| {
            let envelope = f
                .frame
                .patient_bounds(&f.envelope.bounds().grown(2.0 * w + 1.0));
            let bones: Vec<Aabb> = f
                .bones
                .iter()
                .map(|b| f.frame.patient_bounds(&b.bounds))
                .collect();
            let region = bones.iter().fold(envelope, |acc, b| acc.union(*b));
            FootBounds {
                region,
                envelope,
                bones,
            }
        })
        .collect();

    let slice_len = nx * ny;
    let mut hu = vec![0.0f64; slice_len];
    for k in 0..nz {
        let z = origin[2] + k as f64 * sz;
        hu.copy_from_slice(&background);
        let label_slice = &mut labels.data[k * slice_len..(k + 1) * slice_len];
        for (foot, fb) in feet.iter().zip(&bounds) {
            if z < fb.region.min[2] || z > fb.region.max[2] {
                continue;
            }
            for j in 0..ny {
                let y = origin[1] + j as f64 * sy;
                if y < fb.region.min[1] || y > fb.region.max[1] {
                    continue;
                }
                let row = j * nx;
                rasterise_row(
                    foot,
                    fb,
                    RowGeometry {
                        y,
                        z,
                        ox: origin[0],
                        sx,
                        nx,
                        w,
                        texture_seed,
                    },
                    &mut hu[row..row + nx],
                    &mut label_slice[row..row + nx],
                );
            }
        }
        let base = (k * slice_len) as u64;
        let out = &mut ct.data[k * slice_len..(k + 1) * slice_len];
        for (n, (o, &v)) in out.iter_mut().zip(&hu).enumerate() {
            let noisy = v + params.noise_hu * gaussianish(noise_key, base + n as u64);
            *o = round_to_i16(noisy);
        }
        if !progress.report(k + 1, nz) {
            return None;
        }
    }
    Some((ct, labels))
}

/// Round half up and saturate, without calling the platform's `round` (slow where SSE4.1
/// is not assumed; exact either way).
#[inline]
fn round_to_i16(v: f64) -> i16 {
    let r = (v + 0.5).clamp(i16::MIN as f64, i16::MAX as f64);
    let t = r as i32; // truncates towards zero
    (if (t as f64) > r { t - 1 } else { t }) as i16
}

#[derive(Clone, Copy)]
struct RowGeometry {
    y: f64,
    z: f64,
    ox: f64,
    sx: f64,
    nx: usize,
    w: f64,
    texture_seed: u64,
}

fn skip_count(excess_mm: f64, sx: f64) -> usize {
    ((excess_mm * SKIP_SAFETY / sx).floor().max(0.0) as usize).min(MAX_SKIP)
}

fn rasterise_row(foot: &Foot, fb: &FootBounds, g: RowGeometry, hu: &mut [f64], labels: &mut [u8]) {
    let RowGeometry {
        y,
        z,
        ox,
        sx,
        nx,
        w,
        texture_seed,
    } = g;
    let (i0, i1) = i_range(fb.region.min[0], fb.region.max[0], ox, sx, nx);
    if i0 > i1 {
        return;
    }
    let nb = foot.bones.len();
    assert!(nb <= MAX_BONES);
    // Voxel range of each bone's bounds on this row (lo = MAX when the row misses it).
    let mut lo = [usize::MAX; MAX_BONES];
    let mut hi = [0usize; MAX_BONES];
    for (b, bb) in fb.bones.iter().enumerate() {
        if y >= bb.min[1] && y <= bb.max[1] && z >= bb.min[2] && z <= bb.max[2] {
            let (l, h) = i_range(bb.min[0], bb.max[0], ox, sx, nx);
            if l <= h {
                lo[b] = l;
                hi[b] = h;
            }
        }
    }
    let (env_lo, env_hi) = if y >= fb.envelope.min[1]
        && y <= fb.envelope.max[1]
        && z >= fb.envelope.min[2]
        && z <= fb.envelope.max[2]
    {
        i_range(fb.envelope.min[0], fb.envelope.max[0], ox, sx, nx)
    } else {
        (1, 0)
    };
    let mut skin = SkinCursor {
        envelope: &foot.envelope,
        lo: env_lo,
        hi: env_hi,
        class: Skin::Background,
        valid_to: 0,
        w,
        sx,
    };

    let l0 = foot.frame.local_from_patient([ox, y, z]);
    let dl = foot.frame.local_per_patient_x().map(|v| v * sx);
    let local = |i: usize| {
        let fi = i as f64;
        [l0[0] + fi * dl[0], l0[1] + fi * dl[1], l0[2] + fi * dl[2]]
    };
    let patient = |i: usize| [ox + i as f64 * sx, y, z];

    let mut state = BoneState::Outside;
    let mut state_valid_to = 0usize; // `state` holds for voxels < state_valid_to
    let mut base = [f64::INFINITY; MAX_BONES];
    let mut carved = [f64::INFINITY; MAX_BONES];
    let end = i1 + 1;
    let mut i = i0;
    while i < end {
        if i >= state_valid_to {
            let l = local(i);
            let mut any = false;
            for b in 0..nb {
                base[b] = if lo[b] <= i && i <= hi[b] {
                    any = true;
                    foot.bones[b].shape.sdf(l)
                } else {
                    f64::INFINITY
                };
            }
            let mut m = f64::INFINITY;
            let mut best = 0;
            if any {
                for b in 0..nb {
                    let mut d = base[b];
                    if d.is_finite() {
                        for c in &foot.bones[b].carves {
                            let other = base[c.by];
                            if other.is_finite() {
                                d = smax(d, c.gap_at(l) - other, CARVE_BLEND_MM);
                            }
                        }
                    }
                    carved[b] = d;
                    if d < m {
                        m = d;
                        best = b;
                    }
                }
            }
            // The next voxel where a bone not yet in play enters the row ends any skip.
            let next_entry = (0..nb)
                .filter(|&b| lo[b] != usize::MAX && lo[b] > i)
                .map(|b| lo[b])
                .min()
                .unwrap_or(usize::MAX);
            let deep_mm = if m.is_finite() {
                foot.bones[best].cortex.max_mm() + w
            } else {
                0.0
            };
            if m > w {
                state = BoneState::Outside;
                state_valid_to = (i + 1 + skip_count(m - w, sx)).min(next_entry);
            } else if m < -deep_mm {
                state = BoneState::Deep(best);
                state_valid_to = (i + 1 + skip_count(-m - deep_mm, sx)).min(next_entry);
            } else {
                state = BoneState::Exact(best, m);
                state_valid_to = i + 1;
            }
        }
        let run_end = state_valid_to.min(end);
        match state {
            BoneState::Deep(b) => {
                let bd = &foot.bones[b];
                let label = foot.first_label + b as u8;
                for ii in i..run_end {
                    labels[ii] = label;
                    hu[ii] = bd.trabecular_hu
                        + TRABECULAR_TEXTURE_HU
                            * value_noise(texture_seed, patient(ii), TRABECULAR_CELL_MM);
                }
                i = run_end;
            }
            BoneState::Outside => {
                while i < run_end {
                    let (class, skin_end) = skin.at(i, local(i));
                    let skin_end = skin_end.min(run_end);
                    match class {
                        Skin::Background => {}
                        Skin::Soft => hu[i..skin_end].fill(SOFT_TISSUE_HU),
                        Skin::Exact { in_body, tissue_hu } => {
                            hu[i] += in_body * (tissue_hu - hu[i])
                        }
                    }
                    i = skin_end;
                }
            }
            BoneState::Exact(best, m) => {
                let l = local(i);
                let mut v = hu[i];
                match skin.at(i, l).0 {
                    Skin::Background => {}
                    Skin::Soft => v = SOFT_TISSUE_HU,
                    Skin::Exact { in_body, tissue_hu } => v += in_body * (tissue_hu - v),
                }
                let p = patient(i);
                for (b, &d) in carved.iter().enumerate().take(nb) {
                    if d >= w {
                        continue;
                    }
                    let bd = &foot.bones[b];
                    let a = inside(d, w);
                    let deep = inside(d + bd.cortex.at(l), w);
                    let mut bone_hu = bd.cortical_hu;
                    if deep > 0.0 {
                        let trab = bd.trabecular_hu
                            + TRABECULAR_TEXTURE_HU
                                * value_noise(texture_seed, p, TRABECULAR_CELL_MM);
                        bone_hu += deep * (trab - bone_hu);
                    }
                    v += a * (bone_hu - v);
                }
                hu[i] = v;
                if m < 0.0 {
                    labels[i] = foot.first_label + best as u8;
                }
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_half_up_and_saturates() {
        assert_eq!(round_to_i16(0.49), 0);
        assert_eq!(round_to_i16(0.5), 1);
        assert_eq!(round_to_i16(-0.5), 0);
        assert_eq!(round_to_i16(-0.51), -1);
        assert_eq!(round_to_i16(-1000.2), -1000);
        assert_eq!(round_to_i16(1e9), i16::MAX);
        assert_eq!(round_to_i16(-1e9), i16::MIN);
    }

    #[test]
    fn grid_is_centred_on_the_ankles() {
        let o = grid_origin([448, 320, 128], [0.5, 0.5, 1.0]);
        assert_eq!(o, [-111.75, -79.75, -5.5]);
        let o = grid_origin([1, 1, 1], [2.0; 3]);
        assert_eq!(o, GRID_CENTRE_MM);
    }

    #[test]
    fn table_is_a_bright_shell_over_foam_below_air() {
        let w = 0.25;
        assert_eq!(background_hu(0.0, 60.0, w), AIR_HU);
        assert_eq!(background_hu(0.0, TABLE_TOP_Y_MM + 2.0, w), TABLE_SHELL_HU);
        assert_eq!(
            background_hu(0.0, TABLE_TOP_Y_MM + TABLE_SHELL_MM + 2.0, w),
            TABLE_FOAM_HU
        );
        // Curved: the edges rise towards the patient.
        assert_eq!(
            background_hu(100.0, TABLE_TOP_Y_MM - 3.0, w),
            TABLE_SHELL_HU
        );
        let mid = background_hu(0.0, TABLE_TOP_Y_MM, w);
        assert!(mid > AIR_HU && mid < TABLE_SHELL_HU);
    }

    #[test]
    fn noise_free_values_stay_between_air_and_cortex() {
        let p = DemoParams {
            noise_hu: 0.0,
            ..DemoParams::coarse(2.0)
        };
        let (ct, labels) = rasterise(
            &p,
            &super::super::anatomy::feet(1),
            &mut crate::progress::NoProgress,
        )
        .unwrap();
        let (lo, hi) = ct.min_max().unwrap();
        assert_eq!(lo, -1000);
        assert!(hi <= 1500, "{hi}");
        assert!(labels.data.iter().all(|&l| l <= 12));
    }
}
