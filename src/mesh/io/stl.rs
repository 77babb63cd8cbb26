//! STL read (binary and ASCII, auto-detected) and write.
//!
//! Binary layout: 80-byte header, u32 little-endian triangle count, then 50 bytes per
//! triangle (normal, three corners as f32 LE, u16 attribute). STL has no unit; values
//! are taken as millimetres. The stored normals are ignored on read (the winding
//! defines the orientation) and recomputed on write.

use super::{MeshError, Welder};
use crate::mesh::Mesh;

const FORMAT: &str = "STL";

/// Which STL encoding a file used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StlFormat {
    /// 80-byte header + count + 50-byte records.
    Binary,
    /// `solid … facet … endsolid` text.
    Ascii,
}

/// What the reader found besides the mesh.
#[derive(Clone, Debug, PartialEq)]
pub struct StlReport {
    /// Encoding detected.
    pub format: StlFormat,
    /// Triangles read from the file.
    pub triangles_read: usize,
    /// Distinct vertices after exact welding.
    pub unique_vertices: usize,
    /// Binary only: the header count when it disagreed with the data length (the data
    /// length was trusted).
    pub header_count_mismatch: Option<u32>,
    /// Binary only: bytes after the last triangle record that were ignored.
    pub trailing_bytes: usize,
    /// Plain-language notes (one per tolerated problem).
    pub warnings: Vec<String>,
}

/// Reads binary or ASCII STL bytes into a welded mesh in mm.
pub fn read_stl(bytes: &[u8]) -> Result<Mesh, MeshError> {
    read_stl_with_report(bytes).map(|(m, _)| m)
}

/// Reads STL bytes and reports what was tolerated (wrong header count, trailing bytes).
pub fn read_stl_with_report(bytes: &[u8]) -> Result<(Mesh, StlReport), MeshError> {
    if bytes.is_empty() {
        return Err(MeshError::Empty {
            format: FORMAT,
            detail: "0 bytes".into(),
        });
    }
    let binary_consistent = bytes.len() >= 84 && {
        let n = u32::from_le_bytes([bytes[80], bytes[81], bytes[82], bytes[83]]) as u64;
        84 + 50 * n == bytes.len() as u64
    };
    if !binary_consistent && looks_ascii(bytes) {
        match read_ascii(bytes) {
            Ok(r) => return Ok(r),
            Err(e) => {
                // A binary file whose header starts with "solid": fall back to binary
                // when the body is clearly not text.
                let body_binary =
                    bytes.len() >= 84 && bytes[84..].iter().take(512).any(|&b| b == 0 || b >= 0x80);
                if !body_binary {
                    return Err(e);
                }
            }
        }
    }
    read_binary(bytes)
}

fn looks_ascii(bytes: &[u8]) -> bool {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let rest = &bytes[start..];
    rest.len() >= 5 && rest[..5].eq_ignore_ascii_case(b"solid")
}

fn read_binary(bytes: &[u8]) -> Result<(Mesh, StlReport), MeshError> {
    if bytes.len() < 84 {
        return Err(MeshError::Truncated {
            format: FORMAT,
            detail: format!(
                "{} bytes, shorter than the 84-byte binary header",
                bytes.len()
            ),
        });
    }
    let header_count = u32::from_le_bytes([bytes[80], bytes[81], bytes[82], bytes[83]]);
    let data = bytes.len() - 84;
    let whole = data / 50;
    let rem = data % 50;
    let mut warnings = Vec::new();
    let mut mismatch = None;
    let mut trailing = 0;
    let count = if header_count as usize == whole && rem == 0 {
        whole
    } else if rem == 0 || (header_count == 0 && whole > 0) {
        // Some exporters leave the count at 0 (or write a wrong one): trust the data.
        mismatch = Some(header_count);
        if rem > 0 {
            trailing = rem;
            warnings.push(format!(
                "ignored {rem} bytes after the last whole triangle record"
            ));
        }
        warnings.push(format!(
            "header declares {header_count} triangles but the data holds exactly {whole}; read {whole}"
        ));
        whole
    } else if (header_count as usize) < whole || (header_count as usize == whole && rem > 0) {
        trailing = data - 50 * header_count as usize;
        warnings.push(format!(
            "ignored {trailing} bytes after the {header_count} declared triangles"
        ));
        header_count as usize
    } else {
        return Err(MeshError::Truncated {
            format: FORMAT,
            detail: format!(
                "header declares {header_count} triangles ({} bytes) but the file has {} bytes, ending inside triangle record {}",
                84 + 50 * header_count as u64,
                bytes.len(),
                whole
            ),
        });
    };
    if count == 0 {
        return Err(MeshError::Empty {
            format: FORMAT,
            detail: "binary STL with 0 triangles".into(),
        });
    }
    super::check_triangles(FORMAT, count)?;
    let mut welder = Welder::default();
    let mut triangles = Vec::with_capacity(count);
    for t in 0..count {
        let rec = &bytes[84 + 50 * t..84 + 50 * t + 50];
        let mut tri = [0u32; 3];
        for (k, slot) in tri.iter_mut().enumerate() {
            let mut p = [0f64; 3];
            for (c, pc) in p.iter_mut().enumerate() {
                let o = 12 + 12 * k + 4 * c;
                let v = f32::from_le_bytes([rec[o], rec[o + 1], rec[o + 2], rec[o + 3]]);
                if !v.is_finite() {
                    return Err(MeshError::NonFinite {
                        format: FORMAT,
                        triangle: t,
                    });
                }
                *pc = v as f64;
            }
            *slot = welder.index(p)?;
        }
        triangles.push(tri);
    }
    let mesh = Mesh::new(welder.positions_mm, triangles);
    let report = StlReport {
        format: StlFormat::Binary,
        triangles_read: count,
        unique_vertices: mesh.positions_mm.len(),
        header_count_mismatch: mismatch,
        trailing_bytes: trailing,
        warnings,
    };
    Ok((mesh, report))
}

fn read_ascii(bytes: &[u8]) -> Result<(Mesh, StlReport), MeshError> {
    let text = std::str::from_utf8(bytes).map_err(|e| MeshError::Parse {
        format: FORMAT,
        line: 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
        detail: "ASCII STL contains bytes that are not text".into(),
    })?;
    let mut welder = Welder::default();
    let mut triangles = Vec::new();
    let mut loop_pts: Vec<[f64; 3]> = Vec::new();
    let mut in_loop = false;
    let mut facet_index = 0usize;
    for (ln, line) in text.lines().enumerate() {
        let line_no = ln + 1;
        let mut tok = line.split_ascii_whitespace();
        let Some(kw) = tok.next() else { continue };
        let err = |detail: String| MeshError::Parse {
            format: FORMAT,
            line: line_no,
            detail,
        };
        match kw.to_ascii_lowercase().as_str() {
            "solid" | "endsolid" | "facet" | "endfacet" => {}
            "outer" => {
                if in_loop {
                    return Err(err("'outer loop' inside another loop".into()));
                }
                in_loop = true;
                loop_pts.clear();
            }
            "vertex" => {
                if !in_loop {
                    return Err(err("'vertex' outside 'outer loop'".into()));
                }
                let mut p = [0f64; 3];
                for c in p.iter_mut() {
                    let s = tok
                        .next()
                        .ok_or_else(|| err("'vertex' needs three numbers".into()))?;
                    *c = s
                        .parse::<f64>()
                        .map_err(|_| err(format!("'{s}' is not a number")))?;
                }
                if !p.iter().all(|c| c.is_finite()) {
                    return Err(MeshError::NonFinite {
                        format: FORMAT,
                        triangle: facet_index,
                    });
                }
                loop_pts.push(p);
            }
            "endloop" => {
                if !in_loop {
                    return Err(err("'endloop' without 'outer loop'".into()));
                }
                in_loop = false;
                if loop_pts.len() < 3 {
                    return Err(err(format!(
                        "facet {facet_index} has {} vertices, needs 3",
                        loop_pts.len()
                    )));
                }
                let idx: Vec<u32> = loop_pts
                    .iter()
                    .map(|&p| welder.index(p))
                    .collect::<Result<_, _>>()?;
                for k in 1..idx.len() - 1 {
                    triangles.push([idx[0], idx[k], idx[k + 1]]);
                }
                super::check_triangles(FORMAT, triangles.len())?;
                facet_index += 1;
            }
            other => {
                let shown: String = other.chars().take(24).collect();
                return Err(err(format!(
                    "unexpected '{shown}' (expected facet, vertex, endloop …)"
                )));
            }
        }
    }
    if in_loop {
        return Err(MeshError::Truncated {
            format: FORMAT,
            detail: "the text ends inside a facet".into(),
        });
    }
    if triangles.is_empty() {
        return Err(MeshError::Empty {
            format: FORMAT,
            detail: "ASCII STL with no facets".into(),
        });
    }
    let report = StlReport {
        format: StlFormat::Ascii,
        triangles_read: triangles.len(),
        unique_vertices: welder.positions_mm.len(),
        header_count_mismatch: None,
        trailing_bytes: 0,
        warnings: Vec::new(),
    };
    Ok((Mesh::new(welder.positions_mm, triangles), report))
}

fn unit_normal(c: [[f64; 3]; 3]) -> [f64; 3] {
    let u = [c[1][0] - c[0][0], c[1][1] - c[0][1], c[1][2] - c[0][2]];
    let v = [c[2][0] - c[0][0], c[2][1] - c[0][1], c[2][2] - c[0][2]];
    let n = [
        u[1] * v[2] - u[2] * v[1],
        u[2] * v[0] - u[0] * v[2],
        u[0] * v[1] - u[1] * v[0],
    ];
    let l = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
    if l > 0.0 && l.is_finite() {
        n.map(|x| x / l)
    } else {
        [0.0; 3]
    }
}

fn corners(mesh: &Mesh, t: usize) -> Result<[[f64; 3]; 3], MeshError> {
    let tri = mesh.triangles[t];
    let mut out = [[0.0; 3]; 3];
    for k in 0..3 {
        out[k] = *mesh
            .positions_mm
            .get(tri[k] as usize)
            .ok_or(MeshError::InvalidIndex {
                triangle: t,
                index: tri[k] as i64,
                vertex_count: mesh.positions_mm.len(),
            })?;
    }
    Ok(out)
}

/// Writes binary STL (f32 coordinates, normals computed from the winding).
///
/// `header` is truncated/padded to 80 bytes; it must not start with "solid" (some
/// readers would take the file for ASCII), so such a header is prefixed with "binary ".
pub fn write_stl_binary(mesh: &Mesh, header: &str) -> Result<Vec<u8>, MeshError> {
    let n = u32::try_from(mesh.triangles.len()).map_err(|_| MeshError::TooLarge {
        count: mesh.triangles.len(),
    })?;
    let mut out = Vec::with_capacity(84 + 50 * mesh.triangles.len());
    let mut h = if header
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("solid")
    {
        format!("binary {header}").into_bytes()
    } else {
        header.as_bytes().to_vec()
    };
    h.resize(80, b' ');
    out.extend_from_slice(&h);
    out.extend_from_slice(&n.to_le_bytes());
    for t in 0..mesh.triangles.len() {
        let c = corners(mesh, t)?;
        let cf = c.map(|p| p.map(|x| x as f32 as f64));
        for x in unit_normal(cf) {
            out.extend_from_slice(&(x as f32).to_le_bytes());
        }
        for p in c {
            for x in p {
                out.extend_from_slice(&(x as f32).to_le_bytes());
            }
        }
        out.extend_from_slice(&[0, 0]);
    }
    Ok(out)
}

/// Writes ASCII STL (shortest round-trip f64 text, normals computed from the winding).
pub fn write_stl_ascii(mesh: &Mesh, name: &str) -> Result<Vec<u8>, MeshError> {
    use std::fmt::Write;
    let name: String = name.chars().filter(|c| !c.is_control()).collect();
    let mut s = format!("solid {name}\n");
    for t in 0..mesh.triangles.len() {
        let c = corners(mesh, t)?;
        let n = unit_normal(c);
        let _ = writeln!(
            s,
            "facet normal {:e} {:e} {:e}\n outer loop",
            n[0], n[1], n[2]
        );
        for p in c {
            let _ = writeln!(s, "  vertex {:?} {:?} {:?}", p[0], p[1], p[2]);
        }
        s.push_str(" endloop\nendfacet\n");
    }
    let _ = writeln!(s, "endsolid {name}");
    Ok(s.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_polygon_facets_are_fan_triangulated_and_welded() {
        let text = b"  solid quad\n facet normal 0 0 1\n  outer loop\n   vertex 0 0 0\n   vertex 1 0 0\n   vertex 1 1 0\n   vertex 0 1 0\n  endloop\n endfacet\n facet normal 0 0 1\n  outer loop\n   vertex 0 0 0\n   vertex -0 1 0\n   vertex -1 0 0\n  endloop\n endfacet\nendsolid\n";
        let (m, rep) = read_stl_with_report(text).unwrap();
        assert_eq!(rep.format, StlFormat::Ascii);
        assert_eq!(m.triangles, vec![[0, 1, 2], [0, 2, 3], [0, 3, 4]]);
        assert_eq!(m.positions_mm.len(), 5, "-0 and 0 weld");
    }

    #[test]
    fn written_normals_are_unit_and_outward() {
        let m = Mesh::new(
            vec![[0.0; 3], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
            vec![[0, 1, 2]],
        );
        let b = write_stl_binary(&m, "t").unwrap();
        let nz = f32::from_le_bytes([b[92], b[93], b[94], b[95]]);
        assert_eq!(nz, 1.0);
        let bad = Mesh::new(vec![[0.0; 3]], vec![[0, 1, 2]]);
        assert!(matches!(
            write_stl_binary(&bad, "t"),
            Err(MeshError::InvalidIndex { .. })
        ));
    }
}
