//! Mesh file formats: STL (binary and ASCII), OBJ and 3MF. Bytes in, bytes out.
//!
//! Every reader returns a [`Mesh`](crate::mesh::Mesh) in the file's units converted to
//! millimetres (STL and OBJ carry no unit and are taken as mm; 3MF declares its unit).
//! STL, which stores each triangle's corners separately, is welded on read (exact
//! bit-pattern match, vertex order = first appearance); OBJ and 3MF are indexed and keep
//! their vertex list as written. All results are deterministic. No reader panics on malformed input: it
//! returns a [`MeshError`] that says what is wrong and what to do about it.
// Input-derived data never reaches unwrap/expect here (tests may use them).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod obj;
pub mod stl;
pub mod threemf;

pub use obj::{read_obj, write_obj};
pub use stl::{
    read_stl, read_stl_with_report, write_stl_ascii, write_stl_binary, StlFormat, StlReport,
};
pub use threemf::{read_3mf, write_3mf};

use std::collections::BTreeMap;

/// Largest number of triangles any reader accepts, checked before the triangles are
/// allocated. 20 million triangles is ~10× a full-resolution CT bone surface and needs
/// about 0.7 GB (indices plus welded vertices); beyond that a file is either damaged or
/// too large for a browser tab. Raise it here (and rebuild) only for a native tool with
/// the memory to match.
pub const MAX_TRIANGLES: usize = 20_000_000;
/// Largest number of vertices any reader accepts (same reasoning as [`MAX_TRIANGLES`]).
pub const MAX_VERTICES: usize = 20_000_000;

/// Errors of the mesh module: file formats, invalid meshes and invalid parameters.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MeshError {
    /// The input holds no bytes or no triangles.
    #[error("the {format} data is empty ({detail}); export the part again or pick another file")]
    Empty {
        format: &'static str,
        detail: String,
    },
    /// The file ends before the data it declares.
    #[error("the {format} file is truncated: {detail}; the download or export was interrupted — export it again")]
    Truncated {
        format: &'static str,
        detail: String,
    },
    /// A coordinate is NaN or infinite.
    #[error("{format} triangle {triangle} has a NaN or infinite coordinate; the file is corrupt — re-export the part")]
    NonFinite {
        format: &'static str,
        triangle: usize,
    },
    /// Text that does not follow the format.
    #[error("{format} line {line}: {detail}; the file is not valid {format} — check the exporter or re-export the part")]
    Parse {
        format: &'static str,
        line: usize,
        detail: String,
    },
    /// A triangle refers to a vertex that does not exist.
    #[error("triangle {triangle} refers to vertex {index} but the mesh has only {vertex_count} vertices; run mesh repair or re-export the part")]
    InvalidIndex {
        triangle: usize,
        index: i64,
        vertex_count: usize,
    },
    /// A vertex position is NaN or infinite (mesh built in memory).
    #[error("vertex {vertex} has a NaN or infinite coordinate; run mesh repair or recompute the surface")]
    NonFiniteVertex { vertex: usize },
    /// The mesh is larger than the u32 indices can address.
    #[error("the mesh has {count} vertices, more than the 4 294 967 295 a mesh can index; decimate it or split it into parts")]
    TooLarge { count: usize },
    /// A 3MF archive without a 3D model part.
    #[error("the 3MF file has no 3D model part ({detail}); it is not a valid 3MF package — re-export it as 3MF or use STL")]
    MissingModelPart { detail: String },
    /// A zip container that cannot be read or written.
    #[error(
        "the 3MF container cannot be read: {detail}; the file is not a valid zip — re-export it"
    )]
    Zip { detail: String },
    /// XML that cannot be understood.
    #[error("3MF model XML: {detail}; the file is not valid 3MF — check the exporter or re-export the part")]
    Xml { detail: String },
    /// The file declares or holds more of something than a reader accepts.
    #[error("the {format} file holds {count} {what}, more than the limit of {limit} ({constant}); decimate or split the part before export, or raise the limit if this machine has the memory")]
    LimitExceeded {
        format: &'static str,
        what: &'static str,
        count: u64,
        limit: u64,
        constant: &'static str,
    },
    /// A parameter outside its valid range.
    #[error("invalid parameter: {detail}")]
    InvalidParameter { detail: String },
}

/// Welds vertices by exact bit pattern (with -0.0 treated as 0.0).
///
/// Vertex order is the order of first appearance, so the output is deterministic.
#[derive(Default)]
pub(crate) struct Welder {
    map: BTreeMap<[u64; 3], u32>,
    pub(crate) positions_mm: Vec<[f64; 3]>,
}

impl Welder {
    /// The index of `p`, adding it when new. Fails beyond u32 range.
    pub(crate) fn index(&mut self, p: [f64; 3]) -> Result<u32, MeshError> {
        let key = p.map(|c| (c + 0.0).to_bits());
        if let Some(&i) = self.map.get(&key) {
            return Ok(i);
        }
        let n = self.positions_mm.len();
        let i = u32::try_from(n).map_err(|_| MeshError::TooLarge { count: n + 1 })?;
        self.map.insert(key, i);
        self.positions_mm.push(p.map(|c| c + 0.0));
        Ok(i)
    }
}

/// Refuses `count` of `what` when it is over `limit` (named by `constant` in the message).
pub(crate) fn check_limit(
    format: &'static str,
    what: &'static str,
    count: usize,
    limit: usize,
    constant: &'static str,
) -> Result<(), MeshError> {
    if count > limit {
        return Err(MeshError::LimitExceeded {
            format,
            what,
            count: count as u64,
            limit: limit as u64,
            constant,
        });
    }
    Ok(())
}

/// Triangle limit check with the constant's name filled in.
pub(crate) fn check_triangles(format: &'static str, count: usize) -> Result<(), MeshError> {
    check_limit(
        format,
        "triangles",
        count,
        MAX_TRIANGLES,
        "mesh::io::MAX_TRIANGLES",
    )
}

/// Vertex limit check with the constant's name filled in.
pub(crate) fn check_vertices(format: &'static str, count: usize) -> Result<(), MeshError> {
    check_limit(
        format,
        "vertices",
        count,
        MAX_VERTICES,
        "mesh::io::MAX_VERTICES",
    )
}

/// Checks that every index is in range and every position finite.
pub fn validate(mesh: &crate::mesh::Mesh) -> Result<(), MeshError> {
    let n = mesh.positions_mm.len();
    if let Some(v) = mesh
        .positions_mm
        .iter()
        .position(|p| !p.iter().all(|c| c.is_finite()))
    {
        return Err(MeshError::NonFiniteVertex { vertex: v });
    }
    for (t, tri) in mesh.triangles.iter().enumerate() {
        for &i in tri {
            if i as usize >= n {
                return Err(MeshError::InvalidIndex {
                    triangle: t,
                    index: i as i64,
                    vertex_count: n,
                });
            }
        }
    }
    Ok(())
}
