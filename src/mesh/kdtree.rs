//! Exact nearest-neighbour queries over a fixed set of points (a kd-tree), for ICP.
//!
//! Units and spaces: whatever the caller's points are in (registration uses mm in the
//! fixed mesh's space); distances are returned squared, in those units².
//!
//! Why hand-written rather than a generic kd-tree crate: ICP asks the same question about
//! 10⁶ times on one tree and needs (1) the exact nearest point with a fixed tie-break —
//! the smallest original index among equally near points — so that results are the same
//! bits natively and in wasm32 and do not depend on the search order, (2) a seed (the
//! previous iteration's match) to start from, and (3) the k nearest with the distance of
//! the next one, which lets [`super::register`] prove that a sample's match cannot have
//! changed and skip the query. The tree is implicit (median splits stored in place, no
//! nodes or pointers): points are kept in tree order, so a query walks contiguous memory,
//! and cells are pruned by their full distance to the query (per-axis offsets kept
//! incrementally), not only by the splitting plane.

use super::topology::{dist2, V3};

/// Ranges of at most this many points are leaves, scanned linearly.
const LEAF: usize = 8;

/// Implicit median-split tree: the node of range `lo..hi` (tree order) is the point at
/// `mid = lo + (hi − lo) / 2`, split along the longest side of the range's box; points
/// of `lo..mid` are not above it on that axis, points of `mid + 1..hi` not below.
/// Ranges of ≤ [`LEAF`] points are leaves. A search visits a range only when its box is
/// within the current bound, nearer child first.
pub(crate) struct KdTree {
    /// Points in tree order ("slots").
    pts: Vec<V3>,
    /// Original index of the point in each slot (the tie-break).
    ids: Vec<u32>,
    /// Tight bounding box `[min, max]` of each range's points, stored at the range's
    /// node slot (`mid`) or, for a leaf, at its first slot. Surface points leave most of
    /// a split cell empty, so these prune far more than the split planes.
    boxes: Vec<[V3; 2]>,
}

/// The `N` nearest points found by [`KdTree::nearest_k`], nearest first (ties by
/// original index), as slots with their squared distances; `len` of them are valid.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Knn<const N: usize> {
    pub slots: [u32; N],
    pub d2: [f64; N],
    pub len: usize,
}

impl<const N: usize> Default for Knn<N> {
    fn default() -> Self {
        Knn {
            slots: [u32::MAX; N],
            d2: [f64::INFINITY; N],
            len: 0,
        }
    }
}

impl KdTree {
    /// A tree over `points` (original indices are positions in this slice).
    pub fn new(points: &[V3]) -> Self {
        let mut idx: Vec<u32> = (0..points.len() as u32).collect();
        build(points, &mut idx);
        let pts: Vec<V3> = idx.iter().map(|&i| points[i as usize]).collect();
        let mut boxes = vec![[[0.0; 3]; 2]; pts.len()];
        if !pts.is_empty() {
            fill_boxes(&pts, 0, pts.len(), &mut boxes);
        }
        KdTree {
            pts,
            ids: idx,
            boxes,
        }
    }

    /// Points in tree order: `points()[slot]`.
    pub fn points(&self) -> &[V3] {
        &self.pts
    }

    /// Original index of the point in `slot`.
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    /// Slot of the nearest point to `q` and its squared distance (the smallest original
    /// index among equally near points); `None` for an empty tree. `seed` (a slot, e.g.
    /// the previous answer) only speeds the search up; the answer does not depend on it.
    #[inline]
    pub fn nearest(&self, q: V3, seed: Option<usize>) -> Option<(usize, f64)> {
        if self.pts.is_empty() {
            return None;
        }
        let mut best = match seed.filter(|&s| s < self.pts.len()) {
            Some(s) => (s as u32, dist2(q, self.pts[s])),
            None => (u32::MAX, f64::INFINITY),
        };
        if self.box_d2(q, 0, self.pts.len()) <= best.1 {
            self.nn(q, 0, self.pts.len(), &mut best);
        }
        Some((best.0 as usize, best.1))
    }

    /// Whether the point in slot `a` at squared distance `da` ranks before slot `b` at
    /// `db` (`b` may be `u32::MAX`, "none yet").
    #[inline(always)]
    pub fn before(&self, da: f64, a: u32, db: f64, b: u32) -> bool {
        da < db || (da == db && (b == u32::MAX || self.ids[a as usize] < self.ids[b as usize]))
    }

    /// Squared distance from `q` to the box of range `lo..hi` (0 inside).
    #[inline(always)]
    fn box_d2(&self, q: V3, lo: usize, hi: usize) -> f64 {
        let b = &self.boxes[if hi - lo <= LEAF {
            lo
        } else {
            lo + (hi - lo) / 2
        }];
        let mut d = 0.0;
        for k in 0..3 {
            let e = (b[0][k] - q[k]).max(q[k] - b[1][k]).max(0.0);
            d += e * e;
        }
        d
    }

    /// The two child ranges of the node `lo..hi` (non-leaf) with their box distances,
    /// nearer first (the first one on a tie).
    #[inline(always)]
    fn children(&self, q: V3, lo: usize, mid: usize, hi: usize) -> [(usize, usize, f64); 2] {
        let a = (lo, mid, self.box_d2(q, lo, mid));
        let b = if mid + 1 < hi {
            (mid + 1, hi, self.box_d2(q, mid + 1, hi))
        } else {
            (hi, hi, f64::INFINITY)
        };
        if b.2 < a.2 {
            [b, a]
        } else {
            [a, b]
        }
    }

    fn nn(&self, q: V3, lo: usize, hi: usize, best: &mut (u32, f64)) {
        if hi - lo <= LEAF {
            for m in lo..hi {
                let d = dist2(q, self.pts[m]);
                if self.before(d, m as u32, best.1, best.0) {
                    *best = (m as u32, d);
                }
            }
            return;
        }
        let mid = lo + (hi - lo) / 2;
        let d = dist2(q, self.pts[mid]);
        if self.before(d, mid as u32, best.1, best.0) {
            *best = (mid as u32, d);
        }
        // `lo < mid` always holds for a non-leaf range.
        for (l, h, bd) in self.children(q, lo, mid, hi) {
            if bd <= best.1 {
                self.nn(q, l, h, best);
            }
        }
    }

    /// The `N` nearest points to `q` into `out` (fewer when the tree is smaller).
    pub fn nearest_k<const N: usize>(&self, q: V3, out: &mut Knn<N>) {
        *out = Knn::default();
        if N == 0 || self.pts.is_empty() {
            return;
        }
        self.knn(q, 0, self.pts.len(), out);
    }

    #[inline(always)]
    fn offer<const N: usize>(&self, d: f64, slot: u32, out: &mut Knn<N>) {
        // Insertion into the sorted array; the last entry drops out when full.
        if out.len == N && !self.before(d, slot, out.d2[N - 1], out.slots[N - 1]) {
            return;
        }
        let mut k = out.len.min(N - 1);
        while k > 0 && self.before(d, slot, out.d2[k - 1], out.slots[k - 1]) {
            out.d2[k] = out.d2[k - 1];
            out.slots[k] = out.slots[k - 1];
            k -= 1;
        }
        out.d2[k] = d;
        out.slots[k] = slot;
        out.len = (out.len + 1).min(N);
    }

    fn knn<const N: usize>(&self, q: V3, lo: usize, hi: usize, out: &mut Knn<N>) {
        if hi - lo <= LEAF {
            for m in lo..hi {
                self.offer(dist2(q, self.pts[m]), m as u32, out);
            }
            return;
        }
        let mid = lo + (hi - lo) / 2;
        self.offer(dist2(q, self.pts[mid]), mid as u32, out);
        for (l, h, bd) in self.children(q, lo, mid, hi) {
            let bound = if out.len < N {
                f64::INFINITY
            } else {
                out.d2[N - 1]
            };
            if bd <= bound {
                self.knn(q, l, h, out);
            }
        }
    }
}

fn bounds(pts: &[V3], idx: impl Iterator<Item = usize>) -> [V3; 2] {
    let mut b = [[f64::INFINITY; 3], [f64::NEG_INFINITY; 3]];
    for i in idx {
        let p = pts[i];
        for k in 0..3 {
            b[0][k] = b[0][k].min(p[k]);
            b[1][k] = b[1][k].max(p[k]);
        }
    }
    b
}

fn build(pts: &[V3], idx: &mut [u32]) {
    if idx.len() <= LEAF {
        return;
    }
    let [lo, hi] = bounds(pts, idx.iter().map(|&i| i as usize));
    let mut ax = 0;
    for k in 1..3 {
        if hi[k] - lo[k] > hi[ax] - lo[ax] {
            ax = k;
        }
    }
    let mid = idx.len() / 2;
    idx.select_nth_unstable_by(mid, |&a, &b| {
        pts[a as usize][ax]
            .total_cmp(&pts[b as usize][ax])
            .then(a.cmp(&b))
    });
    let (li, ri) = idx.split_at_mut(mid);
    build(pts, li);
    build(pts, &mut ri[1..]);
}

/// Boxes of the non-empty range `lo..hi` (tree order) and its sub-ranges; returns its box.
fn fill_boxes(pts: &[V3], lo: usize, hi: usize, boxes: &mut [[V3; 2]]) -> [V3; 2] {
    if hi - lo <= LEAF {
        let b = bounds(pts, lo..hi);
        boxes[lo] = b;
        return b;
    }
    let mid = lo + (hi - lo) / 2;
    let mut b = bounds(pts, mid..mid + 1);
    let mut grow = |c: [V3; 2]| {
        for k in 0..3 {
            b[0][k] = b[0][k].min(c[0][k]);
            b[1][k] = b[1][k].max(c[1][k]);
        }
    };
    grow(fill_boxes(pts, lo, mid, boxes));
    if mid + 1 < hi {
        grow(fill_boxes(pts, mid + 1, hi, boxes));
    }
    boxes[mid] = b;
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random points (a small LCG), with duplicates and ties.
    fn cloud(n: usize, seed: u64) -> Vec<V3> {
        let mut s = seed;
        let mut r = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 33) % 1000) as f64 * 0.01
        };
        let mut v: Vec<V3> = (0..n).map(|_| [r(), r(), r() * 0.1]).collect();
        let dup = v[3];
        v.push(dup);
        v
    }

    fn brute(pts: &[V3], q: V3) -> Vec<(f64, u32)> {
        let mut all: Vec<(f64, u32)> = pts
            .iter()
            .enumerate()
            .map(|(i, &p)| (dist2(q, p), i as u32))
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        all
    }

    #[test]
    fn nearest_and_k_nearest_match_brute_force_with_index_ties() {
        let pts = cloud(3000, 7);
        let tree = KdTree::new(&pts);
        let queries = cloud(300, 99);
        for (k, &q) in queries.iter().enumerate() {
            let want = brute(&pts, q);
            for seed in [None, Some(k * 7 % pts.len()), Some(usize::MAX)] {
                let (slot, d2) = tree.nearest(q, seed).expect("non-empty");
                assert_eq!((d2, tree.ids()[slot]), want[0], "query {k} seed {seed:?}");
            }
            let mut knn = Knn::<5>::default();
            tree.nearest_k(q, &mut knn);
            assert_eq!(knn.len, 5);
            for (j, w) in want.iter().take(5).enumerate() {
                let got = (knn.d2[j], tree.ids()[knn.slots[j] as usize]);
                assert_eq!(got, *w, "query {k} rank {j}");
            }
        }
        // A query on a duplicated point reports the smaller index.
        let (slot, d2) = tree.nearest(pts[3], None).expect("non-empty");
        assert_eq!((d2, tree.ids()[slot]), (0.0, 3));
    }

    #[test]
    fn small_and_empty_trees() {
        assert!(KdTree::new(&[]).nearest([0.0; 3], None).is_none());
        let pts = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]];
        let tree = KdTree::new(&pts);
        let mut knn = Knn::<4>::default();
        tree.nearest_k([0.9, 0.0, 0.0], &mut knn);
        assert_eq!(knn.len, 2);
        assert_eq!(tree.ids()[knn.slots[0] as usize], 1);
        assert_eq!(knn.d2[1], 0.81);
    }
}
