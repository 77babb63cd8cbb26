//! The native command line, run as a user would.

use std::process::Command;

fn osteon(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_osteon"))
        .args(args)
        .output()
        .expect("osteon runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn demo_export_reads_back_as_one_series_that_passes_qa() {
    let dir = std::env::temp_dir().join(format!("osteon-cli-demo-{}", std::process::id()));
    let (ok, out, err) = osteon(&["demo", "--out", dir.to_str().unwrap()]);
    assert!(ok, "demo failed: {err}");
    assert!(out.contains("wrote 128 slices"), "{out}");
    assert!(dir.join("labels.nrrd").exists() && dir.join("bones.json").exists());
    let (ok, json, err) = osteon(&["info", dir.join("dicom").to_str().unwrap(), "--json"]);
    assert!(ok, "info failed: {err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let series = v["series"].as_array().unwrap();
    assert_eq!(series.len(), 1);
    assert_eq!(series[0]["dims"], serde_json::json!([448, 320, 128]));
    for line in series[0]["qa"]["lines"].as_array().unwrap() {
        assert_ne!(line["status"], "fail", "{line}");
    }
    let labels =
        osteon::nrrd::read_nrrd_u8(&std::fs::read(dir.join("labels.nrrd")).unwrap()).unwrap();
    assert_eq!(labels.dims, [448, 320, 128]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn info_on_a_non_dicom_file_names_it_and_the_reason() {
    let dir = std::env::temp_dir().join(format!("osteon-cli-junk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), b"hello").unwrap();
    let (ok, out, _) = osteon(&["info", dir.to_str().unwrap()]);
    assert!(ok);
    assert!(
        out.contains("notes.txt") && out.contains("not a DICOM file"),
        "{out}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn unknown_command_and_bad_flags_explain_themselves() {
    let (ok, _, err) = osteon(&["frobnicate"]);
    assert!(!ok && err.contains("unknown command"), "{err}");
    let (ok, _, err) = osteon(&["info", ".", "--pixel-spacing", "abc"]);
    assert!(!ok && err.contains("two positive numbers"), "{err}");
}

#[test]
fn link_encode_then_decode_gives_back_the_design() {
    let dir = std::env::temp_dir().join(format!("osteon-cli-link-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let design = r#"{"study_fingerprint":"ab12","app_version":"0.1.0","ops":[{"op":"open_demo","seed":1}],"view":{"cursor":[1,2,3],"window_hu":[400.0,1800.0],"orbit":[25.0,20.0,1.0]}}"#;
    std::fs::write(dir.join("design.json"), design).unwrap();
    let (ok, link, err) = osteon(&["link", "encode", dir.join("design.json").to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(link.starts_with("#d=1."), "{link}");
    let (ok, json, err) = osteon(&["link", "decode", link.trim(), "--json"]);
    assert!(ok, "{err}");
    let back: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        back,
        serde_json::from_str::<serde_json::Value>(design).unwrap()
    );
    let (ok, _, err) = osteon(&["link", "decode", "#d=1.broken"]);
    assert!(!ok && err.contains("damaged"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn segment_auto_on_the_demo_writes_labels_one_stl_per_bone_and_parts_json() {
    let dir = std::env::temp_dir().join(format!("osteon-cli-seg-{}", std::process::id()));
    let (ok, out, err) = osteon(&["segment", "demo", "--out", dir.to_str().unwrap(), "--auto"]);
    assert!(ok, "{err}");
    assert!(out.contains("12 part(s)"), "{out}");
    let parts: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("parts.json")).unwrap()).unwrap();
    let parts = parts["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 12);
    for p in parts {
        let stl = osteon::mesh::io::read_stl(
            &std::fs::read(dir.join(p["file"].as_str().unwrap())).unwrap(),
        )
        .unwrap();
        let report = osteon::mesh::repair::check(&stl).unwrap();
        assert!(
            report.watertight && report.outward,
            "{} is not a closed outward surface",
            p["name"]
        );
        let v = p["volume_mm3"].as_f64().unwrap();
        let m = p["mask_volume_mm3"].as_f64().unwrap();
        assert!(
            (v / m - 1.0).abs() < 0.05,
            "{}: surface {v} vs mask {m} mm³",
            p["name"]
        );
    }
    let (ok, _, err) = osteon(&[
        "segment",
        "demo",
        "--out",
        dir.to_str().unwrap(),
        "--seed",
        "0,0,0",
    ]);
    assert!(!ok && err.contains("in air"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn mesh_commands_measure_mirror_simplify_and_compare_a_sphere() {
    let dir = std::env::temp_dir().join(format!("osteon-cli-mesh-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = |n: &str| dir.join(n).to_str().unwrap().to_string();
    let sphere = osteon::mesh::shapes::ico_sphere(10.0, 3);
    std::fs::write(
        path("s.stl"),
        osteon::mesh::io::write_stl_binary(&sphere, "t").unwrap(),
    )
    .unwrap();
    let (ok, json, err) = osteon(&["mesh", "info", &path("s.stl"), "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["check"]["watertight"], true);
    let volume = v["volume_mm3"].as_f64().unwrap();
    assert!(
        (volume / (4.0 / 3.0 * std::f64::consts::PI * 1000.0) - 1.0).abs() < 0.02,
        "{volume}"
    );
    let (ok, _, err) = osteon(&[
        "mesh",
        "mirror",
        &path("s.stl"),
        "--out",
        &path("m.obj"),
        "--plane-x",
        "5",
    ]);
    assert!(ok, "{err}");
    let (ok, _, err) = osteon(&[
        "mesh",
        "decimate",
        &path("s.stl"),
        "--out",
        &path("d.3mf"),
        "--triangles",
        "300",
        "--max-deviation",
        "1.0",
    ]);
    assert!(ok, "{err}");
    let (ok, json, err) = osteon(&["mesh", "distance", &path("s.stl"), &path("d.3mf"), "--json"]);
    assert!(ok, "{err}");
    let d: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(d["max_mm"].as_f64().unwrap() < 1.0, "{d}");
    let (ok, _, err) = osteon(&["mesh", "remesh", &path("s.stl"), "--out", &path("r.stl")]);
    assert!(!ok && err.contains("--edge is required"), "{err}");
    std::fs::write(
        path("bad.stl"),
        b"solid x\n facet normal 0 0 0\n outer loop\n vertex nan 0 0\n",
    )
    .unwrap();
    let (ok, _, err) = osteon(&["mesh", "info", &path("bad.stl")]);
    assert!(!ok && err.contains("bad.stl"), "{err}");
    // An open surface gets no volume figure (text or JSON), only its area.
    let mut open = sphere.clone();
    open.triangles.truncate(open.triangles.len() - 3);
    std::fs::write(
        path("open.stl"),
        osteon::mesh::io::write_stl_binary(&open, "t").unwrap(),
    )
    .unwrap();
    let (ok, out, err) = osteon(&["mesh", "info", &path("open.stl")]);
    assert!(ok && out.contains("volume not defined"), "{out}{err}");
    let (ok, json, err) = osteon(&["mesh", "info", &path("open.stl"), "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(
        v["volume_mm3"].is_null() && v["area_mm2"].as_f64().unwrap() > 0.0,
        "{v}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[path = "common/golden.rs"]
mod golden;

#[test]
fn replay_of_a_demo_link_writes_every_output_and_its_history() {
    use osteon::design::{encode_link, DesignState, Op, ViewState};
    let ct = osteon::demo::generate(&osteon::demo::DemoParams::default()).ct;
    let mut design = DesignState {
        study_fingerprint: osteon::volume::sha256_hex(&ct),
        app_version: "0.1.0".into(),
        ops: vec![
            Op::OpenDemo { seed: 1 },
            Op::AutoBones {
                lower_hu: 226,
                upper_hu: 3071,
            },
        ],
        view: ViewState::default(),
    };
    let link = encode_link(&design).unwrap();
    let dir = std::env::temp_dir().join(format!("osteon-cli-replay-{}", std::process::id()));
    let (ok, out, err) = osteon(&["replay", &link, "--out", dir.to_str().unwrap(), "--json"]);
    assert!(ok, "replay failed: {err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["labels_sha256"], golden::DEMO_AUTO_BONES_LABELS_SHA256);
    assert_eq!(v["parts"], 12);
    let history: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("design-history.json")).unwrap()).unwrap();
    assert_eq!(history["format"], "osteon-design-history");
    assert_eq!(history["study_fingerprint"], design.study_fingerprint);
    let outputs = history["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), 14, "labels, 12 STL, one 3MF");
    for o in outputs {
        let bytes = std::fs::read(dir.join(o["file"].as_str().unwrap())).unwrap();
        assert_eq!(o["sha256"], osteon::volume::bytes_sha256_hex(&bytes), "{o}");
    }
    // A design made on another study is refused, and says so.
    design.study_fingerprint = "0".repeat(64);
    let (ok, _, err) = osteon(&[
        "replay",
        &encode_link(&design).unwrap(),
        "demo",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("another study"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn an_implant_link_carries_a_mesh_and_reads_back() {
    let dir = std::env::temp_dir().join(format!("osteon-cli-implant-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let stl = dir.join("sphere.stl");
    let sphere = osteon::mesh::shapes::ico_sphere(10.0, 3);
    std::fs::write(
        &stl,
        osteon::mesh::io::write_stl_binary(&sphere, "t").unwrap(),
    )
    .unwrap();
    let (ok, link, err) = osteon(&["link", "implant", stl.to_str().unwrap(), "--name", "cage"]);
    assert!(ok, "{err}");
    assert!(link.trim().starts_with("#m=1."), "{link}");
    let back = dir.join("back.stl");
    let (ok, out, err) = osteon(&[
        "link",
        "open-implant",
        link.trim(),
        "--out",
        back.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("'cage'") && out.contains(&format!("{} triangles", sphere.triangles.len())),
        "{out}"
    );
    let (ok, _, err) = osteon(&["link", "decode", link.trim()]);
    assert!(!ok && err.contains("open-implant"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// `osteon … | head`: the reader closes the pipe before osteon writes. Unix tools then
/// stop quietly (killed by SIGPIPE, status 141 in the shell); osteon used to panic in
/// `println!` ("failed printing to stdout: Broken pipe").
#[cfg(unix)]
#[test]
fn a_closed_stdout_pipe_ends_osteon_quietly_without_a_panic() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    let not_dicom =
        std::env::temp_dir().join(format!("osteon-cli-pipe-{}.txt", std::process::id()));
    std::fs::write(&not_dicom, "not a DICOM file").unwrap();
    for args in [vec!["--help"], vec!["info", not_dicom.to_str().unwrap()]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader); // no reader left: every write to stdout fails with EPIPE
        let out = Command::new(env!("CARGO_BIN_EXE_osteon"))
            .args(&args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .expect("osteon runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        let quiet = out.status.signal() == Some(13) || out.status.code() == Some(0);
        assert!(quiet, "{args:?}: status {:?}, stderr {err}", out.status);
    }
    std::fs::remove_file(&not_dicom).ok();
}

#[test]
fn orient_and_supports_take_joint_surfaces_from_contact_and_from_a_marks_file() {
    use osteon::mesh::io::write_stl_binary;
    use osteon::mesh::shapes::{translated, uv_sphere};
    let dir = std::env::temp_dir().join(format!("osteon-cli-marks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = |f: &str| dir.join(f).to_string_lossy().into_owned();
    // A "bone" with a neighbour 2 mm away along +x (a joint), and one far away.
    let bone = uv_sphere(10.0, 24, 48);
    let write = |name: &str, m: &osteon::mesh::Mesh| {
        std::fs::write(p(name), write_stl_binary(m, name).unwrap()).unwrap()
    };
    write("bone.stl", &bone);
    write(
        "neighbour.stl",
        &translated(&uv_sphere(10.0, 24, 48), [22.0, 0.0, 0.0]),
    );
    write(
        "far.stl",
        &translated(&uv_sphere(5.0, 12, 24), [0.0, 60.0, 0.0]),
    );

    let (ok, out, err) = osteon(&[
        "orient",
        &p("bone.stl"),
        "--marks-from-contact",
        &format!("{},{}", p("far.stl"), p("neighbour.stl")),
        "--gap-mm",
        "2.5",
        "--directions",
        "1000",
        "--marks-out",
        &p("marks.json"),
        "--out",
        &p("oriented.stl"),
        "--json",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let art = &v["articular"];
    let faces = art["faces"].as_u64().unwrap();
    assert!(faces > 10, "{art}");
    assert_eq!(v["articular_triangles"], faces);
    assert!(art["area_mm2"].as_f64().unwrap() > 1.0, "{art}");
    assert_eq!(
        art["contact"][0]["faces"], 0,
        "the far sphere is no partner: {art}"
    );
    assert_eq!(art["contact"][1]["faces"], faces, "{art}");
    // The joint surface looks along +x: it is turned up, away from the plate.
    assert!(v["best"]["up"][0].as_f64().unwrap() > 0.8, "{}", v["best"]);
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p("marks.json")).unwrap()).unwrap();
    assert_eq!(file["faces"].as_array().unwrap().len() as u64, faces);
    assert_eq!(file["triangles"], bone.triangle_count());

    // The marks file fits the oriented copy (the same faces in the same order).
    for style in ["cone", "block"] {
        let (ok, out, err) = osteon(&[
            "supports",
            &p("oriented.stl"),
            "--style",
            style,
            "--marks",
            &p("marks.json"),
            "--json",
        ]);
        assert!(ok, "{style}: {err}");
        let s: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(s["articular"]["faces"], faces, "{style}");
        let a = s["articular"]["area_mm2"].as_f64().unwrap();
        assert!(
            (a - art["area_mm2"].as_f64().unwrap()).abs() < 1e-6 * a,
            "{style}"
        );
    }
    let (ok, text, err) = osteon(&["supports", &p("oriented.stl"), "--marks", &p("marks.json")]);
    assert!(ok, "{err}");
    assert!(
        text.contains(&format!(
            "joint surfaces kept free of supports: {faces} articular faces"
        )),
        "{text}"
    );

    // Mistakes a batch script makes are named.
    let (ok, _, err) = osteon(&["supports", &p("far.stl"), "--marks", &p("marks.json")]);
    assert!(!ok && err.contains("triangles"), "{err}");
    let (ok, _, err) = osteon(&[
        "orient",
        &p("bone.stl"),
        "--marks-from-contact",
        &p("far.stl"),
    ]);
    assert!(!ok && err.contains("no face looks at"), "{err}");
    let (ok, _, err) = osteon(&[
        "orient",
        &p("bone.stl"),
        "--marks-from-contact",
        &p("far.stl"),
        &p("neighbour.stl"),
    ]);
    assert!(!ok && err.contains("unexpected argument"), "{err}");
    std::fs::write(p("junk.json"), "[1, 2]").unwrap();
    let (ok, _, err) = osteon(&["orient", &p("bone.stl"), "--marks", &p("junk.json")]);
    assert!(!ok && err.contains("not a marks file"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
