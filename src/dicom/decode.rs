//! Pixel decoding: one frame of one file → Hounsfield units (i16) in row-major order
//! (`i` along a row fastest). HU = stored × slope + intercept after masking to
//! BitsStored and sign-extending signed pixels; PixelPaddingValue becomes -1024 HU.

use dicom_core::value::Value;
use dicom_dictionary_std::{tags, uids};
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::{FileDicomObject, FileMetaTableBuilder, InMemDicomObject};
use dicom_pixeldata::PixelDecoder;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use super::parse::{parse_object, ts_display, FileHeader, FrameGeom};

/// HU written for padding pixels and for samples outside the scanned field.
pub(crate) const AIR_HU: i16 = -1024;

/// A file parsed and ready to hand out frames.
pub(crate) struct DecodableFile {
    obj: FileDicomObject<InMemDicomObject>,
    encapsulated: bool,
    rle: bool,
    ts_uid: String,
}

/// Multi-frame JPEG/J2K with frames split over several fragments and an empty Basic
/// Offset Table: find each frame's first fragment by its start-of-image marker and
/// fill in the table so the decoder can find the frames.
fn add_missing_offset_table(obj: &mut InMemDicomObject) {
    use dicom_core::{DataElement, VR};
    let n_frames = obj
        .get(tags::NUMBER_OF_FRAMES)
        .and_then(|e| e.to_int::<i64>().ok())
        .unwrap_or(1)
        .max(1) as usize;
    let Some(elem) = obj.get(tags::PIXEL_DATA) else {
        return;
    };
    let Value::PixelSequence(seq) = elem.value() else {
        return;
    };
    let frags = seq.fragments();
    if !seq.offset_table().is_empty() || n_frames <= 1 || frags.len() <= n_frames {
        return;
    }
    let mut offsets: Vec<u32> = Vec::new();
    let mut pos = 0u64;
    for f in frags {
        let starts_image = f.starts_with(&[0xFF, 0xD8])
            || f.starts_with(&[0xFF, 0x4F, 0xFF, 0x51])
            || f.starts_with(&[0, 0, 0, 0x0C, 0x6A, 0x50]);
        if starts_image {
            let Ok(p) = u32::try_from(pos) else { return };
            offsets.push(p);
        }
        pos += 8 + f.len() as u64;
    }
    if offsets.len() != n_frames {
        return;
    }
    let frags = frags.to_vec();
    let value: Value<InMemDicomObject, Vec<u8>> = Value::PixelSequence(
        dicom_core::value::PixelFragmentSequence::new(offsets, frags),
    );
    obj.put(DataElement::new(tags::PIXEL_DATA, VR::OB, value));
}

/// Refuse compressed frames whose own header claims a much larger image than
/// Rows × Columns: the codec would allocate for the claimed size (fatal on wasm32 when
/// the claim is damaged).
fn check_stream_dims(obj: &InMemDicomObject) -> Result<(), String> {
    let get = |t| obj.get(t).and_then(|e| e.to_int::<i64>().ok()).unwrap_or(0);
    let (rows, cols) = (get(tags::ROWS), get(tags::COLUMNS));
    let Some(elem) = obj.get(tags::PIXEL_DATA) else {
        return Ok(());
    };
    let Value::PixelSequence(seq) = elem.value() else {
        return Ok(());
    };
    for f in seq.fragments() {
        if let Some((w, h)) = jpeg_dims(f).or_else(|| j2k_dims(f)) {
            if w as i64 > cols.max(1) * 2 || h as i64 > rows.max(1) * 2 {
                return Err(format!(
                    "the compressed frame says {w} × {h} pixels but the header says {cols} × {rows} (damaged file)"
                ));
            }
        }
    }
    Ok(())
}

fn be16(b: &[u8], at: usize) -> Option<u32> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]) as u32)
}
fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

/// Width and height from the SOF segment of a JPEG stream starting at SOI.
fn jpeg_dims(b: &[u8]) -> Option<(u32, u32)> {
    if !b.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut pos = 2;
    for _ in 0..64 {
        if *b.get(pos)? != 0xFF {
            return None;
        }
        let m = *b.get(pos + 1)?;
        match m {
            0xFF => pos += 1,
            0xD0..=0xD9 | 0x01 => pos += 2,
            0xC0..=0xCF if !matches!(m, 0xC4 | 0xC8 | 0xCC) => {
                return Some((be16(b, pos + 7)?, be16(b, pos + 5)?));
            }
            _ => pos += 2 + be16(b, pos + 2)? as usize,
        }
    }
    None
}

/// Width and height from the SIZ segment of a JPEG 2000 codestream.
fn j2k_dims(b: &[u8]) -> Option<(u32, u32)> {
    if !b.starts_with(&[0xFF, 0x4F, 0xFF, 0x51]) {
        return None;
    }
    let (x, y, xo, yo) = (be32(b, 8)?, be32(b, 12)?, be32(b, 16)?, be32(b, 20)?);
    Some((x.saturating_sub(xo), y.saturating_sub(yo)))
}

/// An error and its sources, joined by ": ".
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

const RLE_LOSSLESS: &str = "1.2.840.10008.1.2.5";

/// Parse a file for decoding.
pub(crate) fn open(bytes: &[u8]) -> Result<DecodableFile, String> {
    let p = parse_object(bytes)?;
    let ts = TransferSyntaxRegistry
        .get(&p.ts_uid)
        .ok_or_else(|| format!("unknown transfer syntax {}", p.ts_uid))?;
    let encapsulated = ts.is_encapsulated_pixel_data();
    let meta = FileMetaTableBuilder::new()
        .transfer_syntax(p.ts_uid.as_str())
        .media_storage_sop_class_uid(uids::CT_IMAGE_STORAGE)
        .media_storage_sop_instance_uid("2.25.1")
        .build()
        .map_err(|e| format!("cannot prepare the file for decoding: {e}"))?;
    let rle = p.ts_uid == RLE_LOSSLESS;
    let mut p = p;
    if encapsulated && !rle {
        add_missing_offset_table(&mut p.obj);
        check_stream_dims(&p.obj)?;
    }
    Ok(DecodableFile {
        obj: p.obj.with_exact_meta(meta),
        encapsulated,
        rle,
        ts_uid: p.ts_uid,
    })
}

/// Decode frame `frame` into `out` (length rows × cols) as HU.
pub(crate) fn decode_frame(
    file: &DecodableFile,
    header: &FileHeader,
    frame: u32,
    geom: &FrameGeom,
    out: &mut [i16],
) -> Result<(), String> {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        decode_inner(file, header, frame, geom, out)
    }));
    match r {
        Ok(x) => x,
        Err(_) => Err("the pixel decoder failed on this file (damaged pixel data)".to_string()),
    }
}

fn decode_inner(
    file: &DecodableFile,
    h: &FileHeader,
    frame: u32,
    geom: &FrameGeom,
    out: &mut [i16],
) -> Result<(), String> {
    let n = h.rows * h.cols;
    if out.len() != n {
        return Err("internal size mismatch".into());
    }
    let bps = (h.bits_allocated as usize).div_ceil(8);
    let frame_bytes = n * bps;
    let short = "pixel data is shorter than Rows × Columns × frames says (truncated file)";
    if file.rle {
        let elem = file
            .obj
            .element_opt(tags::PIXEL_DATA)
            .ok()
            .flatten()
            .ok_or("no pixel data")?;
        let Value::PixelSequence(seq) = elem.value() else {
            return Err("RLE transfer syntax but the pixel data is not encapsulated".into());
        };
        let n_frames = h.frames.len().max(1);
        let bytes = rle_frame(seq.fragments(), n_frames, frame as usize, n, bps)?;
        convert(&bytes, bps, h, geom, out);
    } else if file.encapsulated {
        let decoded = file.obj.decode_pixel_data_frame(frame).map_err(|e| {
            format!(
                "cannot decode the compressed pixel data ({}): {}",
                ts_display(&file.ts_uid),
                error_chain(&e)
            )
        })?;
        let data = decoded.data();
        let bytes = data.get(..frame_bytes).ok_or(short)?;
        convert(bytes, bps, h, geom, out);
    } else {
        let elem = file
            .obj
            .element_opt(tags::PIXEL_DATA)
            .ok()
            .flatten()
            .ok_or("no pixel data")?;
        let Value::Primitive(p) = elem.value() else {
            return Err("pixel data is encapsulated although the transfer syntax is not".into());
        };
        let all = p.to_bytes();
        let start = frame_bytes * frame as usize;
        let bytes = all.get(start..start + frame_bytes).ok_or(short)?;
        convert(bytes, bps, h, geom, out);
    }
    Ok(())
}

/// Decode one RLE Lossless frame (PS3.5 annex G) of `pixels` single-sample pixels of
/// `bps` bytes into little-endian sample bytes. A single frame split over several
/// fragments is joined. Written here (not the dicom-rs adapter) so damaged data gives an
/// error instead of a panic.
fn rle_frame(
    fragments: &[Vec<u8>],
    n_frames: usize,
    frame: usize,
    pixels: usize,
    bps: usize,
) -> Result<Vec<u8>, String> {
    let joined;
    let data: &[u8] = if fragments.len() == n_frames {
        fragments.get(frame).ok_or("RLE frame missing")?
    } else if n_frames == 1 {
        joined = fragments.concat();
        &joined
    } else {
        return Err(format!(
            "RLE pixel data has {} fragments for {n_frames} frames; cannot tell the frames apart",
            fragments.len()
        ));
    };
    let damaged = "RLE pixel data is damaged (bad segment header)";
    let word = |at: usize| -> Option<usize> {
        Some(u32::from_le_bytes([
            *data.get(at)?,
            *data.get(at + 1)?,
            *data.get(at + 2)?,
            *data.get(at + 3)?,
        ]) as usize)
    };
    let n_seg = word(0).ok_or(damaged)?;
    if n_seg != bps {
        return Err(format!(
            "RLE frame has {n_seg} segments, expected {bps} for one sample per pixel"
        ));
    }
    let mut offsets: Vec<usize> = (0..n_seg)
        .map(|i| word(4 + 4 * i))
        .collect::<Option<_>>()
        .ok_or(damaged)?;
    offsets.push(data.len());
    let mut out = vec![0u8; pixels * bps];
    for seg in 0..n_seg {
        let (a, b) = (offsets[seg], offsets[seg + 1]);
        if a < 64 || a > b || b > data.len() {
            return Err(damaged.into());
        }
        let decoded = packbits(&data[a..b], pixels);
        if decoded.len() < pixels {
            return Err(
                "RLE segment decodes to fewer pixels than Rows × Columns (damaged data)".into(),
            );
        }
        // Segment 0 holds the most significant bytes.
        let byte = bps - 1 - seg;
        for (p, v) in decoded.iter().enumerate() {
            out[p * bps + byte] = *v;
        }
    }
    Ok(out)
}

/// PackBits decoding, stopping after `limit` bytes.
fn packbits(src: &[u8], limit: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(limit);
    let mut i = 0;
    while i < src.len() && out.len() < limit {
        let h = src[i] as i8;
        i += 1;
        if h >= 0 {
            let n = h as usize + 1;
            let end = (i + n).min(src.len());
            out.extend_from_slice(&src[i..end]);
            i = end;
        } else if h != -128 {
            let n = 1 - h as isize;
            if let Some(v) = src.get(i) {
                out.extend(std::iter::repeat_n(*v, n as usize));
            }
            i += 1;
        }
    }
    out.truncate(limit);
    out
}

/// Fast path for the usual uncompressed little-endian file whose data set ends with
/// Pixel Data: the frame's bytes are taken straight from the file, without parsing it a
/// second time. `None` (use the full parser) unless tag, VR and length all match exactly
/// and the element runs to the end of the file.
pub(crate) fn trailing_pixel_frame<'a>(
    bytes: &'a [u8],
    h: &FileHeader,
    frame: u32,
) -> Option<&'a [u8]> {
    let bps = (h.bits_allocated as usize).div_ceil(8);
    if h.bits_allocated != 16 && h.bits_allocated != 8 {
        return None;
    }
    let frame_bytes = h.rows.checked_mul(h.cols)?.checked_mul(bps)?;
    let total = frame_bytes.checked_mul(h.frames.len().max(1))?;
    let padded = total + (total & 1);
    let (header_len, explicit) = match h.ts_uid.as_str() {
        super::parse::IMPLICIT_LE => (8, false),
        super::parse::EXPLICIT_LE => (12, true),
        _ => return None,
    };
    let start = bytes.len().checked_sub(padded)?;
    let head = bytes.get(start.checked_sub(header_len)?..start)?;
    if head[..4] != [0xE0, 0x7F, 0x10, 0x00] {
        return None;
    }
    if explicit && !(&head[4..6] == b"OW" || &head[4..6] == b"OB") {
        return None;
    }
    let len = u32::from_le_bytes([
        head[header_len - 4],
        head[header_len - 3],
        head[header_len - 2],
        head[header_len - 1],
    ]);
    if len as usize != padded {
        return None;
    }
    let at = start.checked_add(frame_bytes.checked_mul(frame as usize)?)?;
    bytes.get(at..at.checked_add(frame_bytes)?)
}

/// Converts one frame of raw little-endian samples (from [`trailing_pixel_frame`]) to HU.
pub(crate) fn convert_raw_frame(bytes: &[u8], h: &FileHeader, geom: &FrameGeom, out: &mut [i16]) {
    convert(bytes, (h.bits_allocated as usize).div_ceil(8), h, geom, out);
}

fn convert(bytes: &[u8], bps: usize, h: &FileHeader, geom: &FrameGeom, out: &mut [i16]) {
    let slope = geom.slope.unwrap_or(1.0);
    let intercept = geom.intercept.unwrap_or(0.0);
    let bits = h.bits_stored.clamp(1, 16) as u32;
    let mask: u32 = if bits >= 32 {
        u32::MAX
    } else {
        (1u32 << bits) - 1
    };
    let sign_bit = 1u32 << (bits - 1);
    let integer_offset = (slope == 1.0 && intercept.fract() == 0.0 && intercept.abs() < 1e9)
        .then_some(intercept as i64);
    if let (2, Some(offset)) = (bps, integer_offset) {
        convert_16_integer(bytes, bits, h.pixel_signed, h.padding, offset as i32, out);
        return;
    }
    for (o, chunk) in out.iter_mut().zip(bytes.chunks_exact(bps)) {
        let raw = if bps == 2 {
            u16::from_le_bytes([chunk[0], chunk[1]]) as u32
        } else {
            chunk[0] as u32
        };
        let v = raw & mask;
        let stored: i64 = if h.pixel_signed && v & sign_bit != 0 {
            v as i64 - (1i64 << bits)
        } else {
            v as i64
        };
        if h.padding == Some(stored) {
            *o = AIR_HU;
            continue;
        }
        *o = if let Some(offset) = integer_offset {
            // Slope 1 and a whole intercept (nearly every CT): exact integer arithmetic.
            (stored + offset).clamp(i16::MIN as i64, i16::MAX as i64) as i16
        } else {
            let hu = stored as f64 * slope + intercept;
            hu.round().clamp(i16::MIN as f64, i16::MAX as f64) as i16
        };
    }
}

/// [`convert`] for 16-bit samples with slope 1 and a whole intercept (nearly every CT),
/// the same values without a branch per pixel, so the loop vectorises: the masked value is
/// sign-extended by a shift pair, the padding test is a select.
fn convert_16_integer(
    bytes: &[u8],
    bits: u32,
    signed: bool,
    padding: Option<i64>,
    offset: i32,
    out: &mut [i16],
) {
    let mask = ((1u32 << bits) - 1) as i32;
    // Signed: move the sign bit to bit 31 and back (arithmetic shift); unsigned: no shift.
    let shift = if signed { 32 - bits } else { 0 };
    // Stored values lie in −2¹⁵…2¹⁶: a padding value outside cannot match.
    let pad = padding
        .and_then(|p| i32::try_from(p).ok())
        .filter(|p| (-(1 << 15)..1 << 16).contains(p));
    // The stored range, and whether HU = stored + offset can leave i16 (then clamp).
    let (min, max) = if signed {
        (-(1i32 << (bits - 1)), (1i32 << (bits - 1)) - 1)
    } else {
        (0, mask)
    };
    let clamp = min + offset < i16::MIN as i32 || max + offset > i16::MAX as i32;
    // One loop per case, so each has only the operations it needs (the common CT files
    // — 16-bit signed, or 12-bit unsigned with intercept −1024, no padding — cost a
    // load, an add and a store per pixel where wasm has no SIMD).
    let stored16s = |c: &[u8]| i32::from(i16::from_le_bytes([c[0], c[1]]));
    let stored16u = |c: &[u8]| i32::from(u16::from_le_bytes([c[0], c[1]]));
    let masked =
        |c: &[u8]| ((i32::from(u16::from_le_bytes([c[0], c[1]])) & mask) << shift) >> shift;
    match (bits == 16, signed, clamp, pad) {
        (true, true, false, None) => run::<false, false>(bytes, stored16s, offset, 0, out),
        (true, false, false, None) => run::<false, false>(bytes, stored16u, offset, 0, out),
        (_, _, false, None) => run::<false, false>(bytes, masked, offset, 0, out),
        (_, _, true, None) => run::<true, false>(bytes, masked, offset, 0, out),
        (_, _, false, Some(p)) => run::<false, true>(bytes, masked, offset, p, out),
        (_, _, true, Some(p)) => run::<true, true>(bytes, masked, offset, p, out),
    }
}

/// `out[n] = stored(pixel n) + offset`, clamped to i16 when `CLAMP`, and air where the
/// stored value is `pad` when `PAD`.
#[inline(always)]
fn run<const CLAMP: bool, const PAD: bool>(
    bytes: &[u8],
    stored: impl Fn(&[u8]) -> i32,
    offset: i32,
    pad: i32,
    out: &mut [i16],
) {
    for (o, c) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let s = stored(c);
        // |stored + offset| < 2¹⁶ + 10⁹ fits in i32.
        let hu = if CLAMP {
            (s + offset).clamp(i16::MIN as i32, i16::MAX as i32)
        } else {
            s + offset
        } as i16;
        *o = if PAD && s == pad { AIR_HU } else { hu };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-pixel reference [`convert`] had before its 16-bit fast path.
    fn convert_reference(bytes: &[u8], h: &FileHeader, geom: &FrameGeom) -> Vec<i16> {
        let slope = geom.slope.unwrap_or(1.0);
        let intercept = geom.intercept.unwrap_or(0.0);
        let bits = h.bits_stored.clamp(1, 16) as u32;
        let mask = (1u32 << bits) - 1;
        bytes
            .chunks_exact(2)
            .map(|c| {
                let v = u16::from_le_bytes([c[0], c[1]]) as u32 & mask;
                let stored: i64 = if h.pixel_signed && v & (1 << (bits - 1)) != 0 {
                    v as i64 - (1i64 << bits)
                } else {
                    v as i64
                };
                if h.padding == Some(stored) {
                    AIR_HU
                } else {
                    let hu = stored as f64 * slope + intercept;
                    hu.round().clamp(i16::MIN as f64, i16::MAX as f64) as i16
                }
            })
            .collect()
    }

    #[test]
    fn fast_16_bit_path_equals_the_per_pixel_reference() {
        let mut s = 0x2545_f491_4f6c_dd1du64;
        let mut r = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let bytes: Vec<u8> = (0..4096).flat_map(|_| (r() as u16).to_le_bytes()).collect();
        for bits in [1u16, 8, 11, 12, 13, 15, 16] {
            for signed in [false, true] {
                for intercept in [0.0, -1024.0, 1024.0, -32768.0, 999_999_999.0] {
                    // Values the samples take (0, −1, 2047) and ones they cannot.
                    for padding in [
                        None,
                        Some(0),
                        Some(-1),
                        Some(2047),
                        Some(-40000),
                        Some(70000),
                    ] {
                        let mut h = header(bits, signed, padding);
                        h.cols = 4096;
                        let geom = FrameGeom {
                            slope: Some(1.0),
                            intercept: Some(intercept),
                            ..Default::default()
                        };
                        let mut out = vec![0i16; 4096];
                        convert(&bytes, 2, &h, &geom, &mut out);
                        let want = convert_reference(&bytes, &h, &geom);
                        assert_eq!(
                            out, want,
                            "bits {bits} signed {signed} {intercept} {padding:?}"
                        );
                    }
                }
            }
        }
    }

    fn header(bits_stored: u16, signed: bool, padding: Option<i64>) -> FileHeader {
        FileHeader {
            series_uid: String::new(),
            frame_of_ref: String::new(),
            description: String::new(),
            modality: "CT".into(),
            rows: 1,
            cols: 4,
            bits_allocated: 16,
            bits_stored,
            pixel_signed: signed,
            padding,
            is_localizer: false,
            kvp: None,
            ts_uid: String::new(),
            frames: vec![],
        }
    }

    #[test]
    fn garbage_high_bits_are_masked_and_signed_pixels_sign_extended() {
        let geom = FrameGeom {
            slope: Some(1.0),
            intercept: Some(-1024.0),
            ..Default::default()
        };
        // 12-bit unsigned with junk in the top nibble: 0xF400 | 0x0400 → 1024 → 0 HU.
        let bytes: Vec<u8> = [0xF400u16 | 0x0400, 0x0000, 0x0FFF, 0xF000]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let mut out = [0i16; 4];
        convert(&bytes, 2, &header(12, false, None), &geom, &mut out);
        assert_eq!(out, [0, -1024, 4095 - 1024, -1024]);
        // 12-bit signed: 0x0FFF → -1.
        let mut out = [0i16; 4];
        let g0 = FrameGeom::default();
        convert(&bytes, 2, &header(12, true, Some(0)), &g0, &mut out);
        assert_eq!(out, [1024, AIR_HU, -1, AIR_HU]);
    }

    #[test]
    fn rle_frame_split_over_fragments_is_joined_and_damage_is_an_error() {
        // 2 pixels, 16 bit: MSB segment [0x01, 0x02], LSB segment [0x03, 0x04].
        let mut frag = vec![0u8; 64];
        frag[0] = 2;
        frag[4] = 64;
        frag[8] = 67;
        frag.extend_from_slice(&[1, 1, 2]); // literal run of 2
        frag.extend_from_slice(&[0xFF, 3]); // repeat 3 twice
        let (a, b) = frag.split_at(66);
        let out = rle_frame(&[a.to_vec(), b.to_vec()], 1, 0, 2, 2).unwrap();
        assert_eq!(out, vec![3, 1, 3, 2]);
        assert!(rle_frame(&[vec![2, 0]], 1, 0, 2, 2).is_err());
        assert!(rle_frame(&[frag[..66].to_vec()], 1, 0, 2, 2).is_err());
    }

    #[test]
    fn compressed_stream_dimensions_are_read_from_sof_and_siz() {
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0, 0, 0xFF, 0xC3, 0x00, 0x0B, 16, 0x01, 0x00, 0x02,
            0x00, 1,
        ];
        assert_eq!(jpeg_dims(&jpeg), Some((512, 256)));
        let mut j2k = vec![0xFF, 0x4F, 0xFF, 0x51, 0, 41, 0, 0];
        for v in [600u32, 400, 88, 0] {
            j2k.extend_from_slice(&v.to_be_bytes());
        }
        assert_eq!(j2k_dims(&j2k), Some((512, 400)));
        assert_eq!(jpeg_dims(&[0xFF, 0xD8, 0x00]), None);
    }

    #[test]
    fn huge_values_clamp_to_i16() {
        let geom = FrameGeom {
            slope: Some(10.0),
            intercept: Some(0.0),
            ..Default::default()
        };
        let bytes: Vec<u8> = [60000u16, 0, 0, 0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let mut out = [0i16; 4];
        convert(&bytes, 2, &header(16, false, None), &geom, &mut out);
        assert_eq!(out[0], i16::MAX);
    }
}
