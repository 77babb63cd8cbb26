//! Reading a series a file or a few at a time (`ScanBuilder` + `SeriesReader::decode_next_from`
//! and `decode_next_from_files`,
//! how the browser worker loads without keeping the dropped files in wasm memory) gives
//! the same volume as reading it with every file at hand.

use osteon::dicom::{self, FileBytes, ReadOptions, ScanBuilder, SeriesReader, WriteMeta};
use osteon::progress::NoProgress;
use osteon::volume::{sha256_hex, Volume};

fn series() -> Vec<(String, Vec<u8>)> {
    let mut v = Volume::filled([24, 20, 9], [0.5, 0.5, 1.0], [-5.0, 3.0, 10.0], -1000i16);
    for (n, x) in v.data.iter_mut().enumerate() {
        *x = ((n * 37) % 2400) as i16 - 1000;
    }
    let meta = WriteMeta {
        description: "stream".into(),
        kvp: 120.0,
        seed_uid_root: "2.25.9".into(),
    };
    let mut files = dicom::write_ct_series(&v, &meta).unwrap();
    // Reversed file order: the reader must follow the slice order, not the file order.
    files.reverse();
    files
}

/// The files as [`FileBytes`], and the volume read with every file at hand.
fn files_and_whole(files: &[(String, Vec<u8>)]) -> (Vec<FileBytes<'_>>, dicom::Scan, Volume<i16>) {
    let all: Vec<FileBytes> = files
        .iter()
        .map(|(n, b)| FileBytes { name: n, bytes: b })
        .collect();
    let scan = dicom::scan(&all);
    let whole =
        dicom::read_series(&all, &scan, 0, &ReadOptions::default(), &mut NoProgress).unwrap();
    (all, scan, whole.volume)
}

#[test]
fn one_file_at_a_time_gives_the_same_volume() {
    let files = series();
    let (all, scan, whole) = files_and_whole(&files);

    let mut b = ScanBuilder::default();
    for f in &all {
        b.add(f);
    }
    let scan2 = b.finish();
    assert_eq!(scan2.series.len(), scan.series.len());
    let mut r = SeriesReader::new(&scan2, 0, &ReadOptions::default()).unwrap();
    let mut calls = 0;
    while let Some(fi) = r.next_file() {
        let n = r.decode_next_from(&all[fi], 4).unwrap();
        assert_eq!(n, 1, "one slice per single-frame file");
        calls += 1;
    }
    assert_eq!(calls, 9);
    let streamed = r.finish().unwrap();
    assert!(streamed.file_errors.is_empty());
    assert_eq!(sha256_hex(&streamed.volume), sha256_hex(&whole));
}

#[test]
fn the_wrong_file_is_refused_with_its_name() {
    let files = series();
    let all: Vec<FileBytes> = files
        .iter()
        .map(|(n, b)| FileBytes { name: n, bytes: b })
        .collect();
    let mut b = ScanBuilder::default();
    for f in &all {
        b.add(f);
    }
    let scan = b.finish();
    let mut r = SeriesReader::new(&scan, 0, &ReadOptions::default()).unwrap();
    let fi = r.next_file().unwrap();
    let other = &all[(fi + 1) % all.len()];
    let e = r.decode_next_from(other, 4).unwrap_err().to_string();
    assert!(e.contains(other.name), "{e}");
    assert_eq!(r.done(), 0);
}

#[test]
fn a_few_files_at_a_time_give_the_same_volume() {
    // How the worker loads: the files of the next slices (four per thread), each once.
    let files = series();
    let (all, scan, whole) = files_and_whole(&files);
    let mut r = SeriesReader::new(&scan, 0, &ReadOptions::default()).unwrap();
    let mut steps = 0;
    while r.done() < r.total() {
        let next: Vec<FileBytes> = r.next_files(4).iter().map(|&fi| all[fi]).collect();
        assert!(next.len() <= 4);
        assert_eq!(r.decode_next_from_files(&next, 4).unwrap(), next.len());
        steps += 1;
    }
    assert_eq!(steps, 3, "9 single-frame files, 4 per step");
    assert_eq!(sha256_hex(&r.finish().unwrap().volume), sha256_hex(&whole));
    // Files out of order are refused before anything is decoded.
    let mut r = SeriesReader::new(&scan, 0, &ReadOptions::default()).unwrap();
    let mut next: Vec<FileBytes> = r.next_files(4).iter().map(|&fi| all[fi]).collect();
    next.swap(0, 1);
    let e = r.decode_next_from_files(&next, 4).unwrap_err().to_string();
    assert!(e.contains(next[0].name), "{e}");
    assert_eq!(r.done(), 0);
}
