//! `osteon`: the native command line. Batch versions of what the app does, for
//! engineers, tests and benchmarks. Only this binary touches the file system.

mod bench;
mod files;
mod info;
mod link;
mod mesh;
mod print;
mod replay;
mod segment;
mod slice;

use std::process::ExitCode;

const USAGE: &str = "\
osteon — patient-specific implant design, native command line

USAGE:
  osteon info <dir-or-files>... [--json] [--pixel-spacing ROW,COL]
                                             series found, geometry and the protocol QA table
  osteon demo --out DIR [--seed N]           write the demo study as a DICOM series + truth labels (NRRD)
  osteon segment <study|demo> --out DIR [--auto] [--seed i,j,k[:name] ...] [--threshold LO[,HI]] [--iso HU]
                                             bone parts: labels.nrrd, one STL per part, parts.json
  osteon mesh info|mirror|register|smooth|remesh|decimate|distance ...   (osteon mesh for usage)
  osteon slice <mesh.stl|mesh.obj|plate.3mf> --out DIR [--layer-um 30] [--hatch-um 110]
               [--format gcode,cli,svg] [--json]   (osteon slice for all options)
                                             layers, G-code, CLI, SVG previews and the build estimate
  osteon orient <mesh> [--critical-deg 45] [--marks-from-contact N.stl,… [--gap-mm 3]]
               [--marks faces.json] [--articular X,Y,Z:R ...] [--marks-out faces.json] [--out FILE] [--json]
                                             best build direction, supported area before/after;
                                             joint surfaces (marks) kept facing up
  osteon supports <mesh> [--style cone|block] [--spacing-mm 1.5] [--marks faces.json | …] [--out supports.stl] [--json]
                                             cone or block supports under overhangs (build space), clear of marks
  osteon plate <implant> --out plate.3mf [--sizes 95,100,105] [--coupons 2] [--json]
                                             three sizes and tensile coupons on one plate
  osteon link encode <design.json>           design (JSON) -> '#d=…' link fragment
  osteon link decode '<link>' [--json]       show the design a link holds
  osteon link implant <mesh> [--name N]      implant-only link '#m=…' (no anatomy); open-implant reads one
  osteon replay '<link>' [<study>|demo] --out DIR [--json]
                                             replay a design on your copy of the study: outputs,
                                             design-history.json and the SHA-256 of every file
  osteon bench [--json] [--size 512x512x300] [--only K1,K2] [--runs N] [--threads N] [--growth] [--write-data DIR [--series-only]]
                                             time the hot kernels (median of N runs)
";

fn main() -> ExitCode {
    die_quietly_on_broken_pipe();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("info") => info::run(&args[1..]),
        Some("demo") => info::run_demo(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("link") => link::run(&args[1..]),
        Some("segment") => segment::run(&args[1..]),
        Some("replay") => replay::run(&args[1..]),
        Some("mesh") => mesh::run(&args[1..]),
        Some("slice") => slice::run(&args[1..]),
        Some("orient") => print::run_orient(&args[1..]),
        Some("supports") => print::run_supports(&args[1..]),
        Some("plate") => print::run_plate(&args[1..]),
        Some("-h") | Some("--help") | Some("help") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command '{other}'\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `osteon info … | head`: when the reader of stdout goes away, stop the way Unix tools
/// do (killed by SIGPIPE, status 141 in the shell, nothing on stderr) instead of
/// panicking in `println!`. The Rust runtime ignores SIGPIPE at start-up, which turns
/// the closed pipe into a write error that `println!` reports by panicking; restoring
/// the default disposition is the standard fix (std has no stable switch for it).
fn die_quietly_on_broken_pipe() {
    #[cfg(unix)]
    {
        const SIGPIPE: i32 = 13; // same number on Linux and macOS
        const SIG_DFL: usize = 0;
        extern "C" {
            fn signal(signum: i32, handler: usize) -> usize;
        }
        // SAFETY: called first thing in main, before any other thread exists; resets
        // one signal to its default disposition and touches no Rust state.
        unsafe {
            signal(SIGPIPE, SIG_DFL);
        }
    }
}

/// Value following `--flag`, if present.
pub(crate) fn flag_value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// Positional arguments: everything not a flag nor a flag's value.
pub(crate) fn positionals<'a>(args: &'a [String], flags_with_values: &[&str]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut skip = false;
    for a in args {
        if skip {
            skip = false;
        } else if flags_with_values.contains(&a.as_str()) {
            skip = true;
        } else if !a.starts_with("--") {
            out.push(a.as_str());
        }
    }
    out
}
