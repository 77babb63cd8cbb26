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
//! prove that a sample's match cannot have changed and skip the query.
//!
//! Layout: points live in leaves of at most [`LEAF`] ("buckets"), in tree order, so a
//! leaf is a contiguous run of slots; nodes are in depth-first order (a node's left child
//! is the next node) with the tight box of their points. Splits are at the middle of the
//! node's box along its longest side — one partitioning pass, where a median selection
//! costs several, and compact cells — falling back to the median when that would leave
//! fewer than a quarter of the points on one side (bounded depth on any input); the
//! partitioning pass also yields the tight boxes of both children. A query
//! goes down to the leaf whose cell holds it without recursion, then back up only while
//! the ball of its current answer crosses a wall of the cell searched so far; subtrees
//! are pruned by the tight boxes of their points (surface points leave most of a cell
//! empty), not only by the splitting planes. The shape of the tree changes only the
//! speed: answers are exact with the index tie-break, whatever the visiting order.

use super::topology::{dist2, V3};

/// Ranges of at most this many points are leaves, scanned linearly.
const LEAF: usize = 12;

/// Longest root-to-leaf path a query keeps. Splits leave at least a quarter of a node's
/// points on each side, so 2³² points are fewer than 80 levels deep and 10⁶ under 40; a
/// deeper leaf is still found exactly (its ancestor at this depth is searched whole).
const MAX_DEPTH: usize = 40;

/// A node of the tree: the slot range `start..end` of its points and their tight box;
/// an inner node also has its split (axis, value) and its right child (the left child is
/// the next node). Points of the left child are not above `split` on `axis`, points of
/// the right child not below.
#[derive(Clone, Copy, Debug)]
struct Node {
    /// Tight bounding box `[min, max]` of the node's points. Surface points leave most of
    /// a split cell empty, so these prune far more than the split planes.
    min: V3,
    max: V3,
    split: f64,
    start: u32,
    end: u32,
    /// Index of the right child; 0 for a leaf (the root is nobody's child).
    right: u32,
    axis: u32,
}

/// Tree with its points in leaves ("buckets" of at most [`LEAF`]): the nodes are in
/// depth-first order, so a node's left child is the next node, and each node's points
/// are a contiguous range of slots (tree order).
pub(crate) struct KdTree {
    /// Points in tree order ("slots").
    pts: Vec<V3>,
    /// Original index of the point in each slot (the tie-break).
    ids: Vec<u32>,
    nodes: Vec<Node>,
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
        // Points travel with their indices, so the build reads contiguous memory.
        let mut items: Vec<(V3, u32)> = points
            .iter()
            .enumerate()
            .map(|(i, &p)| (p, i as u32))
            .collect();
        let mut nodes = Vec::with_capacity(2 * points.len().div_ceil(LEAF / 2 + 1).max(1));
        if !items.is_empty() {
            let bounds = bounding_box(&items);
            build(&mut items, bounds, 0, &mut nodes);
        }
        KdTree {
            pts: items.iter().map(|x| x.0).collect(),
            ids: items.iter().map(|x| x.1).collect(),
            nodes,
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
    /// The search goes down to the leaf whose cell holds `q` and back up: at each level
    /// it searches the other child (pruned by its box), and it stops as soon as the ball
    /// of the current `N`-th distance lies inside the cell of the subtree searched so far
    /// (strictly, so that no point outside at an equal distance could win the index
    /// tie-break).
    pub fn nearest_k<const N: usize>(&self, q: V3, out: &mut Knn<N>) {
        *out = Knn::default();
        if N == 0 || self.nodes.is_empty() {
            return;
        }
        // The nodes from the root down to the leaf whose cell holds `q`, each with the
        // distance from `q` to the nearest wall of its cell.
        let mut path = [0u32; MAX_DEPTH];
        let mut slacks = [0.0f64; MAX_DEPTH];
        let (mut node, mut slack, mut depth) = (0usize, f64::INFINITY, 0usize);
        while let Some(n) = self.nodes.get(node) {
            if n.right == 0 || depth == MAX_DEPTH {
                break;
            }
            path[depth] = node as u32;
            slacks[depth] = slack;
            let off = q[n.axis as usize] - n.split;
            if off < 0.0 {
                slack = slack.min(-off);
                node += 1;
            } else {
                slack = slack.min(off);
                node = n.right as usize;
            }
            depth += 1;
        }
        // A leaf (or, past MAX_DEPTH, which no real input reaches, a whole subtree).
        self.search_down(q, node, out);
        while depth > 0 {
            // Every point outside the searched subtree lies beyond one of its cell's
            // walls: at least `slack` away.
            if slack > 0.0 && slack * slack > bound(out) {
                return;
            }
            depth -= 1;
            let parent = path[depth] as usize;
            slack = slacks[depth];
            let Some(p) = self.nodes.get(parent) else {
                return;
            };
            let far = if node == parent + 1 {
                p.right as usize
            } else {
                parent + 1
            };
            if self.box_d2(q, far) <= bound(out) {
                self.search_down(q, far, out);
            }
            node = parent;
        }
    }

    /// Original indices of all points within `radius` of `q` (`|p − q| ≤ radius`),
    /// appended to `out` in tree order (deterministic, not sorted).
    pub fn within(&self, q: V3, radius: f64, out: &mut Vec<u32>) {
        if !self.nodes.is_empty() {
            self.within_node(q, radius * radius, 0, out);
        }
    }

    fn within_node(&self, q: V3, r2: f64, node: usize, out: &mut Vec<u32>) {
        let Some(n) = self.nodes.get(node) else {
            return;
        };
        if self.box_d2(q, node) > r2 {
            return;
        }
        if n.right == 0 {
            let (s, e) = (n.start as usize, n.end as usize);
            for (p, &id) in self.pts[s..e].iter().zip(&self.ids[s..e]) {
                if dist2(q, *p) <= r2 {
                    out.push(id);
                }
            }
            return;
        }
        self.within_node(q, r2, node + 1, out);
        self.within_node(q, r2, n.right as usize, out);
    }

    /// Whether the point in slot `a` at squared distance `da` ranks before slot `b` at
    /// `db` (`b` may be `u32::MAX`, "none yet").
    #[inline(always)]
    pub fn before(&self, da: f64, a: u32, db: f64, b: u32) -> bool {
        da < db || (da == db && (b == u32::MAX || self.ids[a as usize] < self.ids[b as usize]))
    }

    /// Squared distance from `q` to the box of `node` (0 inside).
    #[inline(always)]
    fn box_d2(&self, q: V3, node: usize) -> f64 {
        let Some(n) = self.nodes.get(node) else {
            return f64::INFINITY;
        };
        let mut d = 0.0;
        for ((&x, &lo), &hi) in q.iter().zip(&n.min).zip(&n.max) {
            // Plain comparisons rather than f64::max: no NaN handling to pay for (the
            // result only prunes; a NaN query finds nothing either way).
            let e = if x < lo {
                lo - x
            } else if x > hi {
                x - hi
            } else {
                0.0
            };
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

    /// Offers every point of the leaf `n`.
    #[inline(always)]
    fn scan<const N: usize>(&self, q: V3, n: &Node, out: &mut Knn<N>) {
        let start = n.start as usize;
        for (k, p) in self.pts[start..n.end as usize].iter().enumerate() {
            self.offer(dist2(q, *p), (start + k) as u32, out);
        }
    }

    /// Search of the whole subtree `node`, nearer child first, children pruned by box.
    fn search_down<const N: usize>(&self, q: V3, node: usize, out: &mut Knn<N>) {
        let Some(n) = self.nodes.get(node) else {
            return;
        };
        if n.right == 0 {
            self.scan(q, n, out);
            return;
        }
        let a = (node + 1, self.box_d2(q, node + 1));
        let b = (n.right as usize, self.box_d2(q, n.right as usize));
        let children = if b.1 < a.1 { [b, a] } else { [a, b] };
        for (c, bd) in children {
            if bd <= bound(out) {
                self.search_down(q, c, out);
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

/// Tight box `[min, max]` of the points of `items`.
fn bounding_box(items: &[(V3, u32)]) -> [V3; 2] {
    let mut b = [[f64::INFINITY; 3], [f64::NEG_INFINITY; 3]];
    for (p, _) in items {
        grow(&mut b, p);
    }
    b
}

/// Widens the box `b` to hold `p`.
#[inline(always)]
fn grow(b: &mut [V3; 2], p: &V3) {
    // Plain comparisons rather than f64::min/max (no NaN handling to pay for: a NaN
    // coordinate never widens the box either way).
    for k in 0..3 {
        if p[k] < b[0][k] {
            b[0][k] = p[k];
        }
        if p[k] > b[1][k] {
            b[1][k] = p[k];
        }
    }
}

/// Moves the items below `split` on `axis` to the front; returns how many there are and
/// the tight boxes of the two parts (each item is classified once, so the boxes come
/// with the partition rather than with two more passes over the items).
fn partition(items: &mut [(V3, u32)], axis: usize, split: f64) -> (usize, [V3; 2], [V3; 2]) {
    let empty = [[f64::INFINITY; 3], [f64::NEG_INFINITY; 3]];
    let (mut below, mut above) = (empty, empty);
    let (mut lo, mut hi) = (0, items.len());
    while lo < hi {
        let p = items[lo].0;
        if p[axis] < split {
            grow(&mut below, &p);
            lo += 1;
        } else {
            grow(&mut above, &p);
            hi -= 1;
            items.swap(lo, hi);
        }
    }
    (lo, below, above)
}

/// Builds the subtree of `items` (slots `start..start + items.len()`, tight box
/// `bounds`) at the end of `nodes`, depth first.
fn build(items: &mut [(V3, u32)], bounds: [V3; 2], start: u32, nodes: &mut Vec<Node>) {
    let [min, max] = bounds;
    let me = nodes.len();
    nodes.push(Node {
        min,
        max,
        split: 0.0,
        start,
        end: start + items.len() as u32,
        right: 0,
        axis: 0,
    });
    if items.len() <= LEAF {
        return;
    }
    let mut ax = 0;
    for k in 1..3 {
        if max[k] - min[k] > max[ax] - min[ax] {
            ax = k;
        }
    }
    // Split at the middle of the box (cells stay compact, and one partitioning pass is
    // far cheaper than a median selection); at the median when that would leave fewer
    // than a quarter of the points on one side, which bounds the depth.
    let split_mid = 0.5 * (min[ax] + max[ax]);
    let (mut mid, mut left_box, mut right_box) = partition(items, ax, split_mid);
    let mut split = split_mid;
    let n = items.len();
    if mid < n / 4 || mid > n - n / 4 {
        mid = n / 2;
        items.select_nth_unstable_by(mid, |a, b| a.0[ax].total_cmp(&b.0[ax]).then(a.1.cmp(&b.1)));
        split = items[mid].0[ax];
        left_box = bounding_box(&items[..mid]);
        right_box = bounding_box(&items[mid..]);
    }
    let (left, right) = items.split_at_mut(mid);
    build(left, left_box, start, nodes);
    let right_node = nodes.len() as u32;
    build(right, right_box, start + mid as u32, nodes);
    if let Some(n) = nodes.get_mut(me) {
        n.split = split;
        n.axis = ax as u32;
        n.right = right_node;
    }
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
    fn skewed_and_identical_points_keep_queries_exact() {
        // Geometric spacing puts most points on one side of every middle split (the
        // median fallback bounds the depth); identical points tie on every axis.
        let mut pts: Vec<V3> = (0..300)
            .map(|k| [0.5f64.powi(k / 3), (k % 3) as f64 * 1e-3, 0.0])
            .collect();
        pts.extend(std::iter::repeat_n([2.0, 2.0, 2.0], 40));
        let tree = KdTree::new(&pts);
        let mut queries: Vec<V3> = pts.iter().step_by(7).copied().collect();
        queries.extend([[2.0, 2.0, 2.0], [1e-9, 0.0, 0.0], [3.0, -1.0, 0.5]]);
        for (k, &q) in queries.iter().enumerate() {
            let want = brute(&pts, q);
            let mut knn = Knn::<5>::default();
            tree.nearest_k(q, &mut knn);
            for (j, w) in want.iter().take(5).enumerate() {
                let got = (knn.d2[j], tree.ids()[knn.slots[j] as usize]);
                assert_eq!(got, *w, "query {k} rank {j}");
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
