//! Analytic test shapes with known volume and area (closed, outward, CCW from outside).
//!
//! Used by tests across the crate. All sizes in mm; shapes are centred at the origin
//! unless stated. Closed-form values: sphere V = 4/3 π r³, A = 4 π r²; torus
//! V = 2 π² R r², A = 4 π² R r; box V = dx dy dz. Tessellated shapes approach these
//! from below as the resolution grows.

use super::Mesh;
use std::collections::BTreeMap;
use std::f64::consts::PI;

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}
fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// UV sphere of radius `r_mm` with `stacks` ≥ 2 latitude bands and `slices` ≥ 3
/// longitude segments (poles are single vertices).
pub fn uv_sphere(r_mm: f64, stacks: usize, slices: usize) -> Mesh {
    let (stacks, slices) = (stacks.max(2), slices.max(3));
    let mut p = vec![[0.0, 0.0, r_mm]];
    for i in 1..stacks {
        let th = PI * i as f64 / stacks as f64;
        for j in 0..slices {
            let ph = 2.0 * PI * j as f64 / slices as f64;
            p.push([
                r_mm * th.sin() * ph.cos(),
                r_mm * th.sin() * ph.sin(),
                r_mm * th.cos(),
            ]);
        }
    }
    p.push([0.0, 0.0, -r_mm]);
    let south = (p.len() - 1) as u32;
    let ring = |i: usize, j: usize| (1 + (i - 1) * slices + j % slices) as u32;
    let mut t = Vec::new();
    for j in 0..slices {
        t.push([0, ring(1, j), ring(1, j + 1)]);
    }
    for i in 1..stacks - 1 {
        for j in 0..slices {
            let (a, b, c, d) = (
                ring(i, j),
                ring(i, j + 1),
                ring(i + 1, j),
                ring(i + 1, j + 1),
            );
            t.push([a, c, d]);
            t.push([a, d, b]);
        }
    }
    for j in 0..slices {
        t.push([south, ring(stacks - 1, j + 1), ring(stacks - 1, j)]);
    }
    Mesh::new(p, t)
}

/// Icosphere: an icosahedron subdivided `subdivisions` times (20·4ⁿ triangles), radius `r_mm`.
pub fn ico_sphere(r_mm: f64, subdivisions: u32) -> Mesh {
    let g = (1.0 + 5f64.sqrt()) / 2.0;
    let mut p: Vec<[f64; 3]> = vec![
        [-1.0, g, 0.0],
        [1.0, g, 0.0],
        [-1.0, -g, 0.0],
        [1.0, -g, 0.0],
        [0.0, -1.0, g],
        [0.0, 1.0, g],
        [0.0, -1.0, -g],
        [0.0, 1.0, -g],
        [g, 0.0, -1.0],
        [g, 0.0, 1.0],
        [-g, 0.0, -1.0],
        [-g, 0.0, 1.0],
    ];
    let mut t: Vec<[u32; 3]> = vec![
        [0, 11, 5],
        [0, 5, 1],
        [0, 1, 7],
        [0, 7, 10],
        [0, 10, 11],
        [1, 5, 9],
        [5, 11, 4],
        [11, 10, 2],
        [10, 7, 6],
        [7, 1, 8],
        [3, 9, 4],
        [3, 4, 2],
        [3, 2, 6],
        [3, 6, 8],
        [3, 8, 9],
        [4, 9, 5],
        [2, 4, 11],
        [6, 2, 10],
        [8, 6, 7],
        [9, 8, 1],
    ];
    let norm = |v: [f64; 3]| {
        let l = dot(v, v).sqrt();
        v.map(|x| x / l)
    };
    for v in p.iter_mut() {
        *v = norm(*v);
    }
    for _ in 0..subdivisions {
        let mut mid: BTreeMap<(u32, u32), u32> = BTreeMap::new();
        let mut nt = Vec::with_capacity(t.len() * 4);
        for tri in &t {
            let mut m = [0u32; 3];
            for k in 0..3 {
                let (a, b) = (tri[k], tri[(k + 1) % 3]);
                let key = (a.min(b), a.max(b));
                m[k] = *mid.entry(key).or_insert_with(|| {
                    let (pa, pb) = (p[a as usize], p[b as usize]);
                    p.push(norm([pa[0] + pb[0], pa[1] + pb[1], pa[2] + pb[2]]));
                    (p.len() - 1) as u32
                });
            }
            nt.push([tri[0], m[0], m[2]]);
            nt.push([tri[1], m[1], m[0]]);
            nt.push([tri[2], m[2], m[1]]);
            nt.push([m[0], m[1], m[2]]);
        }
        t = nt;
    }
    for v in p.iter_mut() {
        *v = v.map(|x| x * r_mm);
    }
    Mesh::new(p, t)
}

/// Ellipsoid with semi-axes `a_mm`, `b_mm`, `c_mm` along x, y, z (scaled icosphere).
pub fn ellipsoid(a_mm: f64, b_mm: f64, c_mm: f64, subdivisions: u32) -> Mesh {
    let mut m = ico_sphere(1.0, subdivisions);
    for v in m.positions_mm.iter_mut() {
        *v = [v[0] * a_mm, v[1] * b_mm, v[2] * c_mm];
    }
    m
}

/// Torus around the z axis: major radius `big_r_mm`, tube radius `r_mm`, `nu` segments
/// around the axis and `nv` around the tube (both ≥ 3). Genus 1.
pub fn torus(big_r_mm: f64, r_mm: f64, nu: usize, nv: usize) -> Mesh {
    let (nu, nv) = (nu.max(3), nv.max(3));
    let mut p = Vec::with_capacity(nu * nv);
    for i in 0..nu {
        let u = 2.0 * PI * i as f64 / nu as f64;
        for j in 0..nv {
            let v = 2.0 * PI * j as f64 / nv as f64;
            let rr = big_r_mm + r_mm * v.cos();
            p.push([rr * u.cos(), rr * u.sin(), r_mm * v.sin()]);
        }
    }
    let id = |i: usize, j: usize| ((i % nu) * nv + j % nv) as u32;
    let mut t = Vec::with_capacity(2 * nu * nv);
    for i in 0..nu {
        for j in 0..nv {
            let (a, b, c, d) = (id(i, j), id(i + 1, j), id(i + 1, j + 1), id(i, j + 1));
            t.push([a, b, c]);
            t.push([a, c, d]);
        }
    }
    Mesh::new(p, t)
}

/// Axis-aligned box from `min_mm` to `max_mm`: 8 vertices, 12 triangles.
pub fn box_mesh(min_mm: [f64; 3], max_mm: [f64; 3]) -> Mesh {
    let (a, b) = (min_mm, max_mm);
    let p = vec![
        [a[0], a[1], a[2]],
        [b[0], a[1], a[2]],
        [b[0], b[1], a[2]],
        [a[0], b[1], a[2]],
        [a[0], a[1], b[2]],
        [b[0], a[1], b[2]],
        [b[0], b[1], b[2]],
        [a[0], b[1], b[2]],
    ];
    let t = vec![
        [0, 2, 1],
        [0, 3, 2], // z min
        [4, 5, 6],
        [4, 6, 7], // z max
        [0, 1, 5],
        [0, 5, 4], // y min
        [2, 3, 7],
        [2, 7, 6], // y max
        [0, 4, 7],
        [0, 7, 3], // x min
        [1, 2, 6],
        [1, 6, 5], // x max
    ];
    Mesh::new(p, t)
}

/// A square frame: the box `[-outer/2, outer/2]² × [0, height]` with a square through-hole
/// `[-hole/2, hole/2]²` along z (genus 1). V = height·(outer² − hole²),
/// A = 2·(outer² − hole²) + 4·height·(outer + hole). Requires 0 < hole < outer.
pub fn box_with_hole(outer_mm: f64, hole_mm: f64, height_mm: f64) -> Mesh {
    let xs = [
        -outer_mm / 2.0,
        -hole_mm / 2.0,
        hole_mm / 2.0,
        outer_mm / 2.0,
    ];
    let mut p = Vec::with_capacity(32);
    for z in [0.0, height_mm] {
        for y in xs {
            for x in xs {
                p.push([x, y, z]);
            }
        }
    }
    let id = |i: usize, j: usize, k: usize| (k * 16 + j * 4 + i) as u32;
    let mut t: Vec<[u32; 3]> = Vec::new();
    let mut quad = |p: &Vec<[f64; 3]>, q: [u32; 4], out: [f64; 3]| {
        let n = cross(
            sub(p[q[1] as usize], p[q[0] as usize]),
            sub(p[q[2] as usize], p[q[0] as usize]),
        );
        if dot(n, out) >= 0.0 {
            t.push([q[0], q[1], q[2]]);
            t.push([q[0], q[2], q[3]]);
        } else {
            t.push([q[0], q[2], q[1]]);
            t.push([q[0], q[3], q[2]]);
        }
    };
    for j in 0..3 {
        for i in 0..3 {
            if i == 1 && j == 1 {
                continue;
            }
            for (k, dz) in [(0, -1.0), (1, 1.0)] {
                quad(
                    &p,
                    [
                        id(i, j, k),
                        id(i + 1, j, k),
                        id(i + 1, j + 1, k),
                        id(i, j + 1, k),
                    ],
                    [0.0, 0.0, dz],
                );
            }
        }
    }
    // Outer walls: 12 segments of the 4×4 grid boundary; inner walls: 4 around the hole.
    let ring_outer: Vec<(usize, usize)> = (0..3)
        .map(|i| (i, 0))
        .chain((0..3).map(|j| (3, j)))
        .chain((1..4).rev().map(|i| (i, 3)))
        .chain((1..4).rev().map(|j| (0, j)))
        .collect();
    let ring_inner = [(1, 1), (2, 1), (2, 2), (1, 2)];
    for (ring, sign) in [(&ring_outer[..], 1.0), (&ring_inner[..], -1.0)] {
        for s in 0..ring.len() {
            let (i0, j0) = ring[s];
            let (i1, j1) = ring[(s + 1) % ring.len()];
            let mid = [(xs[i0] + xs[i1]) / 2.0, (xs[j0] + xs[j1]) / 2.0, 0.0];
            let out = mid.map(|c| c * sign);
            quad(
                &p,
                [id(i0, j0, 0), id(i1, j1, 0), id(i1, j1, 1), id(i0, j0, 1)],
                out,
            );
        }
    }
    Mesh::new(p, t)
}

/// Concatenates meshes into one multi-component mesh.
pub fn concat(parts: &[&Mesh]) -> Mesh {
    let mut m = Mesh::default();
    for part in parts {
        let base = m.positions_mm.len() as u32;
        m.positions_mm.extend_from_slice(&part.positions_mm);
        m.triangles
            .extend(part.triangles.iter().map(|t| t.map(|i| i + base)));
    }
    m
}

/// Translates a mesh by `offset_mm`.
pub fn translated(mesh: &Mesh, offset_mm: [f64; 3]) -> Mesh {
    let mut m = mesh.clone();
    for p in m.positions_mm.iter_mut() {
        *p = [
            p[0] + offset_mm[0],
            p[1] + offset_mm[1],
            p[2] + offset_mm[2],
        ];
    }
    m
}
