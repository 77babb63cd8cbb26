//! Behaviour of the DICOM reader on small synthetic CT series written by `write_ct_series`.

use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use nalgebra::{Point3, Vector3};
use osteon::dicom::{
    self, expand_archives, qa, read_series, scan, write_ct_series, DicomError, FileBytes, QaStatus,
    ReadOptions, SeriesReader, WriteMeta,
};
use osteon::progress::NoProgress;
use osteon::volume::{affine_from_directions, Volume};

const NX: usize = 12;
const NY: usize = 10;
const NZ: usize = 8;

/// Value encodes (i, j, k) so any reordering shows.
fn value(i: usize, j: usize, k: usize) -> i16 {
    (i as i16) + 20 * (j as i16) + 300 * (k as i16) - 1000
}

fn phantom(step: Vector3<f64>) -> Volume<i16> {
    let mut data = Vec::with_capacity(NX * NY * NZ);
    for k in 0..NZ {
        for j in 0..NY {
            for i in 0..NX {
                data.push(value(i, j, k));
            }
        }
    }
    Volume {
        dims: [NX, NY, NZ],
        spacing_mm: [0.4, 0.45, step.norm()],
        patient_from_voxel: affine_from_directions(
            Vector3::x(),
            Vector3::y(),
            step,
            [0.4, 0.45],
            Point3::new(-10.0, 20.0, 100.0),
        ),
        data,
    }
}

fn meta() -> WriteMeta {
    WriteMeta {
        description: "synthetic".into(),
        kvp: 120.0,
        seed_uid_root: "1.2.826.0.1.3680043.10.1".into(),
    }
}

fn files_of(v: &Volume<i16>) -> Vec<(String, Vec<u8>)> {
    write_ct_series(v, &meta()).expect("write")
}

fn views(files: &[(String, Vec<u8>)]) -> Vec<FileBytes<'_>> {
    files
        .iter()
        .map(|(n, b)| FileBytes { name: n, bytes: b })
        .collect()
}

fn load(
    files: &[(String, Vec<u8>)],
    opts: &ReadOptions,
) -> Result<dicom::LoadedSeries, DicomError> {
    let fb = views(files);
    let s = scan(&fb);
    assert_eq!(
        s.series.len(),
        1,
        "series: {:?} errors: {:?}",
        s.series,
        s.errors
    );
    read_series(&fb, &s, 0, opts, &mut NoProgress)
}

fn edit(bytes: &[u8], f: impl FnOnce(&mut InMemDicomObject)) -> Vec<u8> {
    let mut obj = dicom_object::from_reader(&bytes[128..]).expect("re-read");
    f(&mut obj);
    let mut out = Vec::new();
    obj.write_all(&mut out).expect("re-write");
    out
}

fn set_position(bytes: &[u8], p: [f64; 3]) -> Vec<u8> {
    edit(bytes, |o| {
        o.put(DataElement::new(
            tags::IMAGE_POSITION_PATIENT,
            VR::DS,
            PrimitiveValue::Strs(p.iter().map(|v| format!("{v}")).collect()),
        ));
    })
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-4
}

#[test]
fn shuffled_ascending_series_round_trips_exactly() {
    let v = phantom(Vector3::new(0.0, 0.0, 1.0));
    let mut files = files_of(&v);
    files.reverse();
    files.swap(1, 5);
    let l = load(&files, &ReadOptions::default()).unwrap();
    assert_eq!(l.volume.dims, [NX, NY, NZ]);
    assert_eq!(l.volume.data, v.data);
    assert!(
        (l.volume.patient_from_voxel - v.patient_from_voxel)
            .abs()
            .max()
            < 1e-6
    );
    assert!(!l.geometry.resampled);
    assert_eq!(l.geometry.duplicates, 0);
    assert_eq!(l.geometry.missing_slices, 0);
    assert!(close(l.geometry.slice_spacing_mm, 1.0));
    assert_eq!(l.summary.kvp, Some(120.0));
    assert_eq!(l.summary.pixel_spacing_mm, Some([0.45, 0.4]));
    assert_eq!(l.summary.file_count, NZ);
    assert!(l.file_errors.is_empty());
    assert_eq!(l.qa.line(qa::PIXEL).unwrap().status, QaStatus::Pass);
    assert_eq!(l.qa.line(qa::SPACING).unwrap().status, QaStatus::Pass);
    assert_eq!(l.qa.line(qa::KVP).unwrap().status, QaStatus::Pass);
}

#[test]
fn descending_positions_are_stacked_along_the_normal() {
    let v = phantom(Vector3::new(0.0, 0.0, -1.0));
    let l = load(&files_of(&v), &ReadOptions::default()).unwrap();
    assert_eq!(l.volume.dims, [NX, NY, NZ]);
    // Same patient point → same value.
    for (i, j, k) in [(0, 0, 0), (3, 4, 5), (11, 9, 7)] {
        let p = v.patient_mm([i as f64, j as f64, k as f64]);
        let q = l.volume.voxel_of(p).unwrap();
        let (qi, qj, qk) = (q.x.round() as i64, q.y.round() as i64, q.z.round() as i64);
        assert_eq!(l.volume.get(qi, qj, qk), Some(value(i, j, k)));
    }
    assert!(l.volume.patient_from_voxel[(2, 2)] > 0.0);
}

#[test]
fn duplicate_slice_is_counted_and_ignored() {
    let v = phantom(Vector3::new(0.0, 0.0, 1.0));
    let mut files = files_of(&v);
    let copy = files[3].1.clone();
    files.push(("copy.dcm".into(), copy));
    let l = load(&files, &ReadOptions::default()).unwrap();
    assert_eq!(l.geometry.duplicates, 1);
    assert_eq!(l.volume.data, v.data);
    assert_eq!(l.qa.line(qa::DUPLICATES).unwrap().status, QaStatus::Warn);
}

#[test]
fn missing_slice_is_counted_and_filled_by_interpolation() {
    let v = phantom(Vector3::new(0.0, 0.0, 1.0));
    let mut files = files_of(&v);
    files.remove(4);
    let l = load(&files, &ReadOptions::default()).unwrap();
    assert_eq!(l.geometry.missing_slices, 1);
    assert!(l.geometry.resampled);
    assert_eq!(l.volume.dims, [NX, NY, NZ]);
    assert_eq!(
        l.volume.data, v.data,
        "linear data is reproduced exactly by linear interpolation"
    );
    assert_eq!(l.qa.line(qa::MISSING).unwrap().status, QaStatus::Warn);
}

#[test]
fn uneven_spacing_is_flagged_and_resampled_to_the_median() {
    let v = phantom(Vector3::new(0.0, 0.0, 1.0));
    let mut files = files_of(&v);
    // Move the last slice 0.5 mm further away (gap 1.5 mm; not a missing slice).
    files[NZ - 1].1 = set_position(&files[NZ - 1].1, [-10.0, 20.0, 100.0 + NZ as f64 - 0.5]);
    let l = load(&files, &ReadOptions::default()).unwrap();
    assert!(l.geometry.uneven);
    assert!(l.geometry.resampled);
    assert_eq!(l.geometry.missing_slices, 0);
    assert!(close(l.geometry.max_gap_mm, 1.5));
    assert!(close(l.geometry.slice_spacing_mm, 1.0));
    assert_eq!(l.qa.line(qa::UNEVEN).unwrap().status, QaStatus::Warn);
}

#[test]
fn gantry_tilt_is_measured_and_corrected_to_an_orthogonal_grid() {
    let step = Vector3::new(0.0, 0.3, 1.0); // tilt atan(0.3) = 16.7°
    let v = phantom(step);
    let files = files_of(&v);
    let l = load(&files, &ReadOptions::default()).unwrap();
    assert!(
        (l.geometry.tilt_deg - 0.3f64.atan().to_degrees()).abs() < 0.05,
        "{}",
        l.geometry.tilt_deg
    );
    assert!(l.geometry.resampled);
    let a = l.volume.patient_from_voxel;
    let k = Vector3::new(a[(0, 2)], a[(1, 2)], a[(2, 2)]);
    assert!(
        k.x.abs() < 1e-9 && k.y.abs() < 1e-9 && close(k.z, 1.0),
        "{k}"
    );
    // A voxel of the first slice keeps its value; the same patient point in slice 4 keeps its value.
    let p = v.patient_mm([5.0, 4.0, 4.0]); // shifted by 4 × 0.3 = 1.2 mm in y
    let q = l.volume.voxel_of(p).unwrap();
    assert!(close(q.x, 5.0) && close(q.z, 4.0));
    // Sample at the rounded position: value(5, 4, 4) sits at q.y = 4 + 1.2/0.45.
    let expected = value(5, 4, 4) as f64;
    let j0 = q.y.floor() as i64;
    let w = q.y - j0 as f64;
    let got = (1.0 - w) * l.volume.get(5, j0, 4).unwrap() as f64
        + w * l.volume.get(5, j0 + 1, 4).unwrap() as f64;
    assert!((got - expected).abs() <= 12.0, "{got} vs {expected}");
    assert_eq!(l.qa.line(qa::TILT).unwrap().status, QaStatus::Warn);

    let kept = load(
        &files,
        &ReadOptions {
            resample_tilt: false,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(!kept.geometry.resampled);
    assert_eq!(kept.volume.data, v.data);
    assert!(
        (kept.volume.patient_from_voxel - v.patient_from_voxel)
            .abs()
            .max()
            < 1e-6
    );
}

#[test]
fn missing_pixel_spacing_is_refused_until_the_user_enters_it() {
    let v = phantom(Vector3::new(0.0, 0.0, 1.0));
    let files: Vec<_> = files_of(&v)
        .into_iter()
        .map(|(n, b)| {
            (
                n,
                edit(&b, |o| {
                    o.remove_element(tags::PIXEL_SPACING);
                }),
            )
        })
        .collect();
    let err = load(&files, &ReadOptions::default()).unwrap_err();
    assert!(matches!(err, DicomError::MissingPixelSpacing { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("no PixelSpacing") && msg.contains("enter the pixel size in mm"),
        "{msg}"
    );
    let l = load(
        &files,
        &ReadOptions {
            assume_pixel_spacing_mm: Some([0.45, 0.4]),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(l.volume.spacing_mm[0], 0.4);
    assert_eq!(l.volume.spacing_mm[1], 0.45);
}

#[test]
fn non_dicom_and_truncated_files_are_reported_and_the_rest_loads() {
    let v = phantom(Vector3::new(0.0, 0.0, 1.0));
    let mut files = files_of(&v);
    files.push((
        "notes.txt".into(),
        b"just some text, not an image at all".to_vec(),
    ));
    let half = files[2].1.len() / 2;
    files.push(("truncated.dcm".into(), files[2].1[..half].to_vec()));
    files.push(("empty.dcm".into(), Vec::new()));
    let fb = views(&files);
    let s = scan(&fb);
    assert_eq!(s.series.len(), 1);
    let names: Vec<&str> = s.errors.iter().map(|e| e.name.as_str()).collect();
    assert!(
        names.contains(&"notes.txt")
            && names.contains(&"truncated.dcm")
            && names.contains(&"empty.dcm"),
        "{:?}",
        s.errors
    );
    let txt = s.errors.iter().find(|e| e.name == "notes.txt").unwrap();
    assert!(txt.reason.starts_with("not a DICOM file"), "{}", txt.reason);
    let l = read_series(&fb, &s, 0, &ReadOptions::default(), &mut NoProgress).unwrap();
    assert_eq!(l.volume.data, v.data);
}

#[test]
fn a_slice_whose_pixels_fail_is_a_file_error_and_is_interpolated() {
    let v = phantom(Vector3::new(0.0, 0.0, 1.0));
    let mut files = files_of(&v);
    // Rows says 10, but pixel data holds fewer samples.
    files[3].1 = edit(&files[3].1, |o| {
        o.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::U16(vec![1024u16; 7].into()),
        ));
    });
    let l = load(&files, &ReadOptions::default()).unwrap();
    assert_eq!(l.file_errors.len(), 1, "{:?}", l.file_errors);
    assert_eq!(l.file_errors[0].name, files[3].0);
    assert_eq!(l.geometry.missing_slices, 1);
    assert_eq!(l.volume.data, v.data);
}

#[test]
fn absurd_sizes_are_refused_before_allocating() {
    let v = phantom(Vector3::new(0.0, 0.0, 1.0));
    let files = files_of(&v);
    let err = load(
        &files,
        &ReadOptions {
            max_voxels: 100,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(matches!(err, DicomError::TooManyVoxels { .. }));
    assert!(err.to_string().contains("max_voxels"));
    let big: Vec<_> = files
        .iter()
        .map(|(n, b)| {
            (
                n.clone(),
                edit(b, |o| {
                    o.put(DataElement::new(
                        tags::ROWS,
                        VR::US,
                        PrimitiveValue::from(60000u16),
                    ));
                }),
            )
        })
        .collect();
    let err = load(&big, &ReadOptions::default()).unwrap_err();
    assert!(matches!(err, DicomError::ImageTooLarge { .. }), "{err}");
}

#[test]
fn incremental_reader_reports_progress_and_cancels() {
    let v = phantom(Vector3::new(0.0, 0.0, 1.0));
    let files = files_of(&v);
    let fb = views(&files);
    let s = scan(&fb);
    let mut r = SeriesReader::new(&s, 0, &ReadOptions::default()).unwrap();
    assert_eq!(r.total(), NZ);
    let mut steps = 0;
    while r.done() < r.total() {
        assert!(r.decode_next(&fb, 3).unwrap() <= 3);
        steps += 1;
    }
    assert_eq!(steps, 3);
    assert_eq!(r.finish().unwrap().volume.data, v.data);

    let mut calls = 0;
    let mut cancel_after_first = |_d: usize, _t: usize| {
        calls += 1;
        calls < 2
    };
    let err =
        read_series(&fb, &s, 0, &ReadOptions::default(), &mut cancel_after_first).unwrap_err();
    assert!(matches!(err, DicomError::Cancelled));
    assert!(matches!(
        SeriesReader::new(&s, 7, &ReadOptions::default()),
        Err(DicomError::NoSuchSeries { .. })
    ));
}

#[test]
fn single_slice_uses_slice_thickness_or_assumes_one_mm_with_a_warning() {
    let v = phantom(Vector3::new(0.0, 0.0, 2.0));
    let files = files_of(&v);
    let one = vec![files[0].clone()];
    let l = load(&one, &ReadOptions::default()).unwrap();
    assert_eq!(l.volume.dims, [NX, NY, 1]);
    assert!(close(l.geometry.slice_spacing_mm, 2.0));
    assert!(!l.geometry.spacing_assumed);
    let bare = vec![(
        one[0].0.clone(),
        edit(&one[0].1, |o| {
            o.remove_element(tags::SLICE_THICKNESS);
        }),
    )];
    let l = load(&bare, &ReadOptions::default()).unwrap();
    assert!(l.geometry.spacing_assumed);
    assert!(close(l.geometry.slice_spacing_mm, 1.0));
    assert_eq!(l.qa.line(qa::SPACING).unwrap().status, QaStatus::Warn);
}

#[test]
fn series_without_uid_fall_back_to_frame_of_reference_and_geometry() {
    let v = phantom(Vector3::new(0.0, 0.0, 1.0));
    let files: Vec<_> = files_of(&v)
        .into_iter()
        .map(|(n, b)| {
            (
                n,
                edit(&b, |o| {
                    o.remove_element(tags::SERIES_INSTANCE_UID);
                }),
            )
        })
        .collect();
    let l = load(&files, &ReadOptions::default()).unwrap();
    assert_eq!(l.volume.data, v.data);
}

#[test]
fn two_series_are_separated_and_localizers_marked() {
    let v = phantom(Vector3::new(0.0, 0.0, 1.0));
    let mut files = files_of(&v);
    let other = write_ct_series(
        &v,
        &WriteMeta {
            seed_uid_root: "1.2.3.9".into(),
            ..meta()
        },
    )
    .unwrap();
    for (n, b) in other.into_iter().take(2) {
        let b = edit(&b, |o| {
            o.put(DataElement::new(
                tags::IMAGE_TYPE,
                VR::CS,
                PrimitiveValue::Strs(
                    ["ORIGINAL".to_string(), "PRIMARY".into(), "LOCALIZER".into()]
                        .into_iter()
                        .collect(),
                ),
            ));
        });
        files.push((format!("scout/{n}"), b));
    }
    let fb = views(&files);
    let s = scan(&fb);
    assert_eq!(s.series.len(), 2);
    assert_eq!(s.volume_series().count(), 1);
    assert!(s.series.iter().any(|x| x.is_localizer && x.file_count == 2));
}

#[test]
fn zipped_series_loads() {
    use std::io::Write;
    let v = phantom(Vector3::new(0.0, 0.0, 1.0));
    let files = files_of(&v);
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut buf);
        for (n, b) in &files {
            w.start_file(
                format!("study/{n}"),
                zip::write::SimpleFileOptions::default(),
            )
            .unwrap();
            w.write_all(b).unwrap();
        }
        w.finish().unwrap();
    }
    let (expanded, errors) = expand_archives(vec![("drop.zip".into(), buf.into_inner())]);
    assert!(errors.is_empty());
    assert_eq!(expanded[0].0, "drop.zip/study/IM0001.dcm");
    let l = load(&expanded, &ReadOptions::default()).unwrap();
    assert_eq!(l.volume.data, v.data);
}

#[test]
fn written_values_round_trip_over_the_whole_signed_range() {
    let mut v = phantom(Vector3::new(0.0, 0.0, 1.0));
    v.data[0] = -3000;
    v.data[1] = 30000;
    v.data[2] = i16::MIN;
    let l = load(&files_of(&v), &ReadOptions::default()).unwrap();
    assert_eq!(l.volume.data[..3], [-3000, 30000, i16::MIN]);
}

/// Panics inside the parser are caught natively but abort on wasm32, so count them too.
#[test]
fn truncated_and_corrupted_files_never_panic() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static PANICS: AtomicUsize = AtomicUsize::new(0);
    let v = phantom(Vector3::new(0.0, 0.0, 1.0));
    let files = files_of(&v);
    let good = files[0].1.clone();
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {
        PANICS.fetch_add(1, Ordering::SeqCst);
    }));
    let mut variants: Vec<Vec<u8>> = (0..good.len())
        .step_by(7)
        .map(|n| good[..n].to_vec())
        .collect();
    for at in (128..good.len()).step_by(5) {
        for val in [0x00u8, 0xFF, 0x7F] {
            let mut b = good.clone();
            b[at] = val;
            variants.push(b);
        }
    }
    for b in &variants {
        let mut set = files.clone();
        set[0].1 = b.clone();
        let fb = views(&set);
        let s = scan(&fb);
        for sum in &s.series {
            let _ = read_series(
                &fb,
                &s,
                sum.id,
                &ReadOptions {
                    max_voxels: 10_000_000,
                    ..Default::default()
                },
                &mut NoProgress,
            );
        }
    }
    std::panic::set_hook(prev);
    assert_eq!(
        PANICS.load(Ordering::SeqCst),
        0,
        "a dependency panicked on damaged input"
    );
}
