//! Minimal NRRD (0004) writer and reader for volumes: raw encoding, little-endian,
//! `space: left-posterior-superior`, geometry from the volume's affine.
//!
//! Used to hand the demo phantom and label maps to other tools (3D Slicer, ITK-SNAP) and
//! to read them back in tests and the CLI. Numbers are written with Rust's shortest
//! round-trip formatting, so write → read gives back the same affine bit for bit.
// Input-derived data never reaches unwrap/expect here (tests may use them).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

use crate::volume::Volume;
use nalgebra::Matrix4;

fn header(type_name: &str, v: &Volume<impl Copy>, multibyte: bool) -> String {
    let m = &v.patient_from_voxel;
    let col = |c: usize| format!("({},{},{})", m[(0, c)], m[(1, c)], m[(2, c)]);
    let mut h = String::from("NRRD0004\n# Complete NRRD file format specification at:\n# http://teem.sourceforge.net/nrrd/format.html\n");
    h += &format!("type: {type_name}\ndimension: 3\nspace: left-posterior-superior\n");
    h += &format!("sizes: {} {} {}\n", v.dims[0], v.dims[1], v.dims[2]);
    h += &format!("space directions: {} {} {}\n", col(0), col(1), col(2));
    h += "kinds: domain domain domain\n";
    if multibyte {
        h += "endian: little\n";
    }
    h += "encoding: raw\n";
    h += &format!("space origin: {}\n\n", col(3));
    h
}

/// NRRD bytes of a label volume (`type: uint8`).
pub fn write_nrrd_u8(v: &Volume<u8>) -> Vec<u8> {
    let mut out = header("uint8", v, false).into_bytes();
    out.extend_from_slice(&v.data);
    out
}

/// NRRD bytes of a CT volume in HU (`type: int16`, little-endian).
pub fn write_nrrd_i16(v: &Volume<i16>) -> Vec<u8> {
    let mut out = header("int16", v, true).into_bytes();
    out.reserve(v.data.len() * 2);
    for x in &v.data {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

/// Read a raw uint8 NRRD as written by [`write_nrrd_u8`].
pub fn read_nrrd_u8(bytes: &[u8]) -> Result<Volume<u8>, String> {
    let (geom, data) = parse(bytes, &["uint8", "uchar", "unsigned char", "uint8_t"], 1)?;
    Ok(geom.with_data(data.to_vec()))
}

/// Read a raw little-endian int16 NRRD as written by [`write_nrrd_i16`].
pub fn read_nrrd_i16(bytes: &[u8]) -> Result<Volume<i16>, String> {
    let (geom, data) = parse(
        bytes,
        &[
            "int16",
            "short",
            "short int",
            "signed short",
            "signed short int",
            "int16_t",
        ],
        2,
    )?;
    Ok(geom.with_data(
        data.chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]))
            .collect(),
    ))
}

struct Geometry {
    dims: [usize; 3],
    affine: Matrix4<f64>,
}

impl Geometry {
    fn with_data<T>(self, data: Vec<T>) -> Volume<T> {
        let spacing_mm = [0, 1, 2].map(|c| {
            (0..3)
                .map(|r| self.affine[(r, c)] * self.affine[(r, c)])
                .sum::<f64>()
                .sqrt()
        });
        Volume {
            dims: self.dims,
            spacing_mm,
            patient_from_voxel: self.affine,
            data,
        }
    }
}

fn parse_vector(s: &str) -> Result<[f64; 3], String> {
    let inner = s
        .trim()
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .ok_or_else(|| format!("NRRD vector {s:?} is not of the form (x,y,z)"))?;
    let parts: Vec<f64> = inner
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("NRRD vector {s:?}: {e}"))?;
    <[f64; 3]>::try_from(parts).map_err(|_| format!("NRRD vector {s:?} needs three components"))
}

fn parse<'a>(
    bytes: &'a [u8],
    type_names: &[&str],
    elem_size: usize,
) -> Result<(Geometry, &'a [u8]), String> {
    if !bytes.starts_with(b"NRRD000") {
        return Err("not a NRRD file (missing NRRD000x magic)".into());
    }
    let end = bytes
        .windows(2)
        .position(|w| w == b"\n\n")
        .ok_or("NRRD header has no blank line before the data")?;
    let head = std::str::from_utf8(&bytes[..end]).map_err(|_| "NRRD header is not UTF-8 text")?;
    let data = &bytes[end + 2..];
    let mut dims = None;
    let mut dirs = None;
    let mut origin = [0.0; 3];
    let mut kind_ok = false;
    let mut little = elem_size == 1;
    for line in head.lines().skip(1) {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim_start_matches('=').trim();
        match key.trim() {
            "type" => {
                if !type_names.contains(&value) {
                    return Err(format!(
                        "NRRD type {value:?} is not supported here; expected {}",
                        type_names[0]
                    ));
                }
                kind_ok = true;
            }
            "dimension" if value != "3" => return Err(format!("NRRD dimension {value} is not 3")),
            "encoding" if value != "raw" => {
                return Err(format!(
                    "NRRD encoding {value:?} is not supported; save with raw encoding"
                ))
            }
            "endian" => little = value == "little",
            "sizes" => {
                let s: Vec<usize> = value
                    .split_whitespace()
                    .map(|t| t.parse())
                    .collect::<Result<_, _>>()
                    .map_err(|e| format!("NRRD sizes {value:?}: {e}"))?;
                dims =
                    Some(<[usize; 3]>::try_from(s).map_err(|_| "NRRD sizes needs three numbers")?);
            }
            "space directions" => {
                let v: Vec<[f64; 3]> = value
                    .split_whitespace()
                    .map(parse_vector)
                    .collect::<Result<_, _>>()?;
                dirs = Some(
                    <[[f64; 3]; 3]>::try_from(v)
                        .map_err(|_| "NRRD space directions needs three vectors")?,
                );
            }
            "space origin" => origin = parse_vector(value)?,
            "space" if value != "left-posterior-superior" && value != "LPS" => {
                return Err(format!(
                    "NRRD space {value:?} is not supported; expected left-posterior-superior"
                ))
            }
            _ => {}
        }
    }
    if !kind_ok {
        return Err("NRRD header has no type field".into());
    }
    if !little && elem_size > 1 {
        return Err("big-endian NRRD is not supported".into());
    }
    let dims = dims.ok_or("NRRD header has no sizes field")?;
    let dirs = dirs.ok_or("NRRD header has no space directions field")?;
    let mut affine = Matrix4::identity();
    for c in 0..3 {
        for r in 0..3 {
            affine[(r, c)] = dirs[c][r];
        }
        affine[(c, 3)] = origin[c];
    }
    // Checked: sizes are input data, and a wrapped product could match the data length
    // and give a volume whose dims do not describe its voxels.
    let n = dims[0]
        .checked_mul(dims[1])
        .and_then(|n| n.checked_mul(dims[2]))
        .filter(|n| n.checked_mul(elem_size).is_some())
        .ok_or_else(|| {
            format!("NRRD sizes {dims:?} are too large to be a volume (damaged header)")
        })?;
    if data.len() != n * elem_size {
        return Err(format!(
            "NRRD data holds {} bytes, expected {} for sizes {:?}",
            data.len(),
            n * elem_size,
            dims
        ));
    }
    Ok((Geometry { dims, affine }, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_whose_product_overflows_are_refused() {
        // 2^32 × 2^32 × 1 wraps to 0 in 64 bits: with 0 data bytes the unchecked
        // product matched and gave a "volume" of 2^64 voxels holding none.
        let head = "NRRD0004\ntype: uint8\ndimension: 3\nspace: left-posterior-superior\n\
                    sizes: 4294967296 4294967296 1\nspace directions: (1,0,0) (0,1,0) (0,0,1)\n\
                    encoding: raw\n\n";
        let e = read_nrrd_u8(head.as_bytes()).unwrap_err();
        assert!(e.contains("too large"), "{e}");
    }

    #[test]
    fn label_volume_round_trips_with_exact_geometry() {
        let mut v = Volume::filled([3, 4, 5], [0.5, 0.5, 1.25], [-111.75, 0.1, 7.0 / 3.0], 0u8);
        for (n, x) in v.data.iter_mut().enumerate() {
            *x = (n % 13) as u8;
        }
        let back = read_nrrd_u8(&write_nrrd_u8(&v)).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn ct_volume_round_trips() {
        let mut v = Volume::filled([4, 3, 2], [0.7, 0.7, 2.0], [1.0, 2.0, 3.0], 0i16);
        for (n, x) in v.data.iter_mut().enumerate() {
            *x = n as i16 * 300 - 1024;
        }
        assert_eq!(read_nrrd_i16(&write_nrrd_i16(&v)).unwrap(), v);
    }

    #[test]
    fn wrong_type_and_truncated_data_are_refused_with_reasons() {
        let v = Volume::filled([2, 2, 2], [1.0; 3], [0.0; 3], 5i16);
        let err = read_nrrd_u8(&write_nrrd_i16(&v)).unwrap_err();
        assert!(err.contains("int16"), "{err}");
        let mut b = write_nrrd_u8(&Volume::filled([2, 2, 2], [1.0; 3], [0.0; 3], 1u8));
        b.pop();
        assert!(read_nrrd_u8(&b).unwrap_err().contains("expected 8"));
    }
}
