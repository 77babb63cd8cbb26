//! Header parsing: file bytes → DICOM data set → the per-file facts the series
//! grouping and the decoder need (geometry in patient LPS millimetres, pixel format,
//! rescale). Tolerates missing preamble, missing file meta group, missing transfer
//! syntax, and a declared transfer syntax that does not match the data set.

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

/// Largest NumberOfFrames accepted in one file (the frame table is allocated from it).
/// Enhanced CT files hold a few thousand frames; raise it here for longer acquisitions.
pub const MAX_FRAMES: i64 = 100_000;

/// Largest inflated data set of a Deflated Explicit VR file whose element lengths are
/// checked against the data before parsing (a deflated file can declare gigabytes in a
/// few bytes). Raise it here for larger deflated files.
pub const MAX_INFLATED_DATASET_BYTES: usize = 1 << 30;

pub(crate) const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
pub(crate) const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
pub(crate) const EXPLICIT_BE: &str = "1.2.840.10008.1.2.2";

/// Reason text for bytes that are not DICOM at all.
pub(crate) const NOT_DICOM: &str =
    "not a DICOM file (no DICM marker and no valid tag at the start)";

/// A parsed data set and the transfer syntax it was read with.
pub(crate) struct Parsed {
    pub obj: InMemDicomObject,
    pub ts_uid: String,
    /// Pixel Data was present but left out of `obj` ([`parse_header`]).
    pub pixels_skipped: bool,
}

/// Parse a whole file (data set including pixel data). Never panics: a panic inside
/// the parser becomes an error.
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Parsed, String> {
    parse_guarded(bytes, false)
}

/// Like [`parse_object`], but when Pixel Data is the data set's last element (an
/// uncompressed file, as most CT series are), the parser stops before it: the pixels are
/// neither copied nor kept. Every check of [`parse_object`] still runs over the whole
/// file (the length pre-scan walks to its end), and the header facts are the same.
pub(crate) fn parse_header(bytes: &[u8]) -> Result<Parsed, String> {
    parse_guarded(bytes, true)
}

fn parse_guarded(bytes: &[u8], header_only: bool) -> Result<Parsed, String> {
    match std::panic::catch_unwind(|| parse_inner(bytes, header_only)) {
        Ok(r) => r,
        Err(_) => Err("the DICOM parser failed on this file (damaged data)".to_string()),
    }
}

/// Read the data set of `data` in transfer syntax `ts_uid` after its length pre-scan;
/// with `header_only`, without a trailing Pixel Data element. Returns the object and
/// whether Pixel Data was left out.
fn read_checked(
    data: &[u8],
    ts_uid: &str,
    ts: &dicom_encoding::TransferSyntax,
    header_only: bool,
) -> Result<(InMemDicomObject, bool), String> {
    let trailing_pixels = check_lengths(data, ts_uid)?;
    let (bytes, skipped) = match trailing_pixels {
        Some(at) if header_only => (data.get(..at).unwrap_or(data), true),
        _ => (data, false),
    };
    let obj = InMemDicomObject::read_dataset_with_ts(bytes, ts).map_err(|e| e.to_string())?;
    Ok((obj, skipped))
}

fn parse_inner(bytes: &[u8], header_only: bool) -> Result<Parsed, String> {
    let meta_start = if bytes.len() >= 132 && &bytes[128..132] == b"DICM" {
        Some(132)
    } else if bytes.len() >= 4 && &bytes[0..4] == b"DICM" {
        Some(4)
    } else {
        None
    };
    let (declared_all, data_start) = match meta_start {
        Some(s) => read_meta(bytes, s)?,
        None => (Vec::new(), 0),
    };
    // A duplicated meta group may declare two transfer syntaxes: trust the first, keep
    // the others as candidates when the pixel data contradicts it.
    let declared = declared_all.first().cloned();
    let data = bytes.get(data_start..).unwrap_or(&[]);
    if meta_start.is_none() && !looks_like_dataset(data) {
        return Err(NOT_DICOM.to_string());
    }
    if data.is_empty() {
        return Err("the file holds a header only and no data set (truncated file)".to_string());
    }
    let guessed = guess_ts(data);
    let first = match &declared {
        Some(t) if !t.is_empty() => t.clone(),
        _ => guessed.to_string(),
    };
    let ts = TransferSyntaxRegistry.get(&first).ok_or_else(|| {
        format!("unknown transfer syntax {first}; re-export the series uncompressed")
    })?;
    match read_checked(data, &first, ts, header_only) {
        Ok((obj, pixels_skipped)) => {
            // Skipped pixels had a defined length, so they were not encapsulated.
            let ts_uid = fix_mismatched_ts(&obj, first, &declared_all);
            Ok(Parsed {
                obj,
                ts_uid,
                pixels_skipped,
            })
        }
        Err(e) => {
            // The declared transfer syntax may be wrong; try the one the bytes suggest.
            if first != guessed && !ts.is_encapsulated_pixel_data() {
                if let Some(ts2) = TransferSyntaxRegistry.get(guessed) {
                    if let Ok((obj, pixels_skipped)) = read_checked(data, guessed, ts2, header_only)
                    {
                        return Ok(Parsed {
                            obj,
                            ts_uid: guessed.to_string(),
                            pixels_skipped,
                        });
                    }
                }
            }
            Err(format!(
                "cannot read the DICOM data set (damaged or truncated file): {e}"
            ))
        }
    }
}

/// Refuse any declared length that runs past the end of the bytes, before the parser
/// sees them (see `lengths.rs`): a damaged length would otherwise make it allocate
/// gigabytes (fatal on wasm32).
/// Returns where a trailing top-level Pixel Data element starts (see
/// [`super::lengths::check`]); never for a deflated data set, whose offsets are those of
/// the inflated bytes.
fn check_lengths(data: &[u8], ts_uid: &str) -> Result<Option<usize>, String> {
    let (explicit, big_endian) = match ts_uid {
        IMPLICIT_LE => (false, false),
        EXPLICIT_BE => (true, true),
        // Deflated: check the inflated data set, whose lengths the parser will trust.
        "1.2.840.10008.1.2.1.99" | "1.2.840.10008.1.2.4.95" => {
            return match inflate_as_the_parser_does(data) {
                Some(inflated) => check_lengths(&inflated, EXPLICIT_LE).map(|_| None),
                None => Err(format!(
                    "the deflated data set unpacks to more than {MAX_INFLATED_DATASET_BYTES} \
                     bytes (dicom::MAX_INFLATED_DATASET_BYTES); the file is damaged, or \
                     raise the limit"
                )),
            };
        }
        _ => (true, false),
    };
    super::lengths::check(
        data,
        super::lengths::Encoding {
            explicit,
            big_endian,
        },
    )
}

/// Inflate a raw deflate stream the way the parser's streaming decoder does: through a
/// 32 KiB window that starts as zeros (so a back-reference before the start reads zeros
/// instead of failing, unlike one-shot inflation), keeping what came out before any
/// damage, since the parser reads those bytes too. `None` past
/// [`MAX_INFLATED_DATASET_BYTES`].
fn inflate_as_the_parser_does(data: &[u8]) -> Option<Vec<u8>> {
    use miniz_oxide::inflate::stream::{inflate, InflateState};
    use miniz_oxide::{DataFormat, MZFlush, MZStatus};
    let mut state = InflateState::new_boxed(DataFormat::Raw);
    let mut out = Vec::new();
    let mut chunk = vec![0u8; 64 << 10];
    let mut input = data;
    loop {
        let r = inflate(&mut state, input, &mut chunk, MZFlush::None);
        input = input.get(r.bytes_consumed..).unwrap_or(&[]);
        out.extend_from_slice(chunk.get(..r.bytes_written).unwrap_or(&[]));
        if out.len() > MAX_INFLATED_DATASET_BYTES {
            return None;
        }
        match r.status {
            Ok(MZStatus::Ok) if r.bytes_consumed > 0 || r.bytes_written > 0 => {}
            // End of stream, no progress (input used up) or damage: the parser stops too.
            _ => return Some(out),
        }
    }
}

/// A file whose meta says "uncompressed" but whose pixel data is encapsulated: use the
/// transfer syntax of a stray group-0002 element in the data set, if it names one.
fn fix_mismatched_ts(obj: &InMemDicomObject, declared: String, alternatives: &[String]) -> String {
    use dicom_core::value::Value;
    if TransferSyntaxRegistry
        .get(&declared)
        .is_some_and(|t| t.is_encapsulated_pixel_data())
    {
        return declared;
    }
    let encapsulated = matches!(
        obj.get(tags::PIXEL_DATA).map(|e| e.value()),
        Some(Value::PixelSequence(_))
    );
    if !encapsulated {
        return declared;
    }
    let inner = get_str(obj, tags::TRANSFER_SYNTAX_UID);
    alternatives
        .iter()
        .chain(inner.iter())
        .find(|t| {
            TransferSyntaxRegistry
                .get(t.as_str())
                .is_some_and(|t| t.is_encapsulated_pixel_data())
        })
        .cloned()
        .unwrap_or(declared)
}

fn u16le(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*b.get(at)?, *b.get(at + 1)?]))
}
fn u32le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

fn is_long_vr(vr: &[u8]) -> bool {
    matches!(
        vr,
        b"OB"
            | b"OW"
            | b"OF"
            | b"SQ"
            | b"UT"
            | b"UN"
            | b"UC"
            | b"UR"
            | b"OD"
            | b"OL"
            | b"OV"
            | b"SV"
            | b"UV"
    )
}

/// Read the file meta group (always explicit VR little endian) by hand, so that a
/// missing group length or transfer syntax is not fatal. Returns the transfer syntax
/// UIDs found (normally one) and the offset of the data set.
fn read_meta(bytes: &[u8], start: usize) -> Result<(Vec<String>, usize), String> {
    let mut pos = start;
    let mut ts = Vec::new();
    while u16le(bytes, pos) == Some(0x0002) {
        let elem = u16le(bytes, pos + 2).ok_or("file meta group is truncated")?;
        let vr = bytes
            .get(pos + 4..pos + 6)
            .ok_or("file meta group is truncated")?;
        let (len, header) = if is_long_vr(vr) {
            (
                u32le(bytes, pos + 8).ok_or("file meta group is truncated")? as usize,
                12,
            )
        } else {
            (
                u16le(bytes, pos + 6).ok_or("file meta group is truncated")? as usize,
                8,
            )
        };
        if len == 0xFFFF_FFFF {
            return Err("file meta group has an undefined-length element (damaged file)".into());
        }
        let value = bytes
            .get(pos + header..pos + header + len)
            .ok_or("file meta group is truncated")?;
        if elem == 0x0010 {
            let s = String::from_utf8_lossy(value);
            let t = s
                .trim_matches(|c: char| c == '\0' || c.is_whitespace())
                .to_string();
            if !t.is_empty() {
                ts.push(t);
            }
        }
        pos += header + len;
    }
    Ok((ts, pos))
}

/// True when the bytes start with a plausible data-set tag (group 0002–0030, even).
fn looks_like_dataset(data: &[u8]) -> bool {
    if data.len() < 8 {
        return false;
    }
    let le = u16::from_le_bytes([data[0], data[1]]);
    let be = u16::from_be_bytes([data[0], data[1]]);
    let ok = |g: u16| g & 1 == 0 && (0x0002..=0x0030).contains(&g);
    ok(le) || ok(be)
}

/// Guess the transfer syntax from the first element of a data set.
fn guess_ts(data: &[u8]) -> &'static str {
    if data.len() < 6 {
        return IMPLICIT_LE;
    }
    let explicit = data[4].is_ascii_uppercase() && data[5].is_ascii_uppercase();
    if data[0] == 0 && data[1] != 0 {
        EXPLICIT_BE
    } else if explicit {
        EXPLICIT_LE
    } else {
        IMPLICIT_LE
    }
}

/// Human name of a transfer syntax with its UID, e.g. "JPEG-LS Lossless (1.2.840.10008.1.2.4.80)".
pub(crate) fn ts_display(uid: &str) -> String {
    match TransferSyntaxRegistry.get(uid) {
        Some(ts) => format!("{} ({uid})", ts.name()),
        None => format!("unknown transfer syntax ({uid})"),
    }
}

/// Per-frame geometry and rescale, patient LPS millimetres.
#[derive(Clone, Debug, Default)]
pub(crate) struct FrameGeom {
    pub position: Option<[f64; 3]>,
    /// Row direction (3) then column direction (3), as ImageOrientationPatient.
    pub orientation: Option<[f64; 6]>,
    /// DICOM order: [between rows, between columns].
    pub pixel_spacing: Option<[f64; 2]>,
    pub slice_thickness: Option<f64>,
    pub slope: Option<f64>,
    pub intercept: Option<f64>,
}

/// Header facts of one file.
#[derive(Clone, Debug)]
pub(crate) struct FileHeader {
    pub series_uid: String,
    pub frame_of_ref: String,
    pub description: String,
    pub modality: String,
    pub rows: usize,
    pub cols: usize,
    pub bits_allocated: u16,
    pub bits_stored: u16,
    pub pixel_signed: bool,
    pub padding: Option<i64>,
    pub is_localizer: bool,
    pub kvp: Option<f64>,
    pub ts_uid: String,
    pub frames: Vec<FrameGeom>,
}

// Look-ups use `get`, not `element_opt`: dicom-rs builds `element_opt`'s "absent" answer
// from an error value that captures a backtrace natively (~40 k instructions per absent
// tag, six of them per CT file).
pub(crate) fn get_str(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    let e = obj.get(tag)?;
    let s = e.to_str().ok()?;
    let s = s
        .trim_matches(|c: char| c == '\0' || c.is_whitespace())
        .to_string();
    Some(s)
}

fn get_f64s(obj: &InMemDicomObject, tag: Tag) -> Option<Vec<f64>> {
    let e = obj.get(tag)?;
    let v = e.to_multi_float64().ok()?;
    if v.iter().all(|x| x.is_finite()) {
        Some(v)
    } else {
        None
    }
}

fn get_f64(obj: &InMemDicomObject, tag: Tag) -> Option<f64> {
    get_f64s(obj, tag).and_then(|v| v.first().copied())
}

fn get_int(obj: &InMemDicomObject, tag: Tag) -> Option<i64> {
    let e = obj.get(tag)?;
    e.to_int::<i64>().ok()
}

fn first_item(obj: &InMemDicomObject, tag: Tag) -> Option<&InMemDicomObject> {
    obj.get(tag)?.items()?.first()
}

/// Overwrite geometry fields with whatever `obj` holds directly.
fn apply_plain(obj: &InMemDicomObject, g: &mut FrameGeom) {
    if let Some(v) = get_f64s(obj, tags::IMAGE_POSITION_PATIENT) {
        if v.len() >= 3 {
            g.position = Some([v[0], v[1], v[2]]);
        }
    }
    if let Some(v) = get_f64s(obj, tags::IMAGE_ORIENTATION_PATIENT) {
        if v.len() >= 6 {
            g.orientation = Some([v[0], v[1], v[2], v[3], v[4], v[5]]);
        }
    }
    if let Some(v) = get_f64s(obj, tags::PIXEL_SPACING) {
        if v.len() >= 2 && v[0] > 0.0 && v[1] > 0.0 {
            g.pixel_spacing = Some([v[0], v[1]]);
        }
    }
    if let Some(t) = get_f64(obj, tags::SLICE_THICKNESS) {
        if t > 0.0 {
            g.slice_thickness = Some(t);
        }
    }
    if let Some(s) = get_f64(obj, tags::RESCALE_SLOPE) {
        if s != 0.0 {
            g.slope = Some(s);
        }
    }
    if let Some(i) = get_f64(obj, tags::RESCALE_INTERCEPT) {
        g.intercept = Some(i);
    }
}

/// Overwrite geometry fields from one functional-groups item (shared or per-frame).
fn apply_functional_groups(item: &InMemDicomObject, g: &mut FrameGeom) {
    for seq in [
        tags::PLANE_POSITION_SEQUENCE,
        tags::PLANE_ORIENTATION_SEQUENCE,
        tags::PIXEL_MEASURES_SEQUENCE,
        tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
    ] {
        if let Some(inner) = first_item(item, seq) {
            apply_plain(inner, g);
        }
    }
}

/// Extract the header facts of a parsed file, or say why it cannot be used as a CT slice.
pub(crate) fn extract_header(p: &Parsed) -> Result<FileHeader, String> {
    let obj = &p.obj;
    if !p.pixels_skipped && obj.get(tags::PIXEL_DATA).is_none() {
        return Err("no pixel data (not an image; e.g. a report or structure set)".into());
    }
    let ts = TransferSyntaxRegistry.get(&p.ts_uid);
    match ts {
        None => {
            return Err(format!(
                "{} is not supported; re-export the series uncompressed",
                ts_display(&p.ts_uid)
            ))
        }
        Some(ts) if !ts.can_decode_all() => {
            let what = if p.ts_uid.starts_with("1.2.840.10008.1.2.4.8") {
                format!("JPEG-LS ({})", p.ts_uid)
            } else {
                ts_display(&p.ts_uid)
            };
            return Err(format!(
                "{what} is not supported yet; re-export the series uncompressed"
            ));
        }
        _ => {}
    }
    let samples = get_int(obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1);
    if samples != 1 {
        return Err(format!(
            "colour image ({samples} samples per pixel), not a greyscale CT slice"
        ));
    }
    let rows = get_int(obj, tags::ROWS).unwrap_or(0);
    let cols = get_int(obj, tags::COLUMNS).unwrap_or(0);
    if rows <= 0 || cols <= 0 {
        return Err("Rows or Columns missing or zero".into());
    }
    let bits_allocated = get_int(obj, tags::BITS_ALLOCATED).unwrap_or(0);
    if bits_allocated != 8 && bits_allocated != 16 {
        return Err(format!(
            "BitsAllocated {bits_allocated} is not supported (CT slices use 8 or 16 bits; 1-bit \
             files are segmentations or overlays)"
        ));
    }
    let mut bits_stored = get_int(obj, tags::BITS_STORED).unwrap_or(bits_allocated);
    if bits_stored <= 0 || bits_stored > bits_allocated {
        bits_stored = bits_allocated;
    }
    if p.ts_uid == "1.2.840.10008.1.2.4.51" && bits_stored > 8 {
        return Err(format!(
            "12-bit {} is not supported yet (the browser JPEG decoder reads 8-bit only); \
             re-export the series uncompressed",
            ts_display(&p.ts_uid)
        ));
    }
    let pixel_signed = get_int(obj, tags::PIXEL_REPRESENTATION).unwrap_or(0) == 1;
    let mut padding = get_int(obj, tags::PIXEL_PADDING_VALUE);
    if let Some(pv) = padding {
        // An unsigned-encoded padding value for signed pixels: reinterpret the bits.
        if pixel_signed && pv >= 1 << (bits_allocated - 1) && pv < 1 << bits_allocated {
            padding = Some(pv - (1 << bits_allocated));
        }
    }
    let image_type = get_str(obj, tags::IMAGE_TYPE)
        .unwrap_or_default()
        .to_uppercase();
    let n_frames = get_int(obj, tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1);
    if n_frames > MAX_FRAMES {
        return Err(format!(
            "NumberOfFrames {n_frames} is more than the limit of {MAX_FRAMES} \
             (dicom::MAX_FRAMES); the header is damaged, or raise the limit for a longer \
             acquisition"
        ));
    }
    let mut base = FrameGeom::default();
    apply_plain(obj, &mut base);
    if let Some(shared) = first_item(obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE) {
        apply_functional_groups(shared, &mut base);
    }
    let per_frame = obj
        .get(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE)
        .and_then(|e| e.items());
    let frames = (0..n_frames as usize)
        .map(|f| {
            let mut g = base.clone();
            if let Some(item) = per_frame.and_then(|items| items.get(f)) {
                apply_functional_groups(item, &mut g);
            }
            g
        })
        .collect();
    Ok(FileHeader {
        series_uid: get_str(obj, tags::SERIES_INSTANCE_UID).unwrap_or_default(),
        frame_of_ref: get_str(obj, tags::FRAME_OF_REFERENCE_UID).unwrap_or_default(),
        description: get_str(obj, tags::SERIES_DESCRIPTION).unwrap_or_default(),
        modality: get_str(obj, tags::MODALITY).unwrap_or_default(),
        rows: rows as usize,
        cols: cols as usize,
        bits_allocated: bits_allocated as u16,
        bits_stored: bits_stored as u16,
        pixel_signed,
        padding,
        is_localizer: image_type.contains("LOCALIZER"),
        kvp: get_f64(obj, tags::KVP).filter(|k| *k > 0.0),
        ts_uid: p.ts_uid.clone(),
        frames,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dicom::MAX_SEQUENCE_DEPTH;

    #[test]
    fn random_bytes_are_not_dicom() {
        let e = parse_object(b"hello world, this is a text file")
            .err()
            .unwrap_or_default();
        assert_eq!(e, NOT_DICOM);
        assert!(parse_object(&[]).is_err());
    }

    #[test]
    fn absurd_number_of_frames_is_refused_naming_the_limit() {
        use dicom_core::{DataElement, PrimitiveValue, VR};
        let v = crate::volume::Volume::filled([4, 4, 1], [1.0; 3], [0.0; 3], 0i16);
        let meta = crate::dicom::WriteMeta {
            description: "t".into(),
            kvp: 120.0,
            seed_uid_root: "2.25.1".into(),
        };
        let files = crate::dicom::write_ct_series(&v, &meta).unwrap();
        let header = |frames: i64| {
            let mut p = parse_object(&files[0].1).unwrap();
            p.obj.put(DataElement::new(
                tags::NUMBER_OF_FRAMES,
                VR::IS,
                PrimitiveValue::from(frames.to_string()),
            ));
            extract_header(&p)
        };
        assert_eq!(header(2).unwrap().frames.len(), 2);
        let e = header(MAX_FRAMES + 1).err().unwrap_or_default();
        assert!(e.contains("dicom::MAX_FRAMES"), "{e}");
    }

    #[test]
    fn fuzz_dicom_deflated_element_length_oom() {
        // Minimised from the fuzzer's out-of-memory input: a Deflated Explicit VR Little
        // Endian data set whose one element claims 3.5 GB. The parser used to allocate
        // the claim; the inflated lengths are now checked first.
        let mut inner = Vec::new();
        inner.extend_from_slice(&[0x10, 0x00, 0x10, 0x00, b'O', b'B', 0, 0]);
        inner.extend_from_slice(&0xD000_0000u32.to_le_bytes());
        inner.extend_from_slice(b"DOE^JOHN");
        let mut file = vec![0u8; 128];
        file.extend_from_slice(b"DICM");
        let ts = b"1.2.840.10008.1.2.1.99\0";
        file.extend_from_slice(&[0x02, 0x00, 0x10, 0x00, b'U', b'I']);
        file.extend_from_slice(&(ts.len() as u16).to_le_bytes());
        file.extend_from_slice(ts);
        file.extend_from_slice(&miniz_oxide::deflate::compress_to_vec(&inner, 6));
        let e = parse_object(&file).err().unwrap_or_default();
        assert!(e.contains("claims"), "{e}");
    }

    #[test]
    fn fuzz_dicom_damaged_deflate_stream_element_length_timeout() {
        // The fuzzer's 20 s timeout (1.5 GB): a Deflated Explicit VR file whose deflate
        // stream is damaged after an element claiming far more than the stream holds.
        // The pre-scan skipped damaged streams and the parser allocated the claim from
        // the bytes inflated before the damage; those bytes are now checked.
        let mut inner = Vec::new();
        inner.extend_from_slice(&[0x08, 0x00, 0x60, 0x00, b'C', b'S', 2, 0, b'C', b'T']);
        inner.extend_from_slice(&[0x10, 0x00, 0x10, 0x00, b'O', b'B', 0, 0]);
        inner.extend_from_slice(&0x5000_0000u32.to_le_bytes());
        inner.extend_from_slice(&[0xAB; 4000]);
        let mut deflated = miniz_oxide::deflate::compress_to_vec(&inner, 0);
        deflated.truncate(deflated.len() / 2); // the stream ends in the middle
        let mut file = vec![0u8; 128];
        file.extend_from_slice(b"DICM");
        let ts = b"1.2.840.10008.1.2.1.99\0";
        file.extend_from_slice(&[0x02, 0x00, 0x10, 0x00, b'U', b'I']);
        file.extend_from_slice(&(ts.len() as u16).to_le_bytes());
        file.extend_from_slice(ts);
        file.extend_from_slice(&deflated);
        let e = parse_object(&file).err().unwrap_or_default();
        assert!(
            e.contains("element (0010,0010) claims 1342177280 bytes"),
            "{e}"
        );
    }

    #[test]
    fn fuzz_dicom_deflate_reference_before_start_element_length_timeout() {
        // The fuzzer's 20 s timeout (1.6 GB from a 2.5 kB file), rebuilt: the deflate
        // stream copies from before its start, which one-shot inflation refuses but the
        // parser's streaming decoder reads as zeros and goes on, to an element claiming
        // far more than the stream holds. The pre-scan now inflates as the parser does.
        // Fixed-Huffman block: literals "\x10\x00\x10\x00OB" (tag (0010,0010), VR OB),
        // then a copy of 3 bytes from 300 bytes back (before the start: zeros for the
        // reserved field and the length's low byte), the rest of the length 0x40000000
        // as literals, then end of block.
        let mut bits = BitWriter::default();
        bits.put(1, 1); // final block
        bits.put(1, 2); // fixed Huffman
        for b in [0x10u8, 0x00, 0x10, 0x00, b'O', b'B'] {
            bits.literal(b);
        }
        bits.copy_before_start();
        for b in [0x00u8, 0x00, 0x40] {
            bits.literal(b);
        }
        bits.put_code(0b0000000, 7); // end of block (256)
        let deflated = bits.finish();
        assert!(miniz_oxide::inflate::decompress_to_vec(&deflated).is_err());
        let mut file = vec![0u8; 128];
        file.extend_from_slice(b"DICM");
        let ts = b"1.2.840.10008.1.2.1.99\0";
        file.extend_from_slice(&[0x02, 0x00, 0x10, 0x00, b'U', b'I']);
        file.extend_from_slice(&(ts.len() as u16).to_le_bytes());
        file.extend_from_slice(ts);
        file.extend_from_slice(&deflated);
        let e = parse_object(&file).err().unwrap_or_default();
        assert!(
            e.contains("element (0010,0010) claims 1073741824 bytes"),
            "{e}"
        );
    }

    /// Deflate bit writer for the fixed-Huffman block above (RFC 1951, 3.2.6).
    #[derive(Default)]
    struct BitWriter {
        out: Vec<u8>,
        acc: u32,
        n: u32,
    }

    impl BitWriter {
        /// Extra bits and header fields: least significant bit first.
        fn put(&mut self, value: u32, count: u32) {
            for i in 0..count {
                self.acc |= ((value >> i) & 1) << self.n;
                self.n += 1;
                if self.n == 8 {
                    self.out.push(self.acc as u8);
                    self.acc = 0;
                    self.n = 0;
                }
            }
        }
        /// Huffman codes: most significant bit first.
        fn put_code(&mut self, code: u32, len: u32) {
            for i in (0..len).rev() {
                self.put((code >> i) & 1, 1);
            }
        }
        fn literal(&mut self, b: u8) {
            if b < 144 {
                self.put_code(0x30 + b as u32, 8);
            } else {
                self.put_code(0x190 + (b as u32 - 144), 9);
            }
        }
        /// Length 3 (code 257), distance 300 (code 16: base 257, 7 extra bits = 43).
        fn copy_before_start(&mut self) {
            self.put_code(0b0000001, 7);
            self.put_code(16, 5);
            self.put(43, 7);
        }
        fn finish(mut self) -> Vec<u8> {
            if self.n > 0 {
                self.out.push(self.acc as u8);
            }
            self.out
        }
    }

    /// Preamble, DICM and a file meta group whose transfer syntax is empty, so the
    /// reader guesses it from the data set (explicit VR little endian here).
    fn file_with_empty_transfer_syntax(dataset: &[u8]) -> Vec<u8> {
        let mut file = vec![0u8; 128];
        file.extend_from_slice(b"DICM");
        file.extend_from_slice(&[0x02, 0x00, 0x10, 0x00, b'U', b'I', 0, 0]);
        file.extend_from_slice(dataset);
        file
    }

    /// Explicit VR little endian element with a 4-byte length field.
    fn long_element(out: &mut Vec<u8>, group: u16, elem: u16, vr: &[u8; 2], len: u32) {
        out.extend_from_slice(&group.to_le_bytes());
        out.extend_from_slice(&elem.to_le_bytes());
        out.extend_from_slice(vr);
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&len.to_le_bytes());
    }

    fn item_header(out: &mut Vec<u8>, elem: u16, len: u32) {
        out.extend_from_slice(&[0xFE, 0xFF]);
        out.extend_from_slice(&elem.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
    }

    /// Modality, then `levels` nested undefined-length sequences (a private UN element,
    /// then SQ elements), each with one undefined-length item, holding `inner`; every
    /// item and sequence closed by its delimiter.
    fn nested_dataset(levels: usize, inner: &[u8]) -> Vec<u8> {
        let mut d = vec![0x08, 0x00, 0x60, 0x00, b'C', b'S', 2, 0, b'C', b'T'];
        for level in 0..levels {
            let vr = if level == 0 { b"UN" } else { b"SQ" };
            long_element(&mut d, 0x0009, 0x1010, vr, 0xFFFF_FFFF);
            item_header(&mut d, 0xE000, 0xFFFF_FFFF);
        }
        d.extend_from_slice(inner);
        for _ in 0..levels {
            item_header(&mut d, 0xE00D, 0);
            item_header(&mut d, 0xE0DD, 0);
        }
        d
    }

    #[test]
    fn fuzz_dicom_nested_undefined_sequence_element_length_oom() {
        // The fuzzer's out-of-memory input, rebuilt: an empty transfer syntax (guessed
        // explicit VR little endian), nested undefined-length sequences (the outer one
        // a UN element, which the parser reads as a sequence), and deep inside an OB
        // element claiming 3.75 GB. The length pre-scan used to stop at the UN element
        // and the parser allocated the claim.
        let mut inner = Vec::new();
        long_element(&mut inner, 0x0010, 0x0010, b"OB", 0xF000_0000);
        inner.extend_from_slice(b"DOE^JOHN");
        let file = file_with_empty_transfer_syntax(&nested_dataset(3, &inner));
        let e = parse_object(&file).err().unwrap_or_default();
        assert!(
            e.contains("element (0010,0010) claims 4026531840 bytes but only 56 remain"),
            "{e}"
        );
    }

    #[test]
    fn nested_undefined_sequences_with_sound_lengths_still_parse() {
        let mut inner = Vec::new();
        inner.extend_from_slice(&[0x10, 0x00, 0x10, 0x00, b'P', b'N', 8, 0]);
        inner.extend_from_slice(b"DOE^JOHN");
        let file = file_with_empty_transfer_syntax(&nested_dataset(3, &inner));
        let p = parse_object(&file).unwrap();
        assert_eq!(get_str(&p.obj, tags::MODALITY).as_deref(), Some("CT"));
        let mut item = p.obj.element(Tag(0x0009, 0x1010)).unwrap().items().unwrap();
        for _ in 1..3 {
            item = item[0]
                .element(Tag(0x0009, 0x1010))
                .unwrap()
                .items()
                .unwrap();
        }
        assert_eq!(
            get_str(&item[0], tags::PATIENT_NAME).as_deref(),
            Some("DOE^JOHN")
        );
    }

    #[test]
    fn sequences_nested_past_the_limit_are_refused_naming_it() {
        let ok = file_with_empty_transfer_syntax(&nested_dataset(MAX_SEQUENCE_DEPTH, &[]));
        assert!(parse_object(&ok).is_ok());
        let deep = file_with_empty_transfer_syntax(&nested_dataset(MAX_SEQUENCE_DEPTH + 1, &[]));
        let e = parse_object(&deep).err().unwrap_or_default();
        assert!(e.contains("dicom::MAX_SEQUENCE_DEPTH"), "{e}");
    }

    #[test]
    fn truncated_meta_group_is_an_error_not_a_panic() {
        let mut b = vec![0u8; 128];
        b.extend_from_slice(b"DICM\x02\x00\x10\x00UI\x40\x00abc");
        assert!(parse_object(&b).is_err());
    }
}
