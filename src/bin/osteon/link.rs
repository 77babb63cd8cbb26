//! `osteon link encode <design.json>` and `osteon link decode '<link>' [--json]`.

use osteon::design::{decode_link, encode_link, DesignState};

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
        _ => Err(
            "usage: osteon link encode <design.json> | osteon link decode '<link>' [--json]".into(),
        ),
    }
}
