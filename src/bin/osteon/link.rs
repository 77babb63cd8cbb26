//! `osteon link encode <design.json>` and `osteon link decode '<link>' [--json]`.

use crate::flag_value;
use osteon::design::mesh_link::{
    decode_mesh_link, encode_mesh_link, SharedMesh, DEFAULT_STEP_MM, MESH_FRAGMENT_PREFIX,
};
use osteon::design::{decode_link, encode_link, DesignState};

const USAGE: &str = "usage: osteon link encode <design.json>
       osteon link decode '<link>' [--json]
       osteon link implant <mesh.stl|obj|3mf> [--name NAME] [--step-mm 0.01]   implant-only link '#m=…'
       osteon link open-implant '<#m= link>' --out mesh.stl|obj";

pub fn run(args: &[String]) -> Result<(), String> {
    match (args.first().map(String::as_str), args.get(1)) {
        (Some("encode"), Some(path)) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
            let state: DesignState =
                serde_json::from_str(&text).map_err(|e| format!("{path} is not a design: {e}"))?;
            println!("{}", encode_link(&state).map_err(|e| e.to_string())?);
            Ok(())
        }
        (Some("implant"), Some(path)) => {
            let mesh = crate::mesh::read(path)?;
            let step_mm = match flag_value(args, "--step-mm") {
                Some(v) => v
                    .parse()
                    .map_err(|_| format!("--step-mm must be a number of mm, not '{v}'"))?,
                None => DEFAULT_STEP_MM,
            };
            let name = flag_value(args, "--name").unwrap_or("implant").to_string();
            let link =
                encode_mesh_link(&SharedMesh { name, mesh }, step_mm).map_err(|e| e.to_string())?;
            eprintln!("{} characters", link.len());
            println!("{link}");
            Ok(())
        }
        (Some("open-implant"), Some(link)) => {
            let out = flag_value(args, "--out").ok_or(USAGE)?;
            let shared = decode_mesh_link(link).map_err(|e| e.to_string())?;
            crate::mesh::write(out, &shared.mesh)?;
            println!(
                "'{}': {} triangles written to {out}",
                shared.name,
                shared.mesh.triangles.len()
            );
            Ok(())
        }
        (Some("decode"), Some(link)) if link.contains(MESH_FRAGMENT_PREFIX) => {
            Err("this is an implant-only link: open it with 'osteon link open-implant'".into())
        }
        (Some("decode"), Some(link)) => {
            let state = decode_link(link).map_err(|e| e.to_string())?;
            if args.iter().any(|a| a == "--json") {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&state).map_err(|e| e.to_string())?
                );
            } else {
                println!("study fingerprint {}", state.study_fingerprint);
                println!("made with Osteon {}", state.app_version);
                for (n, op) in state.ops.iter().enumerate() {
                    println!(
                        "  {:>3}. {}",
                        n + 1,
                        serde_json::to_string(op).map_err(|e| e.to_string())?
                    );
                }
            }
            Ok(())
        }
        _ => Err(USAGE.into()),
    }
}
