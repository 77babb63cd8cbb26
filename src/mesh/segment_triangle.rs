//! Squared distance between a line segment and a triangle in 3-D, for brushes swept along
//! a stroke (`print::articular`): a face lies within a brush's radius of a stroke segment
//! when this distance is at most the radius squared.
//!
//! The closest pair of points of a segment and a triangle that do not cross lies on the
//! segment's ends (against the triangle) or on the triangle's edges (against the segment);
//! a segment that crosses the triangle is at distance 0. Segment–segment distances follow
//! Ericson, *Real-Time Collision Detection* 5.1.9, with its handling of degenerate
//! (zero-length) segments. Units: whatever the inputs are in (mm here); `+ − × ÷` and
//! comparisons only, so the result is the same natively and on wasm32.

use super::bvh::{closest_point_on_triangle, cross, dot, sub};

fn dist2(a: [f64; 3], b: [f64; 3]) -> f64 {
    let d = sub(a, b);
    dot(d, d)
}

/// Squared distance between segments `p1–q1` and `p2–q2` (Ericson 5.1.9).
pub fn segment_segment_dist2(p1: [f64; 3], q1: [f64; 3], p2: [f64; 3], q2: [f64; 3]) -> f64 {
    const EPS: f64 = 1e-18;
    let d1 = sub(q1, p1);
    let d2 = sub(q2, p2);
    let r = sub(p1, p2);
    let a = dot(d1, d1);
    let e = dot(d2, d2);
    let f = dot(d2, r);
    let (s, t);
    if a <= EPS && e <= EPS {
        return dist2(p1, p2);
    }
    if a <= EPS {
        s = 0.0;
        t = (f / e).clamp(0.0, 1.0);
    } else {
        let c = dot(d1, r);
        if e <= EPS {
            t = 0.0;
            s = (-c / a).clamp(0.0, 1.0);
        } else {
            let b = dot(d1, d2);
            let denom = a * e - b * b;
            let s0 = if denom > 0.0 {
                ((b * f - c * e) / denom).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let t0 = (b * s0 + f) / e;
            if t0 < 0.0 {
                t = 0.0;
                s = (-c / a).clamp(0.0, 1.0);
            } else if t0 > 1.0 {
                t = 1.0;
                s = ((b - c) / a).clamp(0.0, 1.0);
            } else {
                t = t0;
                s = s0;
            }
        }
    }
    let c1 = [0, 1, 2].map(|k| p1[k] + d1[k] * s);
    let c2 = [0, 1, 2].map(|k| p2[k] + d2[k] * t);
    dist2(c1, c2)
}

/// True when segment `a–b` meets the inside or the boundary of triangle `c` at a single
/// point (a segment lying in the triangle's plane is left to the distance tests).
fn crosses(a: [f64; 3], b: [f64; 3], c: &[[f64; 3]; 3]) -> bool {
    let e1 = sub(c[1], c[0]);
    let e2 = sub(c[2], c[0]);
    let d = sub(b, a);
    let p = cross(d, e2);
    let det = dot(e1, p);
    if det == 0.0 {
        return false;
    }
    let s = sub(a, c[0]);
    let u = dot(s, p) / det;
    if !(0.0..=1.0).contains(&u) {
        return false;
    }
    let q = cross(s, e1);
    let v = dot(d, q) / det;
    if v < 0.0 || u + v > 1.0 {
        return false;
    }
    let t = dot(e2, q) / det;
    (0.0..=1.0).contains(&t)
}

/// Squared distance between segment `a–b` and triangle `c` (see the module doc). A
/// segment of zero length is the point `a`, with exactly the point–triangle distance.
pub fn segment_triangle_dist2(a: [f64; 3], b: [f64; 3], c: &[[f64; 3]; 3]) -> f64 {
    let from_a = dist2(a, closest_point_on_triangle(a, c).0);
    if a == b {
        return from_a;
    }
    if crosses(a, b, c) {
        return 0.0;
    }
    let mut best = from_a.min(dist2(b, closest_point_on_triangle(b, c).0));
    for k in 0..3 {
        best = best.min(segment_segment_dist2(a, b, c[k], c[(k + 1) % 3]));
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRI: [[f64; 3]; 3] = [[0.0, 0.0, 0.0], [4.0, 0.0, 0.0], [0.0, 4.0, 0.0]];

    #[test]
    fn segments_at_known_distances() {
        // Crossing skew segments 2 apart in z.
        let d = segment_segment_dist2(
            [-1.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [0.0, -1.0, 2.0],
            [0.0, 1.0, 2.0],
        );
        assert!((d - 4.0).abs() < 1e-12, "{d}");
        // Collinear, 3 apart end to end.
        let d = segment_segment_dist2([0.0; 3], [1.0, 0.0, 0.0], [4.0, 0.0, 0.0], [6.0, 0.0, 0.0]);
        assert!((d - 9.0).abs() < 1e-12, "{d}");
        // Parallel, side by side 0.5 apart.
        let d = segment_segment_dist2([0.0; 3], [2.0, 0.0, 0.0], [1.0, 0.5, 0.0], [3.0, 0.5, 0.0]);
        assert!((d - 0.25).abs() < 1e-12, "{d}");
        // A point against a segment.
        let d = segment_segment_dist2([1.0, 3.0, 0.0], [1.0, 3.0, 0.0], [0.0; 3], [2.0, 0.0, 0.0]);
        assert!((d - 9.0).abs() < 1e-12, "{d}");
    }

    #[test]
    fn a_segment_against_a_triangle() {
        // Through the triangle: 0.
        assert_eq!(
            segment_triangle_dist2([1.0, 1.0, -1.0], [1.0, 1.0, 1.0], &TRI),
            0.0
        );
        // Above the inside, not reaching it: the lower end's height.
        let d = segment_triangle_dist2([1.0, 1.0, 0.5], [1.0, 1.0, 3.0], &TRI);
        assert!((d - 0.25).abs() < 1e-12, "{d}");
        // Passing over the hypotenuse outside, 1 above the plane and beyond the edge: the
        // closest points are the segment's middle and the edge's middle.
        let d = segment_triangle_dist2([4.0, 0.0, 1.0], [0.0, 4.0, 1.0], &TRI);
        assert!((d - 1.0).abs() < 1e-12, "{d}");
        let d = segment_triangle_dist2([5.0, 1.0, 0.0], [1.0, 5.0, 0.0], &TRI);
        assert!((d - 2.0).abs() < 1e-12, "{d}");
        // A long segment whose ends are both far away but whose middle passes close by.
        let d = segment_triangle_dist2([-10.0, 1.0, 0.3], [10.0, 1.0, 0.3], &TRI);
        assert!((d - 0.09).abs() < 1e-12, "{d}");
        // Zero length: the point–triangle distance, bit for bit.
        let p = [5.0, 5.0, 1.0];
        let q = closest_point_on_triangle(p, &TRI).0;
        assert_eq!(segment_triangle_dist2(p, p, &TRI), dist2(p, q));
    }
}
