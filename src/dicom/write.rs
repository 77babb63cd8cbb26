//! Writing a HU volume as a CT series: one Explicit VR Little Endian CT Image file per
//! slice (k), geometry from `patient_from_voxel` (patient LPS, mm), stored values signed
//! 16-bit HU (PixelRepresentation 1), RescaleIntercept 0, slope 1 — lossless for any i16.

use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use nalgebra::Vector3;

use super::DicomError;
use crate::volume::Volume;

/// Descriptive fields of the written series.
#[derive(Clone, Debug)]
pub struct WriteMeta {
    pub description: String,
    /// Tube voltage recorded in KVP.
    pub kvp: f64,
    /// UID root (digits and dots); study/series/instance UIDs derive from it deterministically.
    pub seed_uid_root: String,
}

/// Format a decimal string (DS) of at most 16 characters.
fn ds(v: f64) -> String {
    for prec in (0..=6).rev() {
        let s = format!("{v:.prec$}");
        let s = if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        };
        let s = if s == "-0" { "0".to_string() } else { s };
        if s.len() <= 16 {
            return s;
        }
    }
    format!("{:.0}", v.clamp(-1e15, 1e15))
}

fn strs(tag: Tag, vr: VR, values: &[String]) -> DataElement<InMemDicomObject> {
    DataElement::new(
        tag,
        vr,
        PrimitiveValue::Strs(values.iter().cloned().collect()),
    )
}
fn st(tag: Tag, vr: VR, v: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::from(v.to_string()))
}
fn us(tag: Tag, v: u16) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::US, PrimitiveValue::from(v))
}

/// Write `volume` (HU) as CT Image files named "IM0001.dcm", "IM0002.dcm", … (one per k).
pub fn write_ct_series(
    volume: &Volume<i16>,
    meta: &WriteMeta,
) -> Result<Vec<(String, Vec<u8>)>, DicomError> {
    let [nx, ny, nz] = volume.dims;
    if nx == 0 || ny == 0 || nx > 65535 || ny > 65535 || volume.data.len() != nx * ny * nz {
        return Err(DicomError::Write(format!(
            "volume dims {nx}×{ny}×{nz} do not match {} voxels or exceed 65535",
            volume.data.len()
        )));
    }
    let a = &volume.patient_from_voxel;
    let col = |c: usize| Vector3::new(a[(0, c)], a[(1, c)], a[(2, c)]);
    let (ci, cj) = (col(0), col(1));
    let (dx, dy) = (ci.norm(), cj.norm());
    if dx <= 0.0 || dy <= 0.0 {
        return Err(DicomError::Write(
            "the volume affine has a zero pixel axis".into(),
        ));
    }
    let (r, c) = (ci / dx, cj / dy);
    let root = meta.seed_uid_root.trim_end_matches('.');
    let study_uid = format!("{root}.1");
    let series_uid = format!("{root}.2");
    let for_uid = format!("{root}.4");
    let iop: Vec<String> = [r[0], r[1], r[2], c[0], c[1], c[2]]
        .iter()
        .map(|v| ds(*v))
        .collect();
    let mut files = Vec::with_capacity(nz);
    for k in 0..nz {
        let p = volume.patient_mm([0.0, 0.0, k as f64]);
        let sop_uid = format!("{root}.3.{}", k + 1);
        let mut obj = InMemDicomObject::new_empty();
        obj.put(st(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 100"));
        obj.put(strs(
            tags::IMAGE_TYPE,
            VR::CS,
            &["ORIGINAL".into(), "PRIMARY".into(), "AXIAL".into()],
        ));
        obj.put(st(tags::SOP_CLASS_UID, VR::UI, uids::CT_IMAGE_STORAGE));
        obj.put(st(tags::SOP_INSTANCE_UID, VR::UI, &sop_uid));
        obj.put(st(tags::MODALITY, VR::CS, "CT"));
        obj.put(st(tags::SERIES_DESCRIPTION, VR::LO, &meta.description));
        obj.put(st(tags::PATIENT_NAME, VR::PN, "ANONYMOUS"));
        obj.put(st(tags::PATIENT_ID, VR::LO, "DEMO"));
        obj.put(st(tags::KVP, VR::DS, &ds(meta.kvp)));
        obj.put(st(tags::SLICE_THICKNESS, VR::DS, &ds(volume.spacing_mm[2])));
        obj.put(st(tags::STUDY_INSTANCE_UID, VR::UI, &study_uid));
        obj.put(st(tags::SERIES_INSTANCE_UID, VR::UI, &series_uid));
        obj.put(st(tags::SERIES_NUMBER, VR::IS, "1"));
        obj.put(st(tags::INSTANCE_NUMBER, VR::IS, &(k + 1).to_string()));
        obj.put(strs(
            tags::IMAGE_POSITION_PATIENT,
            VR::DS,
            &[ds(p[0]), ds(p[1]), ds(p[2])],
        ));
        obj.put(strs(tags::IMAGE_ORIENTATION_PATIENT, VR::DS, &iop));
        obj.put(st(tags::FRAME_OF_REFERENCE_UID, VR::UI, &for_uid));
        obj.put(us(tags::SAMPLES_PER_PIXEL, 1));
        obj.put(st(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"));
        obj.put(us(tags::ROWS, ny as u16));
        obj.put(us(tags::COLUMNS, nx as u16));
        // DICOM order: between rows (along j), between columns (along i).
        obj.put(strs(tags::PIXEL_SPACING, VR::DS, &[ds(dy), ds(dx)]));
        obj.put(us(tags::BITS_ALLOCATED, 16));
        obj.put(us(tags::BITS_STORED, 16));
        obj.put(us(tags::HIGH_BIT, 15));
        obj.put(us(tags::PIXEL_REPRESENTATION, 1));
        obj.put(st(tags::RESCALE_INTERCEPT, VR::DS, "0"));
        obj.put(st(tags::RESCALE_SLOPE, VR::DS, "1"));
        obj.put(st(tags::RESCALE_TYPE, VR::LO, "HU"));
        let slice = &volume.data[k * nx * ny..(k + 1) * nx * ny];
        // Two's-complement bits of the signed HU, written as OW words.
        let stored: Vec<u16> = slice.iter().map(|v| *v as u16).collect();
        obj.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::U16(stored.into_iter().collect()),
        ));
        let file = obj
            .with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN))
            .map_err(|e| DicomError::Write(e.to_string()))?;
        let mut bytes = Vec::new();
        file.write_all(&mut bytes)
            .map_err(|e| DicomError::Write(e.to_string()))?;
        files.push((format!("IM{:04}.dcm", k + 1), bytes));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_strings_fit_sixteen_characters() {
        assert_eq!(ds(0.5), "0.5");
        assert_eq!(ds(-0.0), "0");
        assert_eq!(ds(-1024.0), "-1024");
        assert!(ds(-123456.123456789).len() <= 16);
        assert!(ds(std::f64::consts::FRAC_1_SQRT_2).len() <= 16);
    }
}
