//! Wavefront OBJ read/write (geometry only: `v` and `f`).
//!
//! Faces with more than three corners are fan-triangulated from their first corner;
//! `f` corners may be `v`, `v/vt`, `v//vn` or `v/vt/vn`, with 1-based or negative
//! (relative) indices. Texture coordinates, normals, groups and materials are ignored.
//! OBJ has no unit; values are taken as millimetres. Vertices are not welded on read
//! (OBJ is already indexed); the writer writes shortest round-trip decimal text, so
//! write → read gives back the identical mesh.

use super::MeshError;
use crate::mesh::Mesh;

const FORMAT: &str = "OBJ";

/// Reads OBJ text bytes into a mesh in mm.
pub fn read_obj(bytes: &[u8]) -> Result<Mesh, MeshError> {
    if bytes.is_empty() {
        return Err(MeshError::Empty {
            format: FORMAT,
            detail: "0 bytes".into(),
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| MeshError::Parse {
        format: FORMAT,
        line: 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
        detail: "the file contains bytes that are not text".into(),
    })?;
    let mut positions: Vec<[f64; 3]> = Vec::new();
    let mut triangles: Vec<[u32; 3]> = Vec::new();
    let mut corners: Vec<u32> = Vec::new();
    for (ln, line) in text.lines().enumerate() {
        let line_no = ln + 1;
        let err = |detail: String| MeshError::Parse {
            format: FORMAT,
            line: line_no,
            detail,
        };
        let line = line.split('#').next().unwrap_or("");
        let mut tok = line.split_ascii_whitespace();
        match tok.next() {
            Some("v") => {
                let mut p = [0f64; 3];
                for c in p.iter_mut() {
                    let s = tok
                        .next()
                        .ok_or_else(|| err("'v' needs three numbers".into()))?;
                    *c = s
                        .parse::<f64>()
                        .map_err(|_| err(format!("'{s}' is not a number")))?;
                }
                if !p.iter().all(|c| c.is_finite()) {
                    return Err(err(format!(
                        "vertex {} has a NaN or infinite coordinate",
                        positions.len() + 1
                    )));
                }
                positions.push(p);
                super::check_vertices(FORMAT, positions.len())?;
            }
            Some("f") => {
                corners.clear();
                for s in tok {
                    let first = s.split('/').next().unwrap_or("");
                    let i: i64 = first
                        .parse()
                        .map_err(|_| err(format!("'{s}' is not a vertex index")))?;
                    let n = positions.len() as i64;
                    let idx = if i > 0 { i - 1 } else { n + i };
                    if i == 0 || idx < 0 || idx >= n {
                        return Err(MeshError::InvalidIndex {
                            triangle: triangles.len(),
                            index: i,
                            vertex_count: positions.len(),
                        });
                    }
                    corners.push(idx as u32);
                }
                if corners.len() < 3 {
                    return Err(err(format!(
                        "face has {} corners, needs at least 3",
                        corners.len()
                    )));
                }
                super::check_triangles(FORMAT, triangles.len() + corners.len() - 2)?;
                for k in 1..corners.len() - 1 {
                    triangles.push([corners[0], corners[k], corners[k + 1]]);
                }
            }
            _ => {}
        }
    }
    if positions.len() > u32::MAX as usize {
        return Err(MeshError::TooLarge {
            count: positions.len(),
        });
    }
    if triangles.is_empty() {
        return Err(MeshError::Empty {
            format: FORMAT,
            detail: "no faces ('f' lines)".into(),
        });
    }
    Ok(Mesh::new(positions, triangles))
}

/// Writes OBJ text (`v x y z` in shortest round-trip decimal, `f a b c` 1-based).
pub fn write_obj(mesh: &Mesh) -> Result<Vec<u8>, MeshError> {
    use std::fmt::Write;
    super::validate(mesh)?;
    let mut s = String::from("# Osteon mesh, units mm\n");
    for p in &mesh.positions_mm {
        let _ = writeln!(s, "v {:?} {:?} {:?}", p[0], p[1], p[2]);
    }
    for t in &mesh.triangles {
        let _ = writeln!(s, "f {} {} {}", t[0] + 1, t[1] + 1, t[2] + 1);
    }
    Ok(s.into_bytes())
}
