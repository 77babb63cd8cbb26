//! The implant-only link: `#m=<format>.<base64url(payload)>` carries one mesh (an implant,
//! or any part the author chooses to share) and no anatomy, for a reviewer who does not
//! have the CT.
//!
//! Payload bytes: `checksum[4] || deflate(body)`, the checksum being the first four bytes
//! of SHA-256 over the deflated bytes (as in the design link). The body, little-endian:
//!
//! ```text
//! name_len u8, name (UTF-8)
//! vertex_count u32, triangle_count u32
//! origin_mm [f64; 3], step_mm f64
//! vertices: per vertex, per axis, zigzag-varint delta of q = round((x - origin) / step)
//!           from the previous vertex's q (the first from 0)
//! triangles: per corner, zigzag-varint delta from the previous corner index
//! ```
//!
//! Positions are quantised to `step_mm` (default 10 µm, a third of a 30 µm print layer),
//! so the decoded mesh is within `step_mm / 2` of the original per axis; connectivity is
//! exact, so a watertight mesh stays watertight. Marching-cubes meshes list neighbouring
//! vertices together, so the deltas are small and deflate well. Hand-written because the
//! format must be tiny, bounded on decode, and byte-identical natively and in wasm.

use crate::mesh::Mesh;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

/// Prefix of the fragment that carries an implant mesh.
pub const MESH_FRAGMENT_PREFIX: &str = "#m=";
/// Current format of the implant-only link.
pub const MESH_LINK_VERSION: u16 = 1;
/// Default quantisation step of positions (mm).
pub const DEFAULT_STEP_MM: f64 = 0.01;
/// Largest body accepted once inflated (bytes); refuses decompression bombs.
pub const MAX_MESH_BODY_BYTES: usize = 32 << 20;
/// Largest mesh accepted from a link (triangles); about a 2 M-triangle implant.
pub const MAX_MESH_TRIANGLES: usize = 2_000_000;

/// Why a mesh link cannot be made or opened. Messages say what to do.
#[derive(thiserror::Error, Debug, PartialEq)]
pub enum MeshLinkError {
    #[error("this is not an implant link: it should contain '#m=' followed by the mesh; ask for the link again")]
    NotALink,
    #[error("the implant link is damaged ({0}); ask the sender to copy it again")]
    Damaged(String),
    #[error("this implant link was made by a newer Osteon (format {found}, this app reads up to {supported}); open it with the newer version")]
    TooNew { found: u16, supported: u16 },
    #[error("the implant in this link is larger than {limit} once unpacked; it is refused to protect this computer")]
    TooLarge { limit: String },
    #[error("the mesh cannot be shared as a link: {0}")]
    Encode(String),
}

/// A mesh shared by an implant-only link.
#[derive(Clone, Debug, PartialEq)]
pub struct SharedMesh {
    /// Display name, e.g. "implant 100 %" (at most 255 bytes of UTF-8).
    pub name: String,
    pub mesh: Mesh,
}

fn checksum(bytes: &[u8]) -> [u8; 4] {
    let d = Sha256::digest(bytes);
    [d[0], d[1], d[2], d[3]]
}

fn push_varint(out: &mut Vec<u8>, value: i64) {
    let mut z = ((value << 1) ^ (value >> 63)) as u64;
    loop {
        let byte = (z & 0x7f) as u8;
        z >>= 7;
        if z == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Encodes a mesh as `#m=<version>.<payload>` with positions quantised to `step_mm`.
pub fn encode_mesh_link(shared: &SharedMesh, step_mm: f64) -> Result<String, MeshLinkError> {
    let mesh = &shared.mesh;
    if !(step_mm.is_finite() && step_mm > 0.0 && step_mm <= 1.0) {
        return Err(MeshLinkError::Encode(format!(
            "the position step must be between 0 and 1 mm, not {step_mm}"
        )));
    }
    if mesh.triangles.is_empty() {
        return Err(MeshLinkError::Encode("the mesh has no triangles".into()));
    }
    if mesh.triangles.len() > MAX_MESH_TRIANGLES {
        return Err(MeshLinkError::Encode(format!(
            "it has {} triangles, more than the {MAX_MESH_TRIANGLES} a link can carry; decimate it first",
            mesh.triangles.len()
        )));
    }
    let vertex_count = mesh.positions_mm.len();
    if let Some(t) = mesh
        .triangles
        .iter()
        .position(|t| t.iter().any(|&v| v as usize >= vertex_count))
    {
        return Err(MeshLinkError::Encode(format!(
            "triangle {t} refers to a vertex that does not exist"
        )));
    }
    if mesh.positions_mm.iter().flatten().any(|c| !c.is_finite()) {
        return Err(MeshLinkError::Encode(
            "a vertex has a coordinate that is not a finite number".into(),
        ));
    }
    let mut origin = [f64::INFINITY; 3];
    let mut extent = [f64::NEG_INFINITY; 3];
    for p in &mesh.positions_mm {
        for a in 0..3 {
            origin[a] = origin[a].min(p[a]);
            extent[a] = extent[a].max(p[a]);
        }
    }
    // Quantised coordinates must fit comfortably in an i64 delta chain.
    if (0..3).any(|a| (extent[a] - origin[a]) / step_mm > 1e12) {
        return Err(MeshLinkError::Encode(
            "the mesh is too large for this position step".into(),
        ));
    }
    let name = shared.name.as_bytes();
    let name = &name[..floor_char_boundary(&shared.name, 255)];

    let mut body = Vec::with_capacity(16 + name.len() + 48 + mesh.triangles.len() * 8);
    body.push(name.len() as u8);
    body.extend_from_slice(name);
    body.extend_from_slice(&(vertex_count as u32).to_le_bytes());
    body.extend_from_slice(&(mesh.triangles.len() as u32).to_le_bytes());
    for o in origin {
        body.extend_from_slice(&o.to_le_bytes());
    }
    body.extend_from_slice(&step_mm.to_le_bytes());
    let mut previous = [0i64; 3];
    for p in &mesh.positions_mm {
        for a in 0..3 {
            let q = ((p[a] - origin[a]) / step_mm).round() as i64;
            push_varint(&mut body, q - previous[a]);
            previous[a] = q;
        }
    }
    let mut previous_index = 0i64;
    for &v in mesh.triangles.iter().flatten() {
        push_varint(&mut body, i64::from(v) - previous_index);
        previous_index = i64::from(v);
    }
    let deflated = miniz_oxide::deflate::compress_to_vec(&body, 9);
    let mut payload = checksum(&deflated).to_vec();
    payload.extend_from_slice(&deflated);
    Ok(format!(
        "{MESH_FRAGMENT_PREFIX}{MESH_LINK_VERSION}.{}",
        URL_SAFE_NO_PAD.encode(payload)
    ))
}

fn floor_char_boundary(s: &str, max: usize) -> usize {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    end
}

/// Reads the body of a mesh link; every length is checked before it is used.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], MeshLinkError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| MeshLinkError::Damaged(format!("it ends inside the {what}")))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn u32(&mut self, what: &str) -> Result<u32, MeshLinkError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn f64(&mut self, what: &str) -> Result<f64, MeshLinkError> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_le_bytes(a))
    }

    fn varint(&mut self, what: &str) -> Result<i64, MeshLinkError> {
        let mut z = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self
                .bytes
                .get(self.at)
                .ok_or_else(|| MeshLinkError::Damaged(format!("it ends inside the {what}")))?;
            self.at += 1;
            z |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok((z >> 1) as i64 ^ -((z & 1) as i64));
            }
        }
        Err(MeshLinkError::Damaged(format!(
            "a number in the {what} is too long"
        )))
    }
}

/// Decodes a mesh from a whole URL, a fragment (`#m=…`) or the bare `<version>.<payload>`.
pub fn decode_mesh_link(link: &str) -> Result<SharedMesh, MeshLinkError> {
    let body = match link.find(MESH_FRAGMENT_PREFIX) {
        Some(at) => &link[at + MESH_FRAGMENT_PREFIX.len()..],
        None if link.contains('.') && !link.contains('/') && !link.contains('#') => link,
        None => return Err(MeshLinkError::NotALink),
    };
    let (version, payload) = body.split_once('.').ok_or(MeshLinkError::NotALink)?;
    let version: u16 = version
        .parse()
        .map_err(|_| MeshLinkError::Damaged("the format number is not a number".into()))?;
    if version > MESH_LINK_VERSION {
        return Err(MeshLinkError::TooNew {
            found: version,
            supported: MESH_LINK_VERSION,
        });
    }
    if version == 0 {
        return Err(MeshLinkError::Damaged("format 0 does not exist".into()));
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| MeshLinkError::Damaged("it is not valid base64url text".into()))?;
    if bytes.len() < 5 {
        return Err(MeshLinkError::Damaged("it is too short".into()));
    }
    let (sum, deflated) = bytes.split_at(4);
    if sum != checksum(deflated) {
        return Err(MeshLinkError::Damaged("the checksum does not match".into()));
    }
    let body = miniz_oxide::inflate::decompress_to_vec_with_limit(deflated, MAX_MESH_BODY_BYTES)
        .map_err(|e| {
            if e.status == miniz_oxide::inflate::TINFLStatus::HasMoreOutput {
                MeshLinkError::TooLarge {
                    limit: format!("{MAX_MESH_BODY_BYTES} bytes"),
                }
            } else {
                MeshLinkError::Damaged("it does not unpack".into())
            }
        })?;
    read_body(&body)
}

fn read_body(body: &[u8]) -> Result<SharedMesh, MeshLinkError> {
    let mut r = Reader { bytes: body, at: 0 };
    let name_len = r.take(1, "name")?[0] as usize;
    let name = std::str::from_utf8(r.take(name_len, "name")?)
        .map_err(|_| MeshLinkError::Damaged("the name is not UTF-8 text".into()))?
        .to_string();
    let vertex_count = r.u32("header")? as usize;
    let triangle_count = r.u32("header")? as usize;
    if triangle_count > MAX_MESH_TRIANGLES {
        return Err(MeshLinkError::TooLarge {
            limit: format!("{MAX_MESH_TRIANGLES} triangles"),
        });
    }
    // Every varint takes at least one byte: refuse counts the body cannot hold before
    // allocating for them.
    let needed = vertex_count
        .checked_mul(3)
        .and_then(|v| v.checked_add(triangle_count.checked_mul(3)?))
        .ok_or_else(|| MeshLinkError::Damaged("its vertex count is impossible".into()))?;
    if needed > body.len() {
        return Err(MeshLinkError::Damaged(
            "it announces more vertices or triangles than it holds".into(),
        ));
    }
    let mut origin = [0.0; 3];
    for o in &mut origin {
        *o = r.f64("header")?;
    }
    let step = r.f64("header")?;
    if !(step.is_finite() && step > 0.0 && step <= 1.0) || origin.iter().any(|o| !o.is_finite()) {
        return Err(MeshLinkError::Damaged(
            "its position scale is not a valid number".into(),
        ));
    }
    let mut positions_mm = Vec::with_capacity(vertex_count);
    let mut q = [0i64; 3];
    for _ in 0..vertex_count {
        let mut p = [0.0; 3];
        for a in 0..3 {
            q[a] = q[a]
                .checked_add(r.varint("vertices")?)
                .ok_or_else(|| MeshLinkError::Damaged("a vertex is out of range".into()))?;
            p[a] = origin[a] + q[a] as f64 * step;
        }
        if p.iter().any(|c| !c.is_finite()) {
            return Err(MeshLinkError::Damaged("a vertex is out of range".into()));
        }
        positions_mm.push(p);
    }
    let mut triangles = Vec::with_capacity(triangle_count);
    let mut index = 0i64;
    for _ in 0..triangle_count {
        let mut t = [0u32; 3];
        for corner in &mut t {
            index = index
                .checked_add(r.varint("triangles")?)
                .filter(|&i| i >= 0 && (i as usize) < vertex_count)
                .ok_or_else(|| {
                    MeshLinkError::Damaged("a triangle refers to a missing vertex".into())
                })?;
            *corner = index as u32;
        }
        triangles.push(t);
    }
    if r.at != body.len() {
        return Err(MeshLinkError::Damaged(
            "there are bytes after the last triangle".into(),
        ));
    }
    Ok(SharedMesh {
        name,
        mesh: Mesh::new(positions_mm, triangles),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::measure::volume_and_area;
    use crate::mesh::repair::check;
    use crate::mesh::shapes::{translated, uv_sphere};

    fn sphere() -> SharedMesh {
        SharedMesh {
            name: "implant 100 %".into(),
            mesh: translated(&uv_sphere(12.0, 24, 48), [10.0, -20.0, 35.5]),
        }
    }

    #[test]
    fn a_mesh_round_trips_within_half_a_step() {
        let shared = sphere();
        let link = encode_mesh_link(&shared, DEFAULT_STEP_MM).unwrap();
        assert!(link.starts_with("#m=1."));
        let back = decode_mesh_link(&format!("http://127.0.0.1:8080/{link}")).unwrap();
        assert_eq!(back.name, shared.name);
        assert_eq!(back.mesh.triangles, shared.mesh.triangles);
        let worst = shared
            .mesh
            .positions_mm
            .iter()
            .zip(&back.mesh.positions_mm)
            .flat_map(|(a, b)| (0..3).map(move |k| (a[k] - b[k]).abs()))
            .fold(0.0, f64::max);
        assert!(worst <= DEFAULT_STEP_MM / 2.0 + 1e-12, "worst {worst}");
        assert!(worst > 0.0, "positions were not quantised at all");
        let (v0, _) = volume_and_area(&shared.mesh).unwrap();
        let (v1, _) = volume_and_area(&back.mesh).unwrap();
        assert!((v1 - v0).abs() / v0 < 1e-3);
        assert!(check(&back.mesh).unwrap().watertight);
    }

    #[test]
    fn the_same_mesh_always_gives_the_same_link() {
        let a = encode_mesh_link(&sphere(), DEFAULT_STEP_MM).unwrap();
        let b = encode_mesh_link(&sphere(), DEFAULT_STEP_MM).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn damaged_truncated_and_foreign_links_are_refused() {
        let link = encode_mesh_link(&sphere(), DEFAULT_STEP_MM).unwrap();
        assert_eq!(
            decode_mesh_link("#d=1.AAAA").unwrap_err(),
            MeshLinkError::NotALink
        );
        let truncated = &link[..link.len() - 10];
        assert!(matches!(
            decode_mesh_link(truncated),
            Err(MeshLinkError::Damaged(_))
        ));
        let newer = link.replacen("#m=1.", "#m=7.", 1);
        assert!(matches!(
            decode_mesh_link(&newer),
            Err(MeshLinkError::TooNew { found: 7, .. })
        ));
        // Every single-character change is caught (checksum or structure), never a panic.
        let chars: Vec<char> = link.chars().collect();
        for at in (5..chars.len()).step_by(chars.len() / 97 + 1) {
            let mut c = chars.clone();
            c[at] = if c[at] == 'A' { 'B' } else { 'A' };
            let changed: String = c.into_iter().collect();
            assert!(decode_mesh_link(&changed).is_err(), "change at {at}");
        }
    }

    #[test]
    fn a_body_that_lies_about_its_counts_is_refused_before_allocating() {
        let mut body = vec![0u8];
        body.extend_from_slice(&u32::MAX.to_le_bytes());
        body.extend_from_slice(&1u32.to_le_bytes());
        body.extend_from_slice(&[0u8; 32]);
        assert!(matches!(read_body(&body), Err(MeshLinkError::Damaged(_))));
        let mut body = vec![0u8];
        body.extend_from_slice(&3u32.to_le_bytes());
        body.extend_from_slice(&(MAX_MESH_TRIANGLES as u32 + 1).to_le_bytes());
        assert!(matches!(
            read_body(&body),
            Err(MeshLinkError::TooLarge { .. })
        ));
    }

    #[test]
    fn a_triangle_pointing_past_the_vertices_is_refused() {
        let mut m = sphere();
        m.mesh.triangles[3][1] = m.mesh.positions_mm.len() as u32;
        assert!(matches!(
            encode_mesh_link(&m, DEFAULT_STEP_MM),
            Err(MeshLinkError::Encode(_))
        ));
    }

    #[test]
    fn bad_parameters_are_refused_with_a_reason() {
        assert!(encode_mesh_link(&sphere(), 0.0).is_err());
        assert!(encode_mesh_link(&sphere(), f64::NAN).is_err());
        let empty = SharedMesh {
            name: String::new(),
            mesh: Mesh::default(),
        };
        let e = encode_mesh_link(&empty, DEFAULT_STEP_MM).unwrap_err();
        assert!(e.to_string().contains("no triangles"));
    }
}
