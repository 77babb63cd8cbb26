//! Length pre-scan of a DICOM data set: walk the element, sequence and item headers the
//! way the dicom-rs data-set reader will, and refuse any declared value length that runs
//! past the end of the bytes before the parser sees them. The parser allocates (and
//! zero-fills) a value's declared length before reading it, so one damaged length would
//! otherwise cost gigabytes — fatal on wasm32, an out-of-memory kill natively.
//!
//! Hand-written because the parser offers no hook between reading a header and
//! allocating its value. The walk mirrors `dicom_parser::dataset::DataSetReader` 0.10:
//! undefined-length elements other than Pixel Data are sequences (whatever their VR),
//! Pixel Data of undefined length holds fragments read as raw bytes, defined-length
//! sequences and items end by position, implicit-VR sequences are recognised by the
//! standard dictionary, and explicit-VR headers use 2-byte lengths for exactly the
//! VRs the parser reads that way. Where the parser would stop (end of data, a header
//! it rejects), the walk stops too and lets the parser report it.
//!
//! Bounded work: every step reads at least one 8-byte header, so the walk is linear in
//! the bytes; nesting deeper than [`MAX_SEQUENCE_DEPTH`] is refused (the parser recurses
//! once per level and would overflow its stack on a crafted file).

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;

/// Deepest nesting of sequences (each with its items) accepted in one data set. Real CT
/// files nest a handful of levels (functional groups inside per-frame items); raise it
/// here for a file that legitimately nests deeper.
pub const MAX_SEQUENCE_DEPTH: usize = 64;

const UNDEFINED: u32 = 0xFFFF_FFFF;
const PIXEL_DATA: (u16, u16) = (0x7FE0, 0x0010);
const ITEM: (u16, u16) = (0xFFFE, 0xE000);
const ITEM_END: (u16, u16) = (0xFFFE, 0xE00D);
const SEQUENCE_END: (u16, u16) = (0xFFFE, 0xE0DD);

/// An open sequence or item, as the parser's stack of delimiters holds it.
struct Open {
    item: bool,
    /// Inside encapsulated Pixel Data: items are raw fragments.
    pixel: bool,
    /// Byte offset where a defined-length sequence or item ends.
    end: Option<usize>,
}

/// The byte layout of the data set being walked.
pub(crate) struct Encoding {
    pub explicit: bool,
    pub big_endian: bool,
}

/// Refuse a data set in which a declared length exceeds the bytes left, or whose
/// sequences nest deeper than [`MAX_SEQUENCE_DEPTH`]. The message names the element.
///
/// On success, returns where the header of Pixel Data starts when Pixel Data is the data
/// set's last element, at the top level, with a defined length that ends exactly at the
/// end of the bytes (the usual uncompressed file): the bytes before it are then a whole
/// data set without the pixels, which a reader that needs only the header can parse.
pub(crate) fn check(data: &[u8], enc: Encoding) -> Result<Option<usize>, String> {
    Walk { data, enc }.run()
}

struct Walk<'a> {
    data: &'a [u8],
    enc: Encoding,
}

impl Walk<'_> {
    fn rd16(&self, at: usize) -> Option<u16> {
        let b = [*self.data.get(at)?, *self.data.get(at.checked_add(1)?)?];
        Some(if self.enc.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    fn rd32(&self, at: usize) -> Option<u32> {
        let b: [u8; 4] = self.data.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if self.enc.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    /// Element header at `pos`: (group, element, length, header bytes, is a sequence).
    /// `None` when the bytes end inside the header (the parser ends the data set there).
    fn header(&self, pos: usize) -> Option<(u16, u16, u32, usize, bool)> {
        let (g, e) = (self.rd16(pos)?, self.rd16(pos + 2)?);
        if g == 0xFFFE || !self.enc.explicit {
            let len = self.rd32(pos + 4)?;
            let sq = !self.enc.explicit && g != 0xFFFE && implicit_is_sequence(g, e);
            return Some((g, e, len, 8, sq));
        }
        let vr = self.data.get(pos + 4..pos + 6)?;
        if has_short_length(vr) {
            Some((g, e, u32::from(self.rd16(pos + 6)?), 8, false))
        } else {
            Some((g, e, self.rd32(pos + 8)?, 12, vr == b"SQ"))
        }
    }

    fn too_long(&self, g: u16, e: u16, len: u32, pos: usize) -> String {
        format!(
            "element ({g:04X},{e:04X}) claims {len} bytes but only {} remain (truncated or damaged file)",
            self.data.len().saturating_sub(pos)
        )
    }

    /// End offset of a container of length `len` starting at `pos`; an error when it
    /// runs past the data.
    fn end_of(&self, g: u16, e: u16, len: u32, pos: usize) -> Result<Option<usize>, String> {
        if len == UNDEFINED {
            return Ok(None);
        }
        match pos.checked_add(len as usize) {
            Some(end) if end <= self.data.len() => Ok(Some(end)),
            _ => Err(self.too_long(g, e, len, pos)),
        }
    }

    fn run(&self) -> Result<Option<usize>, String> {
        let n = self.data.len();
        let mut open: Vec<Open> = Vec::new();
        let mut in_sequence = false;
        let mut pos = 0usize;
        // Start of the last top-level element's header when it is defined-length Pixel Data.
        let mut trailing_pixels: Option<usize> = None;
        loop {
            // Defined-length sequences and items close when their bytes are used up.
            while let Some(top) = open.last() {
                match top.end {
                    Some(end) if end == pos => {
                        in_sequence = top.item;
                        open.pop();
                    }
                    // The parser stops at an inconsistent end.
                    Some(end) if end < pos => return Ok(None),
                    _ => break,
                }
            }
            if open.len() > 2 * MAX_SEQUENCE_DEPTH {
                return Err(format!(
                    "sequences nest more than {MAX_SEQUENCE_DEPTH} levels deep \
                     (dicom::MAX_SEQUENCE_DEPTH); the file is damaged, or raise the limit"
                ));
            }
            if let Some(Open {
                item: true,
                pixel: true,
                end,
            }) = open.last()
            {
                if !in_sequence {
                    // A fragment: raw bytes, its length already checked.
                    let Some(end) = *end else { return Ok(None) };
                    pos = end;
                    continue;
                }
            }
            if in_sequence {
                let (Some(g), Some(e), Some(len)) =
                    (self.rd16(pos), self.rd16(pos + 2), self.rd32(pos + 4))
                else {
                    return Ok(None);
                };
                pos += 8;
                match (g, e) {
                    ITEM => {
                        let Some(parent) = open.last() else {
                            return Ok(None);
                        };
                        let pixel = parent.pixel;
                        let end = self.end_of(g, e, len, pos)?;
                        if pixel && end.is_none() {
                            return Ok(None); // the parser refuses an undefined fragment
                        }
                        open.push(Open {
                            item: true,
                            pixel,
                            end,
                        });
                        in_sequence = false;
                    }
                    ITEM_END if len == 0 => {
                        open.pop();
                        in_sequence = true;
                    }
                    SEQUENCE_END => {
                        open.pop();
                        in_sequence = false;
                    }
                    _ => return Ok(None), // the parser rejects this item header
                }
                continue;
            }
            let Some((g, e, len, header, is_sq)) = self.header(pos) else {
                // The data set ends here: with its last element when `pos == n`.
                return Ok(trailing_pixels.filter(|_| pos == n));
            };
            trailing_pixels = None;
            if open.is_empty() && !is_sq && len != UNDEFINED && (g, e) == PIXEL_DATA {
                trailing_pixels = Some(pos);
            }
            pos += header;
            if (g, e) == ITEM_END {
                if !open.is_empty() {
                    open.pop();
                    in_sequence = true;
                }
                continue;
            }
            if is_sq || len == UNDEFINED {
                open.push(Open {
                    item: false,
                    pixel: (g, e) == PIXEL_DATA && len == UNDEFINED,
                    end: self.end_of(g, e, len, pos)?,
                });
                in_sequence = true;
                continue;
            }
            let end = pos
                .checked_add(len as usize)
                .filter(|end| *end <= n)
                .ok_or_else(|| self.too_long(g, e, len, pos))?;
            pos = end;
        }
    }
}

/// Explicit-VR value representations whose length field is 2 bytes, as the parser reads
/// them; any other pair of bytes (including an unknown VR, read as UN) has 2 reserved
/// bytes and a 4-byte length.
fn has_short_length(vr: &[u8]) -> bool {
    matches!(
        vr,
        b"AE"
            | b"AS"
            | b"AT"
            | b"CS"
            | b"DA"
            | b"DS"
            | b"DT"
            | b"FL"
            | b"FD"
            | b"IS"
            | b"LO"
            | b"LT"
            | b"PN"
            | b"SH"
            | b"SL"
            | b"SS"
            | b"ST"
            | b"TM"
            | b"UI"
            | b"UL"
            | b"US"
    )
}

/// Implicit VR: the parser takes the VR from the standard dictionary (Pixel Data and
/// overlay data are OW whatever the dictionary says).
fn implicit_is_sequence(g: u16, e: u16) -> bool {
    if (g, e) == PIXEL_DATA || (g >> 8 == 0x60 && e == 0x3000) {
        return false;
    }
    StandardDataDictionary
        .by_tag(Tag(g, e))
        .is_some_and(|entry| entry.vr().relaxed() == VR::SQ)
}
