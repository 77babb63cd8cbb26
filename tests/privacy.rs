//! Privacy (shared data tier): nothing Osteon writes for sharing — the design link, part
//! STL / 3MF files, the CLI's JSON — contains the study's patient name, ID, birth date,
//! study/series dates or UIDs.

use osteon::design::replay::replay;
use osteon::design::{encode_link, DesignState, Op, ViewState};
use osteon::dicom::{self, FileBytes, ReadOptions};
use osteon::mesh::io::{write_3mf, write_stl_binary};
use osteon::progress::NoProgress;
use osteon::surface::mc::{label_surface, McParams};
use osteon::volume::sha256_hex;
use std::path::Path;

/// Text of the first element with `tag` in the raw bytes of a little-endian file
/// (explicit or implicit VR). Good enough to pull identifiers out of a test file.
fn raw_text(bytes: &[u8], tag: (u16, u16)) -> Option<String> {
    let key = [tag.0.to_le_bytes(), tag.1.to_le_bytes()].concat();
    let at = bytes.windows(4).position(|w| w == key.as_slice())?;
    let b = bytes.get(at + 4..at + 8)?;
    let (len, start) = if b[0].is_ascii_uppercase() && b[1].is_ascii_uppercase() {
        (u16::from_le_bytes([b[2], b[3]]) as usize, at + 8)
    } else {
        (
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize,
            at + 8,
        )
    };
    if len > 256 {
        return None;
    }
    let text = String::from_utf8_lossy(bytes.get(start..start + len)?)
        .trim_matches(|c: char| c == '\0' || c.is_whitespace())
        .to_string();
    Some(text)
}

fn identifiers(file: &Path) -> Vec<String> {
    let bytes = std::fs::read(file).unwrap();
    let tags = [
        (0x0010, 0x0010), // patient name
        (0x0010, 0x0020), // patient ID
        (0x0010, 0x0030), // birth date
        (0x0008, 0x0020), // study date
        (0x0008, 0x0021), // series date
        (0x0020, 0x000D), // study instance UID
        (0x0020, 0x000E), // series instance UID
        (0x0008, 0x0018), // SOP instance UID
        (0x0020, 0x0052), // frame of reference UID
        (0x0008, 0x0080), // institution
    ];
    let mut ids: Vec<String> = tags
        .iter()
        .filter_map(|&t| raw_text(&bytes, t))
        .filter(|s| s.len() >= 4)
        .collect();
    // Names are also written in parts ("Family^Given").
    let parts: Vec<String> = ids
        .iter()
        .flat_map(|s| s.split('^').map(str::to_string).collect::<Vec<_>>())
        .filter(|s| s.len() >= 4)
        .collect();
    ids.extend(parts);
    ids
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

#[test]
fn links_and_exported_parts_hold_no_patient_identifiers() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/ct_head_invesalius_0051");
    if !dir.exists() {
        println!("skipped: no shared data");
        return;
    }
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_none_or(|e| e != "md"))
        .collect();
    paths.sort();
    let ids = identifiers(&paths[0]);
    assert!(
        ids.len() >= 3,
        "the test study should carry identifiers to look for: {ids:?}"
    );
    let files: Vec<(String, Vec<u8>)> = paths
        .iter()
        .map(|p| (p.display().to_string(), std::fs::read(p).unwrap()))
        .collect();
    let bytes: Vec<FileBytes> = files
        .iter()
        .map(|(n, b)| FileBytes { name: n, bytes: b })
        .collect();
    let scan = dicom::scan(&bytes);
    let loaded = dicom::read_series(
        &bytes,
        &scan,
        scan.volume_series().next().unwrap().id,
        &ReadOptions::default(),
        &mut NoProgress,
    )
    .unwrap();
    let ops = vec![
        Op::LoadSeries,
        Op::AutoBones {
            lower_hu: 226,
            upper_hu: 3071,
        },
    ];
    let seg = replay(&loaded.volume, &ops).unwrap();
    let part = seg.parts.first().expect("Auto bones finds the skull");
    let mesh = label_surface(
        &loaded.volume,
        &seg.labels,
        part.label,
        &McParams { iso_hu: 720.0 },
    )
    .unwrap();
    let link = encode_link(&DesignState {
        study_fingerprint: sha256_hex(&loaded.volume),
        app_version: "test".into(),
        ops,
        view: ViewState::default(),
    })
    .unwrap();
    let outputs: Vec<(&str, Vec<u8>)> = vec![
        ("design link", link.into_bytes()),
        ("STL", write_stl_binary(&mesh, &part.name).unwrap()),
        ("3MF", write_3mf(&[(part.name.as_str(), &mesh)]).unwrap()),
        (
            "series summary JSON",
            serde_json::to_vec(&loaded.summary).unwrap(),
        ),
    ];
    for (what, out) in &outputs {
        for id in &ids {
            assert!(
                !contains(out, id),
                "the {what} contains the identifier {id:?}"
            );
        }
    }
}
