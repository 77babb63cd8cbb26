//! Exact nearest-neighbour and radius queries over a fixed set of points (a k-d tree):
//! ICP's nearest points ([`super::register`]), the neighbourhoods of Gaussian smoothing
//! ([`super::smooth`]), the vertex checks of the topology tests.
//!
//! Units and spaces: whatever the caller's points are in (registration uses mm in the
//! fixed mesh's space); distances are returned squared, in those units².
//!
//! Why hand-written rather than a generic k-d tree crate: ICP asks the same question
//! about 10⁵–10⁶ times on one tree and needs (1) the exact nearest point with a fixed
//! tie-break — the smallest original index among equally near points — so that results
//! are the same bits natively and in wasm32 and do not depend on the search order, and
//! (2) the k nearest with the distance of the next one, which lets [`super::register`]
//! prove that a sample's match cannot have changed and skip the query. The tree is
//! implicit (median splits stored in place, no nodes or pointers): points are kept in
//! tree order, so a query walks contiguous memory. A query starts in the leaf whose cell
//! holds it and climbs only while the ball of its current answer crosses a wall of the
//! cell searched so far; subtrees are pruned by the tight boxes of their points (surface
//! points leave most of a cell empty), not only by the splitting planes.

use super::topology::{dist2, V3};

/// Ranges of at most this many points are leaves, scanned linearly.
const LEAF: usize = 16;

/// Longest root-to-leaf path a query keeps (a median-split tree of 2³² points is under 30
/// levels deep; deeper paths, which cannot occur, would only make queries slower).
const MAX_DEPTH: usize = 48;

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
    /// Split axis of the node whose point is in this slot (0 for leaf slots).
    axis: Vec<u8>,
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
        let mut axis = vec![0u8; points.len()];
        build(points, &mut idx, &mut axis);
        let pts: Vec<V3> = idx.iter().map(|&i| points[i as usize]).collect();
        let mut boxes = vec![[[0.0; 3]; 2]; pts.len()];
        if !pts.is_empty() {
            fill_boxes(&pts, 0, pts.len(), &mut boxes);
        }
        KdTree {
            pts,
            ids: idx,
            boxes,
            axis,
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
    /// index among equally near points); `None` for an empty tree.
    #[inline]
    pub fn nearest(&self, q: V3) -> Option<(usize, f64)> {
        let mut out = Knn::<1>::default();
        self.nearest_k(q, &mut out);
        (out.len == 1).then(|| (out.slots[0] as usize, out.d2[0]))
    }

    /// The `N` nearest points to `q` into `out`, nearest first, ties by original index
    /// (fewer when the tree is smaller).
    ///
    /// The search starts in the leaf whose cell holds `q` and climbs: at each level it
    /// takes the node's point and searches the other child (pruned by its box), and it
    /// stops as soon as the ball of the current `N`-th distance lies inside the cell of
    /// the subtree searched so far (strictly, so that no point outside at an equal
    /// distance could win the index tie-break).
    pub fn nearest_k<const N: usize>(&self, q: V3, out: &mut Knn<N>) {
        *out = Knn::default();
        let n = self.pts.len();
        if N == 0 || n == 0 {
            return;
        }
        // Ranges from the root down to the leaf whose cell holds `q`, each with the
        // distance from `q` to the nearest wall of its cell.
        let mut path = [(0usize, 0usize, 0.0f64); MAX_DEPTH];
        let (mut lo, mut hi, mut slack) = (0, n, f64::INFINITY);
        let mut depth = 0;
        loop {
            path[depth] = (lo, hi, slack);
            if hi - lo <= LEAF || depth + 1 == MAX_DEPTH {
                break;
            }
            let mid = lo + (hi - lo) / 2;
            let ax = self.axis[mid] as usize;
            let off = q[ax] - self.pts[mid][ax];
            if off < 0.0 || mid + 1 == hi {
                slack = slack.min(-off);
                hi = mid;
            } else {
                slack = slack.min(off);
                lo = mid + 1;
            }
            depth += 1;
        }
        self.search_down(q, lo, hi, out);
        while depth > 0 {
            let slack = path[depth].2;
            // Every point outside the searched subtree lies beyond one of its cell's
            // walls: at least `slack` away.
            if slack > 0.0 && slack * slack > bound(out) {
                return;
            }
            depth -= 1;
            let (plo, phi, _) = path[depth];
            let pmid = plo + (phi - plo) / 2;
            self.offer(dist2(q, self.pts[pmid]), pmid as u32, out);
            let (slo, shi) = if lo == plo {
                (pmid + 1, phi)
            } else {
                (plo, pmid)
            };
            if slo < shi && self.box_d2(q, slo, shi) <= bound(out) {
                self.search_down(q, slo, shi, out);
            }
            lo = plo;
        }
    }

    /// Original indices of all points within `radius` of `q` (`|p − q| ≤ radius`),
    /// appended to `out` in tree order (deterministic, not sorted).
    pub fn within(&self, q: V3, radius: f64, out: &mut Vec<u32>) {
        if !self.pts.is_empty() {
            self.within_range(q, radius * radius, 0, self.pts.len(), out);
        }
    }

    fn within_range(&self, q: V3, r2: f64, lo: usize, hi: usize, out: &mut Vec<u32>) {
        if self.box_d2(q, lo, hi) > r2 {
            return;
        }
        if hi - lo <= LEAF {
            for m in lo..hi {
                if dist2(q, self.pts[m]) <= r2 {
                    out.push(self.ids[m]);
                }
            }
            return;
        }
        let mid = lo + (hi - lo) / 2;
        self.within_range(q, r2, lo, mid, out);
        if dist2(q, self.pts[mid]) <= r2 {
            out.push(self.ids[mid]);
        }
        if mid + 1 < hi {
            self.within_range(q, r2, mid + 1, hi, out);
        }
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

    /// Search of the whole range `lo..hi`, nearer child first, children pruned by box.
    fn search_down<const N: usize>(&self, q: V3, lo: usize, hi: usize, out: &mut Knn<N>) {
        if hi - lo <= LEAF {
            for m in lo..hi {
                self.offer(dist2(q, self.pts[m]), m as u32, out);
            }
            return;
        }
        let mid = lo + (hi - lo) / 2;
        self.offer(dist2(q, self.pts[mid]), mid as u32, out);
        let a = (lo, mid, self.box_d2(q, lo, mid));
        let b = if mid + 1 < hi {
            (mid + 1, hi, self.box_d2(q, mid + 1, hi))
        } else {
            (hi, hi, f64::INFINITY)
        };
        let children = if b.2 < a.2 { [b, a] } else { [a, b] };
        for (l, h, bd) in children {
            if bd <= bound(out) {
                self.search_down(q, l, h, out);
            }
        }
    }
}

/// Squared distance a point must not exceed to enter `out` (infinite until it is full).
#[inline(always)]
fn bound<const N: usize>(out: &Knn<N>) -> f64 {
    if out.len < N {
        f64::INFINITY
    } else {
        out.d2[N - 1]
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

fn build(pts: &[V3], idx: &mut [u32], axis: &mut [u8]) {
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
    axis[mid] = ax as u8;
    let (li, ri) = idx.split_at_mut(mid);
    let (la, ra) = axis.split_at_mut(mid);
    build(pts, li, la);
    build(pts, &mut ri[1..], &mut ra[1..]);
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
            let (slot, d2) = tree.nearest(q).expect("non-empty");
            assert_eq!((d2, tree.ids()[slot]), want[0], "query {k}");
            let mut knn = Knn::<5>::default();
            tree.nearest_k(q, &mut knn);
            assert_eq!(knn.len, 5);
            for (j, w) in want.iter().take(5).enumerate() {
                let got = (knn.d2[j], tree.ids()[knn.slots[j] as usize]);
                assert_eq!(got, *w, "query {k} rank {j}");
            }
        }
        // A query on a duplicated point reports the smaller index.
        let (slot, d2) = tree.nearest(pts[3]).expect("non-empty");
        assert_eq!((d2, tree.ids()[slot]), (0.0, 3));
    }

    #[test]
    fn grid_queries_with_many_equal_distances_break_ties_by_index() {
        // Points on planes that are also split planes, duplicates, and queries at grid
        // points and half-way between them: many candidates at exactly equal distances,
        // some of them just across a cell wall.
        let mut pts: Vec<V3> = Vec::new();
        for x in 0..12 {
            for y in 0..9 {
                for z in 0..3 {
                    pts.push([x as f64, y as f64 * 0.5, z as f64]);
                }
            }
        }
        let dups: Vec<V3> = pts.iter().step_by(7).copied().collect();
        pts.extend(dups);
        let tree = KdTree::new(&pts);
        let mut queries = Vec::new();
        for x in 0..25 {
            for y in 0..19 {
                queries.push([x as f64 * 0.5 - 0.5, y as f64 * 0.25, (x % 5) as f64 * 0.5]);
            }
        }
        for (k, &q) in queries.iter().enumerate() {
            let want = brute(&pts, q);
            let (slot, d2) = tree.nearest(q).expect("non-empty");
            assert_eq!((d2, tree.ids()[slot]), want[0], "query {k} {q:?}");
            let mut knn = Knn::<5>::default();
            tree.nearest_k(q, &mut knn);
            for (j, w) in want.iter().take(5).enumerate() {
                let got = (knn.d2[j], tree.ids()[knn.slots[j] as usize]);
                assert_eq!(got, *w, "query {k} {q:?} rank {j}");
            }
        }
    }

    #[test]
    fn within_finds_exactly_the_points_in_the_ball() {
        let pts = cloud(2000, 3);
        let tree = KdTree::new(&pts);
        let mut got = Vec::new();
        for (k, &q) in cloud(100, 5).iter().enumerate() {
            for r in [0.0, 0.3, 1.0, 4.0, 100.0] {
                got.clear();
                tree.within(q, r, &mut got);
                got.sort_unstable();
                let mut want: Vec<u32> = brute(&pts, q)
                    .into_iter()
                    .filter(|&(d2, _)| d2 <= r * r)
                    .map(|(_, i)| i)
                    .collect();
                want.sort_unstable();
                assert_eq!(got, want, "query {k} radius {r}");
            }
        }
    }

    #[test]
    fn small_and_empty_trees() {
        assert!(KdTree::new(&[]).nearest([0.0; 3]).is_none());
        let mut none = Vec::new();
        KdTree::new(&[]).within([0.0; 3], 1.0, &mut none);
        assert!(none.is_empty());
        let pts = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]];
        let tree = KdTree::new(&pts);
        let mut knn = Knn::<4>::default();
        tree.nearest_k([0.9, 0.0, 0.0], &mut knn);
        assert_eq!(knn.len, 2);
        assert_eq!(tree.ids()[knn.slots[0] as usize], 1);
        assert_eq!(knn.d2[1], 0.81);
    }
}
