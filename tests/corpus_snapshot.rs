//! Shared-data tier: every file of every `edge_*` folder in ../shared/data and every file
//! of the real series gets a defined outcome — "loaded" with its dimensions, or the
//! named error the reader gives — and the outcome is compared with the snapshot tables
//! below. A change of behaviour (a file that starts or stops loading, a different
//! error) fails the test and shows in the diff of this file. A file missing from the
//! table, or a table entry missing on disk, fails too: 100 % of the corpus is covered.
//!
//! Each file is read alone, the way a user dropping that one file would (archives
//! expanded, headers scanned, every non-localizer series read). Each folder is also
//! read as one drop and its series-level result is snapshotted.
//!
//! To refresh after an intended change: `OSTEON_SNAPSHOT_PRINT=1 cargo test --test
//! corpus_snapshot -- --nocapture`, review the printed tables, paste them here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use osteon::dicom::{self, FileBytes, ReadOptions};
use osteon::progress::NoProgress;

/// Real series (folders relative to the data folder) whose every file is in the corpus.
const REAL_SERIES: &[&str] = &[
    "ct_head_invesalius_0051",
    "ct_ge_tilted_head",
    "ct3slice_dcmqi",
    "ct_totalsegmentator_example/example_ct_dicom",
];

fn data_dir() -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    if d.is_dir() {
        Some(d)
    } else {
        println!("skipped: no shared data");
        None
    }
}

/// Every file under `dir`, sorted, as paths relative to `root` with '/' separators.
fn files_under(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files_under(root, &p, out);
        } else if let Ok(rel) = p.strip_prefix(root) {
            let parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(parts.join("/"));
        }
    }
}

/// The corpus: relative paths of all edge_* files and all real-series files.
fn corpus(root: &Path) -> Vec<String> {
    let mut roots: Vec<PathBuf> = std::fs::read_dir(root)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_dir()
                        && p.file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with("edge_"))
                })
                .collect()
        })
        .unwrap_or_default();
    roots.extend(REAL_SERIES.iter().map(|s| root.join(s)));
    roots.sort();
    let mut out = Vec::new();
    for r in &roots {
        files_under(root, r, &mut out);
    }
    out.sort();
    out.dedup();
    out
}

/// First clause of a message (what is wrong, without the advice), kept short so the
/// snapshot names the error without freezing every word of the advice.
fn short(reason: &str) -> String {
    let first = reason.split(';').next().unwrap_or(reason).trim();
    let mut s: String = first.chars().take(90).collect();
    if first.chars().count() > 90 {
        s.push('…');
    }
    s
}

/// What a user gets when dropping exactly these files: one outcome per series (or the
/// per-file errors when no series was found).
fn outcome(files: Vec<(String, Vec<u8>)>) -> String {
    let (files, mut errors) = dicom::expand_archives(files);
    let views: Vec<FileBytes> = files
        .iter()
        .map(|(n, b)| FileBytes { name: n, bytes: b })
        .collect();
    let scan = dicom::scan(&views);
    errors.extend(scan.errors.iter().cloned());
    let mut parts = Vec::new();
    for s in &scan.series {
        if s.is_localizer {
            parts.push(format!("localizer {}x{}", s.cols, s.rows));
            continue;
        }
        let r = dicom::read_series(
            &views,
            &scan,
            s.id,
            &ReadOptions::default(),
            &mut NoProgress,
        );
        parts.push(match r {
            Ok(l) => {
                let [x, y, z] = l.volume.dims;
                let skipped = l.file_errors.len();
                if skipped > 0 {
                    format!("loaded {x}x{y}x{z} ({skipped} file(s) not decoded)")
                } else {
                    format!("loaded {x}x{y}x{z}")
                }
            }
            Err(e) => format!("error: {}", short(&e.to_string())),
        });
    }
    if parts.is_empty() {
        match errors.first() {
            Some(e) => format!("error: {}", short(&e.reason)),
            None => "error: no series and no reason (reader bug)".to_string(),
        }
    } else if errors.is_empty() {
        parts.join(" | ")
    } else {
        format!("{} [+{} file error(s)]", parts.join(" | "), errors.len())
    }
}

fn read(root: &Path, rel: &str) -> (String, Vec<u8>) {
    let bytes = std::fs::read(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    (rel.to_string(), bytes)
}

/// Compares a computed map with its snapshot; lists every difference at once.
fn compare(kind: &str, got: &BTreeMap<String, String>, expected: &[(&str, &str)]) {
    let want: BTreeMap<String, String> = expected
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(
        want.len(),
        expected.len(),
        "{kind}: duplicate keys in the table"
    );
    if std::env::var_os("OSTEON_SNAPSHOT_PRINT").is_some() {
        println!("\n// {kind}");
        for (k, v) in got {
            println!("    ({k:?}, {v:?}),");
        }
    }
    let mut diffs = Vec::new();
    for (k, v) in got {
        match want.get(k) {
            None => diffs.push(format!("not in the table: ({k:?}, {v:?})")),
            Some(w) if w != v => diffs.push(format!("{k}: expected {w:?}, got {v:?}")),
            Some(_) => {}
        }
    }
    for k in want.keys() {
        if !got.contains_key(k) {
            diffs.push(format!("in the table but not on disk: {k}"));
        }
    }
    assert!(
        diffs.is_empty(),
        "{kind}: {} difference(s) from the snapshot:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

#[test]
fn every_corpus_file_has_its_snapshotted_outcome() {
    let Some(root) = data_dir() else { return };
    let files = corpus(&root);
    assert!(!files.is_empty(), "no corpus files found under {root:?}");
    let got: BTreeMap<String, String> = files
        .iter()
        .map(|rel| (rel.clone(), outcome(vec![read(&root, rel)])))
        .collect();
    compare("per-file outcomes", &got, PER_FILE);
}

#[test]
fn every_corpus_folder_read_as_one_drop_has_its_snapshotted_outcome() {
    let Some(root) = data_dir() else { return };
    // A folder = the files directly inside one directory of the corpus.
    let mut folders: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for rel in corpus(&root) {
        let dir = rel.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        folders.entry(dir.to_string()).or_default().push(rel);
    }
    let got: BTreeMap<String, String> = folders
        .iter()
        .map(|(dir, rels)| {
            let files = rels.iter().map(|r| read(&root, r)).collect();
            (dir.clone(), outcome(files))
        })
        .collect();
    compare("per-folder outcomes", &got, PER_FOLDER);
}

/// File (relative to ../shared/data) → outcome when dropped alone.
const PER_FILE: &[(&str, &str)] = &[
    ("ct3slice_dcmqi/FILES.md", "error: not a DICOM file (no DICM marker and no valid tag at the start)"),
    ("ct3slice_dcmqi/ct-3slice/01.dcm", "loaded 512x512x1"),
    ("ct3slice_dcmqi/ct-3slice/02.dcm", "loaded 512x512x1"),
    ("ct3slice_dcmqi/ct-3slice/03.dcm", "loaded 512x512x1"),
    ("ct3slice_dcmqi/liver.dcm", "error: BitsAllocated 1 is not supported (CT slices use 8 or 16 bits"),
    ("ct3slice_dcmqi/liver_seg.nrrd", "error: not a DICOM file (no DICM marker and no valid tag at the start)"),
    ("ct3slice_dcmqi/liver_spine_seg.nrrd", "error: not a DICOM file (no DICM marker and no valid tag at the start)"),
    ("ct3slice_dcmqi/partial_overlaps.dcm", "error: BitsAllocated 1 is not supported (CT slices use 8 or 16 bits"),
    ("ct3slice_dcmqi/spine_seg.nrrd", "error: not a DICOM file (no DICM marker and no valid tag at the start)"),
    ("ct_ge_tilted_head/01.dcm", "loaded 512x512x1"),
    ("ct_ge_tilted_head/02.dcm", "loaded 512x512x1"),
    ("ct_ge_tilted_head/03.dcm", "loaded 512x512x1"),
    ("ct_ge_tilted_head/04.dcm", "loaded 512x512x1"),
    ("ct_ge_tilted_head/05.dcm", "loaded 512x512x1"),
    ("ct_ge_tilted_head/06.dcm", "loaded 512x512x1"),
    ("ct_ge_tilted_head/07.dcm", "loaded 512x512x1"),
    ("ct_ge_tilted_head/08.dcm", "loaded 512x512x1"),
    ("ct_ge_tilted_head/09.dcm", "loaded 512x512x1"),
    ("ct_ge_tilted_head/10.dcm", "loaded 512x512x1"),
    ("ct_ge_tilted_head/11.dcm", "loaded 512x512x1"),
    ("ct_ge_tilted_head/12.dcm", "loaded 512x512x1"),
    ("ct_ge_tilted_head/13.dcm", "loaded 512x512x1"),
    ("ct_ge_tilted_head/14.dcm", "loaded 512x512x1"),
    ("ct_ge_tilted_head/15.dcm", "loaded 512x512x1"),
    ("ct_ge_tilted_head/16.dcm", "loaded 512x512x1"),
    ("ct_ge_tilted_head/17.dcm", "loaded 512x512x1"),
    ("ct_ge_tilted_head/18.dcm", "loaded 512x512x1"),
    ("ct_ge_tilted_head/19.dcm", "loaded 512x512x1"),
    ("ct_ge_tilted_head/20.dcm", "loaded 512x512x1"),
    ("ct_ge_tilted_head/21.dcm", "loaded 512x512x1"),
    ("ct_ge_tilted_head/22.dcm", "loaded 512x512x1"),
    ("ct_ge_tilted_head/23.dcm", "loaded 512x512x1"),
    ("ct_ge_tilted_head/24.dcm", "loaded 512x512x1"),
    ("ct_ge_tilted_head/25.dcm", "loaded 512x512x1"),
    ("ct_ge_tilted_head/26.dcm", "loaded 512x512x1"),
    ("ct_ge_tilted_head/27.dcm", "loaded 512x512x1"),
    ("ct_ge_tilted_head/28.dcm", "loaded 512x512x1"),
    ("ct_ge_tilted_head/FILES.md", "error: not a DICOM file (no DICM marker and no valid tag at the start)"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105245122.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105251890.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105256723.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105301386.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105306069.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105311350.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105315539.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105320469.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105325530.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105330909.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105337883.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105342909.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105347068.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105351360.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105356722.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105401990.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105406669.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105411680.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105416749.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105420920.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105425311.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105429751.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105434690.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105439700.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105443899.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105448301.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105453251.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105458351.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105503300.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105507690.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105512700.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105518089.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105522509.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105527930.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105532939.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105537170.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105541300.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105545499.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105550489.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105555489.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105559931.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105604099.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105608379.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105613301.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105618310.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105622700.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105626890.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105632152.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105637330.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105641700.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105645899.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105650308.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105655311.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105700472.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105704710.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105709910.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105714890.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105719500.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105723890.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105728311.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105733510.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105738510.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105742680.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105746900.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105751109.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105756110.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105801109.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105805581.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105809710.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105813920.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105818731.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105823731.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105828070.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105832312.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105836782.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105841510.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105846664.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105850924.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105855312.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105900322.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105905504.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105909895.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105914111.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105918242.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105923111.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105927724.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105932931.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105937516.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105942402.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105947362.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105951721.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604105956132.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604110001136.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604110006121.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604110011198.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604110017111.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604110022140.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604110027141.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604110032530.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604110038951.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604110043960.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604110048794.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604110053869.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604110059019.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604110103807.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604110109137.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604110114892.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/1.3.12.2.1107.5.1.1.20706.20020604110119564.4.dcm", "loaded 512x512x1"),
    ("ct_head_invesalius_0051/FILES.md", "error: not a DICOM file (no DICM marker and no valid tag at the start)"),
    ("ct_totalsegmentator_example/example_ct_dicom/CT.1.3.12.2.1107.5.1.4.60064.30000022120808113428000016573", "loaded 512x512x1"),
    ("ct_totalsegmentator_example/example_ct_dicom/CT.1.3.12.2.1107.5.1.4.60064.30000022120808113428000016574", "loaded 512x512x1"),
    ("ct_totalsegmentator_example/example_ct_dicom/CT.1.3.12.2.1107.5.1.4.60064.30000022120808113428000016575", "loaded 512x512x1"),
    ("ct_totalsegmentator_example/example_ct_dicom/CT.1.3.12.2.1107.5.1.4.60064.30000022120808113428000016576", "loaded 512x512x1"),
    ("ct_totalsegmentator_example/example_ct_dicom/CT.1.3.12.2.1107.5.1.4.60064.30000022120808113428000016577", "loaded 512x512x1"),
    ("ct_totalsegmentator_example/example_ct_dicom/CT.1.3.12.2.1107.5.1.4.60064.30000022120808113428000016578", "loaded 512x512x1"),
    ("ct_totalsegmentator_example/example_ct_dicom/CT.1.3.12.2.1107.5.1.4.60064.30000022120808113428000016579", "loaded 512x512x1"),
    ("ct_totalsegmentator_example/example_ct_dicom/CT.1.3.12.2.1107.5.1.4.60064.30000022120808113428000016580", "loaded 512x512x1"),
    ("ct_totalsegmentator_example/example_ct_dicom/CT.1.3.12.2.1107.5.1.4.60064.30000022120808113428000016581", "loaded 512x512x1"),
    ("ct_totalsegmentator_example/example_ct_dicom/CT.1.3.12.2.1107.5.1.4.60064.30000022120808113428000016582", "loaded 512x512x1"),
    ("ct_totalsegmentator_example/example_ct_dicom/CT.1.3.12.2.1107.5.1.4.60064.30000022120808113428000016583", "loaded 512x512x1"),
    ("ct_totalsegmentator_example/example_ct_dicom/CT.1.3.12.2.1107.5.1.4.60064.30000022120808113428000016584", "loaded 512x512x1"),
    ("ct_totalsegmentator_example/example_ct_dicom/CT.1.3.12.2.1107.5.1.4.60064.30000022120808113428000016585", "loaded 512x512x1"),
    ("ct_totalsegmentator_example/example_ct_dicom/CT.1.3.12.2.1107.5.1.4.60064.30000022120808113428000016586", "loaded 512x512x1"),
    ("ct_totalsegmentator_example/example_ct_dicom/CT.1.3.12.2.1107.5.1.4.60064.30000022120808113428000016587", "loaded 512x512x1"),
    ("ct_totalsegmentator_example/example_ct_dicom/CT.1.3.12.2.1107.5.1.4.60064.30000022120808113428000016588", "loaded 512x512x1"),
    ("ct_totalsegmentator_example/example_ct_dicom/CT.1.3.12.2.1107.5.1.4.60064.30000022120808113428000016589", "loaded 512x512x1"),
    ("ct_totalsegmentator_example/example_ct_dicom/CT.1.3.12.2.1107.5.1.4.60064.30000022120808113428000016590", "loaded 512x512x1"),
    ("ct_totalsegmentator_example/example_ct_dicom/CT.1.3.12.2.1107.5.1.4.60064.30000022120808113428000016591", "loaded 512x512x1"),
    ("ct_totalsegmentator_example/example_ct_dicom/CT.1.3.12.2.1107.5.1.4.60064.30000022120808113428000016592", "loaded 512x512x1"),
    ("edge_dicomparser/CT1_UNC.explicit_big_endian.dcm", "loaded 512x512x1"),
    ("edge_dicomparser/CT1_UNC.explicit_little_endian.dcm", "loaded 512x512x1"),
    ("edge_dicomparser/CT1_UNC.implicit_little_endian.dcm", "loaded 512x512x1"),
    ("edge_dicomparser/FILES.md", "error: not a DICOM file (no DICM marker and no valid tag at the start)"),
    ("edge_dicomparser/encapsulated/multi-frame/CT0012.explicit_little_endian.dcm", "loaded 512x512x2"),
    ("edge_dicomparser/encapsulated/multi-frame/CT0012.fragmented_no_bot_jpeg_baseline.51.dcm", "error: 12-bit JPEG Extended (Process 2 & 4) (1.2.840.10008.1.2.4.51) is not supported yet (the br…"),
    ("edge_dicomparser/encapsulated/multi-frame/CT0012.fragmented_no_bot_jpeg_lossless.57.dcm", "loaded 512x512x2"),
    ("edge_dicomparser/encapsulated/multi-frame/CT0012.fragmented_no_bot_jpeg_lossless.70.dcm", "loaded 512x512x2"),
    ("edge_dicomparser/encapsulated/multi-frame/CT0012.fragmented_no_bot_jpeg_ls.80.dcm", "error: JPEG-LS (1.2.840.10008.1.2.4.80) is not supported yet"),
    ("edge_dicomparser/encapsulated/multi-frame/CT0012.fragmented_no_bot_jpeg_ls.81.dcm", "error: JPEG-LS (1.2.840.10008.1.2.4.81) is not supported yet"),
    ("edge_dicomparser/encapsulated/multi-frame/CT0012.not_fragmented_bot_jpeg_ls.80.dcm", "error: JPEG-LS (1.2.840.10008.1.2.4.80) is not supported yet"),
    ("edge_dicomparser/encapsulated/multi-frame/CT0012.not_fragmented_bot_rle.dcm", "loaded 512x512x2"),
    ("edge_dicomparser/encapsulated/multi-frame/CT0012.not_fragmented_no_bot_jpeg_ls.80.dcm", "error: JPEG-LS (1.2.840.10008.1.2.4.80) is not supported yet"),
    ("edge_dicomparser/encapsulated/multi-frame/CT0012.not_fragmented_no_bot_rle.dcm", "loaded 512x512x2"),
    ("edge_dicomparser/encapsulated/multi-frame/IM00001.fragmented_no_bot_jpeg_baseline.50.dcm", "error: colour image (3 samples per pixel), not a greyscale CT slice"),
    ("edge_dicomparser/encapsulated/multi-frame/IM00001.implicit_little_endian.dcm", "error: colour image (3 samples per pixel), not a greyscale CT slice"),
    ("edge_dicomparser/encapsulated/single-frame/CT1_UNC.fragmented_bot_jpeg_ls.80.dcm", "error: JPEG-LS (1.2.840.10008.1.2.4.80) is not supported yet"),
    ("edge_dicomparser/encapsulated/single-frame/CT1_UNC.not_fragmented_bot_jpeg_ls.80.dcm", "error: JPEG-LS (1.2.840.10008.1.2.4.80) is not supported yet"),
    ("edge_dicomparser/encapsulated/single-frame/CT1_UNC.not_fragmented_no_bot_jpeg_ls.80.dcm", "error: JPEG-LS (1.2.840.10008.1.2.4.80) is not supported yet"),
    ("edge_fodicom/CT-MONO2-16-ankle", "error: the file edge_fodicom/CT-MONO2-16-ankle has no PixelSpacing, so the pixel size is unknown"),
    ("edge_fodicom/D_CLUNIE_CT1_RLE_FRAGS.dcm", "loaded 512x512x1"),
    ("edge_fodicom/FILES.md", "error: not a DICOM file (no DICM marker and no valid tag at the start)"),
    ("edge_fodicom/GH1301.dcm", "error: the file edge_fodicom/GH1301.dcm has no PixelSpacing, so the pixel size is unknown"),
    ("edge_fodicom/GH1308.dcm", "loaded 512x512x1"),
    ("edge_fodicom/GH1339.dcm", "loaded 320x320x1"),
    ("edge_fodicom/GH1376.dcm", "loaded 1890x2457x1"),
    ("edge_fodicom/GH1728.dcm", "loaded 652x568x1"),
    ("edge_fodicom/GH177_D_CLUNIE_CT1_IVRLE_BigEndian_ELE_undefinded_length.dcm", "error: cannot read the DICOM data set (damaged or truncated file): element (0008,1150) claims 775…"),
    ("edge_fodicom/GH177_D_CLUNIE_CT1_IVRLE_BigEndian_undefined_length.dcm", "error: cannot read the DICOM data set (damaged or truncated file): Could not read data set token"),
    ("edge_fodicom/GH223.dcm", "error: no pixel data (not an image"),
    ("edge_fodicom/GH340.dcm", "error: BitsAllocated 12 is not supported (CT slices use 8 or 16 bits"),
    ("edge_fodicom/GH342.dcm", "localizer 512x512"),
    ("edge_fodicom/IM-0001-0001-0001.dcm", "loaded 512x512x1"),
    ("edge_fodicom/charset/chrJapMulti.dcm", "error: no pixel data (not an image"),
    ("edge_fodicom/charset/chrKoreanMulti.dcm", "error: no pixel data (not an image"),
    ("edge_fodicom/charset/chrRuss.dcm", "error: the file edge_fodicom/charset/chrRuss.dcm has no PixelSpacing, so the pixel size is unknow…"),
    ("edge_fodicom/charset/chrX1.dcm", "error: the file edge_fodicom/charset/chrX1.dcm has no PixelSpacing, so the pixel size is unknown"),
    ("edge_fodicom/genFile.dcm", "error: the file edge_fodicom/genFile.dcm has no PixelSpacing, so the pixel size is unknown"),
    ("edge_fodicom/mixed_orientation_series_abd1/adb1_1.dcm", "loaded 256x256x1"),
    ("edge_fodicom/mixed_orientation_series_abd1/adb1_10.dcm", "loaded 256x256x1"),
    ("edge_fodicom/mixed_orientation_series_abd1/adb1_11.dcm", "loaded 256x256x1"),
    ("edge_fodicom/mixed_orientation_series_abd1/adb1_2.dcm", "loaded 256x256x1"),
    ("edge_fodicom/mixed_orientation_series_abd1/adb1_3.dcm", "loaded 256x256x1"),
    ("edge_fodicom/mixed_orientation_series_abd1/adb1_4.dcm", "loaded 256x256x1"),
    ("edge_fodicom/mixed_orientation_series_abd1/adb1_5.dcm", "loaded 256x256x1"),
    ("edge_fodicom/mixed_orientation_series_abd1/adb1_6.dcm", "loaded 256x256x1"),
    ("edge_fodicom/mixed_orientation_series_abd1/adb1_7.dcm", "loaded 256x256x1"),
    ("edge_fodicom/mixed_orientation_series_abd1/adb1_8.dcm", "loaded 256x256x1"),
    ("edge_fodicom/mixed_orientation_series_abd1/adb1_9.dcm", "loaded 256x256x1"),
    ("edge_pydicom/693_J2KI.dcm", "loaded 512x512x1"),
    ("edge_pydicom/CT_small.dcm", "loaded 128x128x1"),
    ("edge_pydicom/FILES.md", "error: not a DICOM file (no DICM marker and no valid tag at the start)"),
    ("edge_pydicom/J2K_pixelrep_mismatch.dcm", "loaded 512x512x1"),
    ("edge_pydicom/JLSL_16_15_1_1F.dcm", "error: JPEG-LS (1.2.840.10008.1.2.4.80) is not supported yet"),
    ("edge_pydicom/JPEG-LL.dcm", "loaded 256x1024x1"),
    ("edge_pydicom/JPEG-lossy.dcm", "error: 12-bit JPEG Extended (Process 2 & 4) (1.2.840.10008.1.2.4.51) is not supported yet (the br…"),
    ("edge_pydicom/JPEG2000-embedded-sequence-delimiter.dcm", "error: no slice of the series could be decoded"),
    ("edge_pydicom/JPEG2000.dcm", "loaded 256x1024x1"),
    ("edge_pydicom/JPEGLSNearLossless_16.dcm", "error: JPEG-LS (1.2.840.10008.1.2.4.81) is not supported yet"),
    ("edge_pydicom/JPGExtended.dcm", "error: 12-bit JPEG Extended (Process 2 & 4) (1.2.840.10008.1.2.4.51) is not supported yet (the br…"),
    ("edge_pydicom/MR_small_RLE.dcm", "loaded 64x64x1"),
    ("edge_pydicom/MR_small_bigendian.dcm", "loaded 64x64x1"),
    ("edge_pydicom/MR_small_implicit.dcm", "loaded 64x64x1"),
    ("edge_pydicom/MR_small_jp2klossless.dcm", "loaded 64x64x1"),
    ("edge_pydicom/MR_small_jpeg_ls_lossless.dcm", "error: JPEG-LS (1.2.840.10008.1.2.4.80) is not supported yet"),
    ("edge_pydicom/MR_truncated.dcm", "error: cannot read the DICOM data set (damaged or truncated file): element (7FE0,0010) claims 819…"),
    ("edge_pydicom/bad_sequence.dcm", "loaded 512x512x1"),
    ("edge_pydicom/eCT_Supplemental.dcm", "loaded 512x512x2"),
    ("edge_pydicom/empty_charset_LEI.dcm", "error: no pixel data (not an image"),
    ("edge_pydicom/emri_small_RLE.dcm", "error: the slices cannot be placed in space: some slices have no ImagePositionPatient, so they ca…"),
    ("edge_pydicom/emri_small_big_endian.dcm", "error: the slices cannot be placed in space: some slices have no ImagePositionPatient, so they ca…"),
    ("edge_pydicom/emri_small_jpeg_2k_lossless_too_short.dcm", "error: the slices cannot be placed in space: some slices have no ImagePositionPatient, so they ca…"),
    ("edge_pydicom/image_dfl.dcm", "error: the file edge_pydicom/image_dfl.dcm has no PixelSpacing, so the pixel size is unknown"),
    ("edge_pydicom/liver.dcm", "error: BitsAllocated 1 is not supported (CT slices use 8 or 16 bits"),
    ("edge_pydicom/liver_1frame.dcm", "error: BitsAllocated 1 is not supported (CT slices use 8 or 16 bits"),
    ("edge_pydicom/liver_deflate.dcm", "error: BitsAllocated 1 is not supported (CT slices use 8 or 16 bits"),
    ("edge_pydicom/meta_missing_tsyntax.dcm", "error: Rows or Columns missing or zero"),
    ("edge_pydicom/no_meta.dcm", "error: not a DICOM file (no DICM marker and no valid tag at the start)"),
    ("edge_pydicom/no_meta_group_length.dcm", "error: no pixel data (not an image"),
];

/// Folder (relative to ../shared/data) → outcome when its files are dropped together.
const PER_FOLDER: &[(&str, &str)] = &[
    ("ct3slice_dcmqi", "error: not a DICOM file (no DICM marker and no valid tag at the start)"),
    ("ct3slice_dcmqi/ct-3slice", "loaded 512x512x3"),
    ("ct_ge_tilted_head", "loaded 512x512x37 [+1 file error(s)]"),
    ("ct_head_invesalius_0051", "loaded 512x512x108 [+1 file error(s)]"),
    ("ct_totalsegmentator_example/example_ct_dicom", "loaded 512x512x20"),
    ("edge_dicomparser", "loaded 512x512x1 [+1 file error(s)]"),
    ("edge_dicomparser/encapsulated/multi-frame", "loaded 512x512x2 [+7 file error(s)]"),
    ("edge_dicomparser/encapsulated/single-frame", "error: JPEG-LS (1.2.840.10008.1.2.4.80) is not supported yet"),
    ("edge_fodicom", "error: the file edge_fodicom/CT-MONO2-16-ankle has no PixelSpacing, so the pixel size is unknown | loaded 512x512x1 | error: the file edge_fodicom/GH1301.dcm has no PixelSpacing, so the pixel size is unknown | loaded 512x512x1 | loaded 320x320x1 | loaded 1890x2457x1 | loaded 652x568x1 | localizer 512x512 | loaded 512x512x1 | error: the file edge_fodicom/genFile.dcm has no PixelSpacing, so the pixel size is unknown [+5 file error(s)]"),
    ("edge_fodicom/charset", "error: the file edge_fodicom/charset/chrRuss.dcm has no PixelSpacing, so the pixel size is unknow… | error: the file edge_fodicom/charset/chrX1.dcm has no PixelSpacing, so the pixel size is unknown [+2 file error(s)]"),
    ("edge_fodicom/mixed_orientation_series_abd1", "loaded 256x256x5 | loaded 256x256x3 | loaded 256x256x3"),
    ("edge_pydicom", "loaded 512x512x1 | loaded 128x128x1 | loaded 512x512x1 | error: the slices cannot be placed in space: some slices have no ImagePositionPatient, so they ca… | loaded 64x64x1 | loaded 512x512x1 | loaded 512x512x2 | error: the slices cannot be placed in space: some slices have no ImagePositionPatient, so they ca… | error: the file edge_pydicom/image_dfl.dcm has no PixelSpacing, so the pixel size is unknown [+14 file error(s)]"),
];
