//! `osteon replay '<link>' [<study>|demo] --out DIR [--json]`: replays a design link on
//! this machine's copy of the study and writes every output with the design-history
//! record. The SHA-256 it prints are the ones the browser shows for the same link.

use crate::files::{load_study, write_files};
use crate::{flag_value, positionals};
use osteon::demo::{self, DemoParams};
use osteon::design::history::design_history;
use osteon::design::outputs::{output_files, part_meshes, PART_ISO_HU};
use osteon::design::replay::replay;
use osteon::design::{decode_link, Op};
use osteon::volume::{bytes_sha256_hex, labels_sha256_hex, sha256_hex};
use serde_json::json;
use std::path::Path;

const USAGE: &str = "usage: osteon replay '<link>' [<study dir/files>|demo] --out DIR [--json]";

pub fn run(args: &[String]) -> Result<(), String> {
    let out = flag_value(args, "--out").ok_or(USAGE)?;
    let free = positionals(args, &["--out"]);
    let (link, study) = free.split_first().ok_or(USAGE)?;
    let design = decode_link(link).map_err(|e| e.to_string())?;
    let ct = match design.ops.first() {
        Some(Op::OpenDemo { seed }) if study.is_empty() || study == ["demo"] => {
            demo::generate(&DemoParams {
                seed: *seed,
                ..DemoParams::default()
            })
            .ct
        }
        _ if study.is_empty() => {
            return Err(format!(
                "this design was made on a DICOM study: give the folder of your copy\n{USAGE}"
            ))
        }
        _ => load_study(study)?,
    };
    let fingerprint = sha256_hex(&ct);
    if fingerprint != design.study_fingerprint {
        return Err(format!(
            "this design was made on another study (its fingerprint is {}…, this study's is {}…): \
             give the same series the design was made on",
            &design
                .study_fingerprint
                .get(..12)
                .unwrap_or(&design.study_fingerprint),
            &fingerprint[..12]
        ));
    }
    let seg = replay(&ct, &design.ops)
        .map_err(|(n, e)| format!("operation {} failed on replay: {e}", n + 1))?;
    let meshes = part_meshes(&ct, &seg, PART_ISO_HU)?;
    let mut files = output_files(&seg, &meshes)?;
    let outputs: Vec<(String, &[u8])> = files.iter().map(|(n, b)| (n.clone(), &b[..])).collect();
    let history = design_history(&design, env!("CARGO_PKG_VERSION"), &outputs).to_json();
    files.push(("design-history.json".into(), history.into_bytes()));
    write_files(Path::new(out), &files)?;

    let labels_sha256 = labels_sha256_hex(&seg.labels);
    if args.iter().any(|a| a == "--json") {
        let list: Vec<_> = files
            .iter()
            .map(|(n, b)| json!({ "file": n, "bytes": b.len(), "sha256": bytes_sha256_hex(b) }))
            .collect();
        let text = serde_json::to_string_pretty(&json!({
            "study_fingerprint": fingerprint,
            "ops": design.ops.len(),
            "parts": seg.parts.len(),
            "labels_sha256": labels_sha256,
            "files": list,
        }))
        .map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        println!(
            "replayed {} operation(s) on study {}…: {} part(s)",
            design.ops.len(),
            &fingerprint[..12],
            seg.parts.len()
        );
        println!("  {labels_sha256}  (label volume)");
        for (n, b) in &files {
            println!("  {}  {n} ({} bytes)", bytes_sha256_hex(b), b.len());
        }
        println!("written to {out}");
    }
    Ok(())
}
