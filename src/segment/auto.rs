//! "Auto bones": one labelled part per bone, named by side and sorted by size.
//!
//! # Steps
//! 1. Threshold the bone window (`lower_hu..=upper_hu`, default 226…3071 HU). Metal
//!    (dental fillings, implants) at or below `upper_hu` stays in the mask and joins the
//!    bone it touches; metal above it is left out, and a pocket it leaves inside a bone
//!    is filled back in step 4. A study with no part left is an error
//!    ([`SegmentError::NoBone`]), never an empty result.
//! 2. Clear the CT table's footprint ([`super::table::table_footprint`]).
//! 3. Trim the partial-volume rim: a mask voxel with a face neighbour outside the mask
//!    whose HU is below the rim level is dropped, once. The level lies 0.586 of the way
//!    from soft tissue (≈ 40 HU) to the cortex of the voxel's component of the untrimmed
//!    mask (its 99th-percentile HU), capped at `boundary_hu` (default 720 HU, half-way
//!    between soft tissue and cortex ≈ 1400 HU; reached from 1200 HU cortex). Without the per-component level, bone
//!    whose cortex is below ≈ 1400 HU (ribs and vertebrae on 2–3 mm slices) loses most
//!    of its voxels and falls apart into fragments below the minimum part volume. The 226 HU window keeps voxels
//!    that are only ≈ 14 % bone; without this step every bone is ≈ 0.2 mm too thick and
//!    bones across a narrow joint touch. A component the trim would take more than half
//!    of keeps its rim: on coarse voxels (3 mm) a vertebra or rib is nearly all "rim",
//!    and trimming it left fragments below the minimum part volume.
//! 4. 6-connected components; components below `min_part_volume_mm3` are dropped.
//!    Enclosed cavities of each component are filled (6-connected background): trabecular
//!    texture and noise dip below 226 HU inside a bone, and the pockets would otherwise
//!    fragment the erosion of step 5. Where the field of view cuts a bone, the holes of
//!    its cross-section on the volume's boundary slice are filled first
//!    ([`super::fill::fill_fov_holes`]), so a medullary cavity open to the volume's edge
//!    is filled too and the part is a solid, capped bone.
//! 5. Automatic split of bones joined through a narrow joint: each component is eroded
//!    by `split_erosion_mm` (at least one voxel along the finest axis, so coarse grids
//!    still split) and re-labelled (6-connected). When two or more eroded
//!    pieces of at least `min_core_volume_mm3` remain, they become the markers of a
//!    seeded watershed on the component's negated distance transform
//!    ([`super::split`]), which hands every voxel of the component to one piece.
//! 6. Parts below `min_part_volume_mm3` are dropped, and so are parts of uniform
//!    material without cortex (99th-percentile HU below `min_cortex_hu`, default 800,
//!    and a 10–90 % HU spread under 200 HU): a plastic head holder or positioning aid
//!    (≈ 530 ± 30 HU in the head CT of ../shared/data) is bright enough for the bone
//!    window but is not bone, and is not flat enough to be found as the table. The rest
//!    are sorted by voxel count
//!    (descending, ties by first voxel) and labelled 1..=n; the side comes from the
//!    centroid's patient x against the midline (LPS: +x is the patient's left).
//! 7. Names: [`super::anatomy`] names the bones of an ankle ("left talus") or the skull
//!    of a head from centroids, boxes and principal axes in patient mm, only where its
//!    rules are confident; every other part is "{side} bone {rank}", ranked by size among
//!    the unnamed parts of that side.

use super::anatomy::{name_parts, PartShape, SKULL};
use super::components::label_components;
use super::distance::squared_distance_mm2;
use super::fill::{fill_cavities, fill_fov_holes};
use super::mask::voxel_volume_mm3;
use super::morphology::erode;
use super::split::watershed;
use super::threshold::{window_bits, ThresholdParams};
use super::{BitMask, Connectivity, SegmentError, VoxelBox};
use crate::progress::Progress;
use crate::volume::Volume;

/// Parameters of [`auto_bones`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AutoParams {
    /// Bone window lower bound, HU. Default 226.
    pub lower_hu: i16,
    /// Bone window upper bound, HU. Default 3071.
    pub upper_hu: i16,
    /// Rim voxels below this HU are trimmed (step 3); `None` keeps the rim. Default 720 HU.
    pub boundary_hu: Option<i16>,
    /// Clear the CT table's footprint first. Default true.
    pub remove_table: bool,
    /// Parts (and islands) smaller than this are dropped, mm³. Default 500.
    pub min_part_volume_mm3: f64,
    /// Erosion radius for the automatic split, mm; `None` = no automatic split.
    /// Default `Some(1.0)`.
    pub split_erosion_mm: Option<f64>,
    /// Eroded pieces at least this large become split markers, mm³. Default 200.
    pub min_core_volume_mm3: f64,
    /// Fill enclosed cavities of each part. Default true.
    pub fill_cavities: bool,
    /// Patient x (mm) of the sagittal midline; `None` = the grid's centre. Default `None`.
    pub midline_x_mm: Option<f64>,
    /// Drop parts without cortical bone (step 6): 99th-percentile HU below this and a
    /// 10–90 % HU spread under [`UNIFORM_SPREAD_HU`]. `None` keeps them. Default 800 HU.
    #[serde(default)]
    pub min_cortex_hu: Option<i16>,
}

/// A part whose 10th–90th percentile HU spread is below this is uniform material.
pub const UNIFORM_SPREAD_HU: i16 = 200;

impl Default for AutoParams {
    fn default() -> Self {
        AutoParams {
            lower_hu: super::threshold::BONE_LOWER_HU,
            upper_hu: super::threshold::BONE_UPPER_HU,
            boundary_hu: Some(720),
            remove_table: true,
            min_part_volume_mm3: 500.0,
            split_erosion_mm: Some(1.0),
            min_core_volume_mm3: 200.0,
            fill_cavities: true,
            midline_x_mm: None,
            min_cortex_hu: Some(800),
        }
    }
}

pub use crate::side::Side;

/// One part found by [`auto_bones`].
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Part {
    /// Value in [`AutoBones::labels`].
    pub label: u8,
    /// e.g. "left talus", "skull", or "left bone 1" (1 = largest unnamed part on that side).
    pub name: String,
    pub side: Side,
    /// Voxel count.
    pub voxels: usize,
    /// Volume in mm³.
    pub volume_mm3: f64,
    /// Centroid in patient mm.
    pub centroid_mm: [f64; 3],
    /// Voxel bounding box (inclusive).
    pub bbox: VoxelBox,
    /// Axis-aligned box in patient mm around the voxel centres of the bounding box corners.
    pub bbox_mm: [[f64; 3]; 2],
}

/// Result of [`auto_bones`].
#[derive(Clone, Debug)]
pub struct AutoBones {
    /// Label volume on the CT grid: 0 = background, part labels 1..=n.
    pub labels: Volume<u8>,
    /// Parts by label.
    pub parts: Vec<Part>,
}

/// Soft tissue HU, the low end of the partial-volume rim.
const SOFT_TISSUE_HU: i32 = 40;

/// Where between soft tissue and a bone's cortex its rim level sits: 0.586 puts cortex of
/// 1200 HU at the 720 HU default cap, so dense bone keeps the fixed level it was tuned
/// with (the demo phantom's cortex is 1300–1500 HU).
const RIM_FRACTION: f64 = 0.586;

/// Rim-trim level of each component of `pre`: `min(cap, 40 + 0.586 × (p99 − 40))` HU
/// with p99 the component's 99th-percentile HU (its cortex). Dense cortex (≥ 1200 HU)
/// gives `cap`; thin or osteoporotic bone (ribs and vertebrae on 2–3 mm slices, cortex
/// ≈ 600–900 HU) gets a lower level, so the trim peels only its partial-volume rim
/// instead of most of the bone. Components below `min_voxels` (dropped later) keep `cap`.
fn trim_levels(
    ct: &Volume<i16>,
    pre: &super::components::Components,
    min_voxels: usize,
    cap: i16,
) -> Vec<i16> {
    const LO: i32 = -1024;
    let mut hists: Vec<Option<Vec<u32>>> = pre
        .sizes
        .iter()
        .map(|&s| (s >= min_voxels).then(|| vec![0u32; 4096]))
        .collect();
    for run in &pre.runs {
        if let Some(Some(h)) = hists.get_mut(run.label as usize - 1) {
            for hu in &ct.data[run.start..run.end] {
                h[(*hu as i32 - LO).clamp(0, 4095) as usize] += 1;
            }
        }
    }
    hists
        .iter()
        .zip(&pre.sizes)
        .map(|(h, &size)| {
            let Some(h) = h else {
                return cap;
            };
            let want = ((size - 1) as f64 * 0.99) as u64;
            let mut seen = 0u64;
            let mut p99 = 3071;
            for (b, c) in h.iter().enumerate() {
                seen += *c as u64;
                if seen > want {
                    p99 = b as i32 + LO;
                    break;
                }
            }
            let level = SOFT_TISSUE_HU as f64 + RIM_FRACTION * (p99 - SOFT_TISSUE_HU) as f64;
            (level.round() as i32).clamp(SOFT_TISSUE_HU, cap as i32) as i16
        })
        .collect()
}

/// True when the voxels of `m` (a crop at `bx`) have no cortical bone (99th-percentile
/// HU below `cortex_hu`) and a narrow HU spread (10th–90th percentile under
/// [`UNIFORM_SPREAD_HU`]): uniform material such as a plastic head holder, not bone.
/// Bone always mixes cortex (> 1000 HU) with trabecular bone and marrow.
fn uniform_without_cortex(ct: &Volume<i16>, bx: &VoxelBox, m: &BitMask, cortex_hu: i16) -> bool {
    // Histogram over −1024…3071 HU (values outside are clamped into the end bins).
    const LO: i32 = -1024;
    let mut hist = vec![0usize; 4096];
    let bd = bx.dims();
    let [nx, ny, _] = ct.dims;
    let mut total = 0usize;
    for k in 0..bd[2] {
        for j in 0..bd[1] {
            let src = m.index(0, j, k);
            let dst = bx.min[0] + nx * (j + bx.min[1] + ny * (k + bx.min[2]));
            for i0 in (0..bd[0]).step_by(64) {
                let mut bits = m.bits_at(src + i0, (bd[0] - i0).min(64));
                while bits != 0 {
                    let i = i0 + bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    let Some(&hu) = ct.data.get(dst + i) else {
                        continue;
                    };
                    hist[(hu as i32 - LO).clamp(0, 4095) as usize] += 1;
                    total += 1;
                }
            }
        }
    }
    if total == 0 {
        return false;
    }
    let pct = |f: f64| {
        let want = ((total - 1) as f64 * f) as usize;
        let mut seen = 0usize;
        for (b, c) in hist.iter().enumerate() {
            seen += c;
            if seen > want {
                return b as i32 + LO;
            }
        }
        3071
    };
    pct(0.99) < cortex_hu as i32 && pct(0.9) - pct(0.1) < UNIFORM_SPREAD_HU as i32
}

/// Steps 1–2 in one pass over the CT: the voxels in `window`, and with `table_hu` the
/// in-plane projection (index `i + nx * j`) of the voxels above it — what
/// [`super::table::table_footprint`] projects.
fn window_and_projection(
    ct: &Volume<i16>,
    window: &ThresholdParams,
    table_hu: Option<i16>,
) -> (BitMask, Option<Vec<bool>>) {
    let [nx, ny, _] = ct.dims;
    let plane = nx * ny;
    let mut mask = BitMask::new(ct.dims);
    let span = window.upper_hu.wrapping_sub(window.lower_hu) as u16;
    // Above `table_hu`, as a window (none above i16::MAX).
    let above = table_hu.and_then(|t| t.checked_add(1));
    let mut projection = BitMask::new([nx, ny, 1]);
    for (w, (word, chunk)) in mask
        .words_mut()
        .iter_mut()
        .zip(ct.data.chunks(64))
        .enumerate()
    {
        *word = window_bits(chunk, window.lower_hu, span);
        let Some(a) = above else { continue };
        let bits = window_bits(chunk, a, i16::MAX.wrapping_sub(a) as u16);
        if bits == 0 {
            continue;
        }
        // Voxels 64w… as in-plane indices; a word may run over into the next slices.
        let (mut bits, mut p) = (bits, (64 * w) % plane);
        while bits != 0 {
            let take = (plane - p).min(64);
            if take == 64 {
                projection.or_bits(p, bits);
                break;
            }
            projection.or_bits(p, bits & ((1u64 << take) - 1));
            bits >>= take;
            p = 0;
        }
    }
    let projected = table_hu.map(|_| (0..plane).map(|c| projection.get(c)).collect());
    (mask, projected)
}

/// Step 3: clear from `mask` every voxel of `orig` below its component's rim level
/// (`level[label − 1]`) with a face neighbour in the grid outside `orig` — unless that
/// would take more than half of the component: then the "rim" is the bone itself (a
/// bone only a voxel or two thick at this voxel size, e.g. ribs and vertebrae on 3 mm
/// voxels) and the component keeps it. Works 64 voxels of a run at a time: a run's
/// voxels with all four neighbour rows set and inside the run's ends (maximal runs:
/// their outer neighbours are unset) are interior and skipped; only the rim's voxels
/// read their HU.
fn trim_rim(
    ct: &Volume<i16>,
    orig: &BitMask,
    pre: &super::components::Components,
    level: &[i16],
    mask: &mut BitMask,
) {
    let [nx, ny, nz] = ct.dims;
    let plane = nx * ny;
    // Rim voxels below their level, and how many each component would lose.
    let mut rim_voxels: Vec<(usize, u32)> = Vec::new();
    let mut trimmed = vec![0usize; pre.count()];
    for r in 0..ny * nz {
        let (j, k) = (r % ny, r / ny);
        let row_start = r * nx;
        // Neighbour rows inside the grid, as offsets of the linear index.
        let mut near: [Option<isize>; 4] = [None; 4];
        if j > 0 {
            near[0] = Some(-(nx as isize));
        }
        if j + 1 < ny {
            near[1] = Some(nx as isize);
        }
        if k > 0 {
            near[2] = Some(-(plane as isize));
        }
        if k + 1 < nz {
            near[3] = Some(plane as isize);
        }
        for run in &pre.runs[pre.row_first[r] as usize..pre.row_first[r + 1] as usize] {
            let lb = level[run.label as usize - 1];
            let mut n0 = run.start;
            while n0 < run.end {
                let len = (run.end - n0).min(64);
                let all = if len == 64 {
                    u64::MAX
                } else {
                    (1u64 << len) - 1
                };
                let mut inner = all;
                for d in near.iter().flatten() {
                    inner &= orig.bits_at(n0.wrapping_add_signed(*d), len);
                }
                let mut rim = !inner & all;
                if n0 == run.start && run.start > row_start {
                    rim |= 1;
                }
                if n0 + len == run.end && run.end < row_start + nx {
                    rim |= 1 << (len - 1);
                }
                while rim != 0 {
                    let n = n0 + rim.trailing_zeros() as usize;
                    if ct.data[n] < lb {
                        rim_voxels.push((n, run.label));
                        trimmed[run.label as usize - 1] += 1;
                    }
                    rim &= rim - 1;
                }
                n0 += len;
            }
        }
    }
    for (n, label) in rim_voxels {
        let c = label as usize - 1;
        if 2 * trimmed[c] <= pre.sizes[c] {
            mask.set(n, false);
        }
    }
}

/// Steps 4–5 for one kept component, `region` (a crop at `bx` of the CT's grid): fill its
/// cavities and split it where it is joined through a narrow joint. Returns its pieces as
/// (box, crop mask); one unit of work per component, independent of the others.
fn component_pieces(
    mut region: BitMask,
    bx: VoxelBox,
    ct: &Volume<i16>,
    params: &AutoParams,
    min_core: usize,
) -> Result<Vec<(VoxelBox, BitMask)>, SegmentError> {
    let bd = bx.dims();
    if params.fill_cavities {
        // Where the field of view cuts a bone, cap its medullary cavity first, so the
        // cavity counts as enclosed.
        fill_fov_holes(&mut region, &bx, ct.dims);
        // Trabecular texture and noise dip below the window inside a bone; fill those
        // pockets first so the erosion below does not fragment the bone.
        region = fill_cavities(&region, Connectivity::Six);
    }
    if let Some(r) = params.split_erosion_mm {
        // At least one voxel along the finest axis: on coarse grids a radius below the
        // voxel size would erode nothing, and joints narrower than a voxel would never
        // split.
        let r = r.max(ct.spacing_mm.iter().cloned().fold(f64::MAX, f64::min));
        let core = erode(&region, r, ct.spacing_mm)?;
        let cc = label_components(&core, Connectivity::Six);
        let big = (1..=cc.count())
            .filter(|&l| cc.sizes[l - 1] >= min_core)
            .count();
        if big >= 2 {
            // Labels are sorted by size, so the big pieces are labels 1..=big.
            let mut markers: Vec<(usize, u32)> = Vec::new();
            for run in cc.runs.iter().filter(|r| (r.label as usize) <= big) {
                markers.extend((run.start..run.end).map(|n| (n, run.label - 1)));
            }
            let d2 = squared_distance_mm2(&region, ct.spacing_mm, false);
            let owner = watershed(&region, &d2, &markers, Connectivity::Six);
            return Ok((0..big as u32)
                .map(|p| (bx, BitMask::from_fn(bd, |n| owner[n] == p)))
                .collect());
        }
    }
    Ok(vec![(bx, region)])
}

/// Voxels of one row of a part: count, Σ i and Σ i² (i = grid index along the row).
#[derive(Default)]
struct RowSums {
    count: u64,
    sum_i: u64,
    sum_ii: u64,
    first: usize,
    last: usize,
}

impl RowSums {
    #[inline]
    fn add(&mut self, i: usize) {
        if self.count == 0 {
            self.first = i;
        }
        self.last = i;
        self.count += 1;
        self.sum_i += i as u64;
        self.sum_ii += (i * i) as u64;
    }
}

/// Voxel count, sums of (i, j, k), second moments Σ a·b (upper triangle) and bounding box
/// of one part, exact in integers (Σ i·j over 512² × 2⁶³ / 2¹⁸ voxels fits in u64).
#[derive(Clone, Default)]
struct PartStats {
    count: u64,
    sums: [u64; 3],
    moments: [[u64; 3]; 3],
    bbox: Option<VoxelBox>,
}

impl PartStats {
    /// Adds a row of voxels at (j, k); rows are added with their voxels ascending in i.
    fn add_row(&mut self, row: &RowSums, j: usize, k: usize) {
        if row.count == 0 {
            return;
        }
        let (c, j, k) = (row.count, j as u64, k as u64);
        self.count += c;
        self.sums[0] += row.sum_i;
        self.sums[1] += c * j;
        self.sums[2] += c * k;
        self.moments[0][0] += row.sum_ii;
        self.moments[0][1] += row.sum_i * j;
        self.moments[0][2] += row.sum_i * k;
        self.moments[1][1] += c * j * j;
        self.moments[1][2] += c * j * k;
        self.moments[2][2] += c * k * k;
        let (a, b) = (
            [row.first, j as usize, k as usize],
            [row.last, j as usize, k as usize],
        );
        match &mut self.bbox {
            Some(bx) => {
                bx.include(a);
                bx.include(b);
            }
            slot => *slot = Some(VoxelBox::point(a).union(VoxelBox::point(b))),
        }
    }
}

fn step(progress: &mut dyn Progress, done: usize) -> Result<(), SegmentError> {
    if progress.report(done, 7) {
        Ok(())
    } else {
        Err(SegmentError::Cancelled)
    }
}

/// Find every bone of `ct` as its own labelled part. See the module docs for the steps.
pub fn auto_bones(
    ct: &Volume<i16>,
    params: &AutoParams,
    progress: &mut dyn Progress,
) -> Result<AutoBones, SegmentError> {
    let dims = ct.dims;
    let [nx, ny, nz] = dims;
    let voxel_mm3 = voxel_volume_mm3(ct);
    let min_voxels = (params.min_part_volume_mm3 / voxel_mm3).ceil().max(1.0) as usize;
    // 1. Threshold, and (for step 2) the projection of the voxels above the window's
    // lower bound, in one pass over the CT.
    let window = ThresholdParams {
        lower_hu: params.lower_hu,
        upper_hu: params.upper_hu,
    };
    window.validate()?;
    let table_hu = params.remove_table.then_some(params.lower_hu);
    let (mut mask, projected) = window_and_projection(ct, &window, table_hu);
    let in_window = mask.count();
    step(progress, 1)?;
    // 2. Table.
    let mut table_found = false;
    if let Some(projected) = projected {
        let table = super::table::footprint_of_projection(&projected, dims, ct.spacing_mm);
        // The footprint's columns (in-plane indices), cleared in every slice.
        let columns: Vec<usize> = (0..table.len()).filter(|&c| table[c]).collect();
        if !columns.is_empty() {
            table_found = true;
            let plane = nx * ny;
            for k in 0..nz {
                for &c in &columns {
                    mask.set(k * plane + c, false);
                }
            }
        }
    }
    step(progress, 2)?;
    // 3. Rim trim, at a level per component of the untrimmed mask: half-way between soft
    // tissue and that bone's cortex (its 99th-percentile HU), never above `b`.
    if let Some(b) = params.boundary_hu {
        let orig = mask.clone();
        let pre = label_components(&orig, Connectivity::Six);
        let level = trim_levels(ct, &pre, min_voxels, b);
        trim_rim(ct, &orig, &pre, &level, &mut mask);
    }
    step(progress, 3)?;
    // 4. Components.
    let comps = label_components(&mask, Connectivity::Six);
    step(progress, 4)?;
    // 5. Split each kept component; collect parts as (crop box, crop mask).
    let min_core = (params.min_core_volume_mm3 / voxel_mm3).ceil().max(1.0) as usize;
    // Crop masks of the kept components, filled in one pass over the runs.
    let kept: Vec<usize> = (0..comps.count())
        .filter(|&c| comps.sizes[c] >= min_voxels)
        .collect();
    let mut crops: Vec<Option<(VoxelBox, BitMask)>> = vec![None; comps.count()];
    for &c in &kept {
        let bx = comps.bboxes[c].grown([1, 1, 1], dims);
        crops[c] = Some((bx, BitMask::new(bx.dims())));
    }
    for run in &comps.runs {
        if let Some((bx, m)) = &mut crops[run.label as usize - 1] {
            let (j, k) = ((run.start / nx) % ny, run.start / (nx * ny));
            let row = m.index(0, j - bx.min[1], k - bx.min[2]);
            let i0 = run.start % nx - bx.min[0];
            m.set_range(row + i0, row + i0 + (run.end - run.start));
        }
    }
    // Each kept component is filled and split on its own: one component per thread with
    // `parallel`, pieces kept in component order.
    let kept_crops: Vec<(VoxelBox, BitMask)> =
        kept.into_iter().filter_map(|c| crops[c].take()).collect();
    let split = crate::parallel::try_map_vec(kept_crops, |(bx, region)| {
        component_pieces(region, bx, ct, params, min_core)
    })?;
    let pieces: Vec<(VoxelBox, BitMask)> = split.into_iter().flatten().collect();
    step(progress, 5)?;
    // The full-volume mask and its components are done with: free them before the label
    // volume is allocated (wasm memory never shrinks, so the peak is what is held at once).
    drop((mask, comps, crops));
    // 6. Collect, sort, label.
    let mut labels = Volume {
        dims,
        spacing_mm: ct.spacing_mm,
        patient_from_voxel: ct.patient_from_voxel,
        data: vec![0u8; ct.len()],
    };
    struct Found {
        bx: VoxelBox,
        mask: BitMask,
        voxels: usize,
        first: usize,
    }
    let mut found: Vec<Found> = Vec::new();
    for (bx, m) in pieces {
        let voxels = m.count();
        if voxels < min_voxels {
            continue;
        }
        if let Some(cortex) = params.min_cortex_hu {
            if uniform_without_cortex(ct, &bx, &m, cortex) {
                continue;
            }
        }
        let first = m.iter().next().map(|n| {
            let bd = bx.dims();
            let (i, j, k) = (n % bd[0], (n / bd[0]) % bd[1], n / (bd[0] * bd[1]));
            i + bx.min[0] + nx * (j + bx.min[1] + ny * (k + bx.min[2]))
        });
        found.push(Found {
            bx,
            mask: m,
            voxels,
            first: first.unwrap_or(0),
        });
    }
    if found.is_empty() {
        // An empty result would look like success; say why nothing was found instead.
        let detail = if in_window == 0 {
            format!(
                "no voxel is in the {}…{} HU bone window",
                params.lower_hu, params.upper_hu
            )
        } else {
            format!(
                "{} voxel(s) are in the {}…{} HU bone window, but {} part of at least {} mm³ remains",
                in_window,
                params.lower_hu,
                params.upper_hu,
                if table_found {
                    "after removing the CT table no"
                } else {
                    "no"
                },
                params.min_part_volume_mm3
            )
        };
        return Err(SegmentError::NoBone(detail));
    }
    found.sort_by(|a, b| b.voxels.cmp(&a.voxels).then(a.first.cmp(&b.first)));
    if found.len() > 255 {
        return Err(SegmentError::TooManyParts);
    }
    // A filled pocket may hold a smaller component; the larger part (written first) keeps
    // it. Each voxel is written once, by the part that keeps it, so the part's moments
    // are gathered as it is written (integer sums: the same in any order).
    let n_parts = found.len();
    let mut stats = vec![PartStats::default(); n_parts];
    for (p, f) in found.iter().enumerate() {
        let bd = f.bx.dims();
        let value = p as u8 + 1;
        for k in 0..bd[2] {
            for j in 0..bd[1] {
                let (gj, gk) = (j + f.bx.min[1], k + f.bx.min[2]);
                let src = f.mask.index(0, j, k);
                let dst = f.bx.min[0] + nx * (gj + ny * gk);
                let mut row = RowSums::default();
                for i0 in (0..bd[0]).step_by(64) {
                    let mut bits = f.mask.bits_at(src + i0, (bd[0] - i0).min(64));
                    while bits != 0 {
                        let i = i0 + bits.trailing_zeros() as usize;
                        bits &= bits - 1;
                        let label = &mut labels.data[dst + i];
                        if *label == 0 {
                            *label = value;
                            row.add(f.bx.min[0] + i);
                        }
                    }
                }
                stats[p].add_row(&row, gj, gk);
            }
        }
    }
    step(progress, 6)?;
    let mid_x = params.midline_x_mm.unwrap_or_else(|| {
        ct.patient_mm([
            (nx as f64 - 1.0) / 2.0,
            (ny as f64 - 1.0) / 2.0,
            (nz as f64 - 1.0) / 2.0,
        ])
        .x
    });
    let sums: Vec<[f64; 3]> = stats.iter().map(|st| st.sums.map(|v| v as f64)).collect();
    let moments: Vec<[[u64; 3]; 3]> = stats.iter().map(|st| st.moments).collect();
    let counts: Vec<usize> = stats.iter().map(|st| st.count as usize).collect();
    let boxes: Vec<Option<VoxelBox>> = stats.iter().map(|st| st.bbox).collect();
    // Linear part of the affine: voxel-index offsets to patient mm.
    let lin = ct.patient_from_voxel.fixed_view::<3, 3>(0, 0).into_owned();
    let mut parts = Vec::with_capacity(n_parts);
    let mut shapes = Vec::with_capacity(n_parts);
    for p in 0..n_parts {
        let c = counts[p].max(1) as f64;
        let mean = [sums[p][0] / c, sums[p][1] / c, sums[p][2] / c];
        let centroid = ct.patient_mm(mean);
        let side = if centroid.x > mid_x {
            Side::Left
        } else {
            Side::Right
        };
        let cov_ijk = nalgebra::Matrix3::from_fn(|a, b| {
            let (a, b) = (a.min(b), a.max(b));
            moments[p][a][b] as f64 / c - mean[a] * mean[b]
        });
        let cov = lin * cov_ijk * lin.transpose();
        let bbox = boxes[p].unwrap_or(VoxelBox::point([0; 3]));
        let corners: Vec<_> = (0..8)
            .map(|c| {
                let pick = |a: usize| if c >> a & 1 == 1 { bbox.max[a] } else { bbox.min[a] } as f64;
                ct.patient_mm([pick(0), pick(1), pick(2)])
            })
            .collect();
        let mut lo = [f64::INFINITY; 3];
        let mut hi = [f64::NEG_INFINITY; 3];
        for q in &corners {
            for a in 0..3 {
                lo[a] = lo[a].min(q[a]);
                hi[a] = hi[a].max(q[a]);
            }
        }
        shapes.push(PartShape {
            side,
            volume_mm3: counts[p] as f64 * voxel_mm3,
            centroid_mm: [centroid.x, centroid.y, centroid.z],
            bbox_mm: [lo, hi],
            cov_mm2: [0, 1, 2].map(|a| [0, 1, 2].map(|b| cov[(a, b)])),
        });
        parts.push(Part {
            label: p as u8 + 1,
            name: String::new(),
            side,
            voxels: counts[p],
            volume_mm3: counts[p] as f64 * voxel_mm3,
            centroid_mm: [centroid.x, centroid.y, centroid.z],
            bbox,
            bbox_mm: [lo, hi],
        });
    }
    // 7. Names: anatomical where the rules are confident, else "{side} bone {rank}" with
    // the rank among the unnamed parts of that side (1 = largest).
    let bones = name_parts(&shapes, mid_x);
    let mut rank = [0usize; 2];
    for (part, bone) in parts.iter_mut().zip(bones) {
        part.name = match bone {
            Some(SKULL) => SKULL.to_string(),
            Some(b) => format!("{} {b}", part.side.as_str()),
            None => {
                let r = &mut rank[(part.side == Side::Left) as usize];
                *r += 1;
                format!("{} bone {r}", part.side.as_str())
            }
        };
    }
    step(progress, 7)?;
    Ok(AutoBones { labels, parts })
}
