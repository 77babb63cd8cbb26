//! Mesh operations of a design, replayed natively: demo → Auto bones → mirror the left
//! talus → register it onto the right talus. The e2e test (tests/e2e/mesh.test.mjs) runs
//! the same ops in the browser and expects the same STL digest.

use osteon::demo::{self, DemoParams};
use osteon::design::replay::{replay, ReplayError, Segmentation};
use osteon::design::{decode_link, encode_link, DesignState, MeshRef, MirrorPlane, Op, ViewState};

/// SHA-256 of the binary STL of the registered mirrored left talus (see
/// `mirrored_left_talus_registers_onto_the_right_talus`); tests/e2e/mesh.test.mjs holds
/// the same value for the browser.
const REGISTERED_TALUS_STL_SHA256: &str =
    "f044418595fadc72e91e3a50c2d9433fdce38d8c0780e3b144eca4e5b100a1cf";

/// The design of `mirrored_left_talus_registers_onto_the_right_talus` (demo, Auto
/// bones, mirror the left talus — label 5 — across x = 0, register it onto the right
/// talus — label 6) as the app wrote it before registration settings were pinned in the
/// op: schema 1, no settings. It must replay to [`REGISTERED_TALUS_STL_SHA256`] for ever.
const LINK_BEFORE_PINNED_SETTINGS: &str = "#d=1.yETNWl2Q3YrDIBCF32WuQzE2_69SlmB1bIXEEU2aLiXvvmNod2HxQv3OmeOML0jLar5H6_wNY4jOLzCAVbLDvjW9QlN2Vouz0LbSpTaKeWNQNlbUnbW17EutUNbIZ6HPraiqtr9CASqE8YExOfIcKE7lSTClkGC4vHhnSAH9aHAmFhKigaHci7em1oXGK3lMLE60YRzvKwxSNgWsIbyvZ9H-lcwuRorjjOmeA2mNGmF4QVCRZ6r3AsKk_IGSurllUVM-P8d5hkGcxM4Ol-gIbmUGn-SIN5cW_M2e6cHflYsPkNsG6555gs9zTUY0cec879f_YAYPh1u26zUmimwSBS8WNucNbYf5Ugl2F2WXN5YoXh1nX2TNVB4S833_AQ";

/// SHA-256 of the registered mirrored left talus when the registration records the
/// current settings (`meshes::register_settings`: coarse-to-fine ICP, pose search pruned
/// in 4 rounds against surfaces thinned per round); tests/e2e/mesh.test.mjs holds the
/// same value for the browser.
const REGISTERED_TALUS_PINNED_STL_SHA256: &str =
    "9c21f0787183a54dbd5217eb0c0da6469b49071aba873d4d498ac771603c073b";

/// SHA-256 of the registered mirrored left talus with the settings new registrations
/// pinned before `RegisterParams::thin_pose_target` existed (3 rounds of 4 pose-search
/// iterations, one thinned surface for all rounds): their links must keep these bytes.
const REGISTERED_TALUS_PINNED_BEFORE_THINNING_STL_SHA256: &str =
    "3aa74759052efb40d3c6ce9183150daef9b9bfbd9df57fd49c0e3ce16ef63778";

/// Label Auto bones gave the bone whose truth centre voxel is `name`'s.
fn auto_label(study: &demo::DemoStudy, seg: &Segmentation, name: &str) -> u8 {
    let c = demo::bone_centre_voxel(study, name).expect("the phantom has this bone");
    let [nx, ny, _] = seg.labels.dims;
    seg.labels.data[c[0] + nx * (c[1] + ny * c[2])]
}

fn ops(left: u8, right: u8) -> Vec<Op> {
    vec![
        Op::AutoBones {
            lower_hu: 226,
            upper_hu: 3071,
        },
        Op::MirrorMesh {
            source: MeshRef::Part(left),
            plane: MirrorPlane::Sagittal { x_mm: 0.0 },
            iso_hu: 720.0,
            registration: None,
        },
        Op::RegisterMesh {
            moving: MeshRef::Mesh(1),
            fixed: MeshRef::Part(right),
            follow: vec![],
            iso_hu: 720.0,
            registration: None,
        },
    ]
}

#[test]
fn mirrored_left_talus_registers_onto_the_right_talus() {
    let study = demo::generate(&DemoParams::default());
    let auto = replay(&study.ct, &ops(0, 0)[..1]).unwrap();
    let (left, right) = (
        auto_label(&study, &auto, "left talus"),
        auto_label(&study, &auto, "right talus"),
    );
    assert!(left != 0 && right != 0 && left != right);
    let ops = ops(left, right);
    let seg = replay(&study.ct, &ops).unwrap();
    assert_eq!(seg.meshes.objects.len(), 1);
    let talus = &seg.meshes.objects[0];
    let reg = talus.report.registration.as_ref().unwrap();
    println!(
        "mirrored left talus (label {left}) onto right talus (label {right}): RMS {:.3} mm, \
         overlap {:.3}, {} iterations, {} triangles, volume {:.0} mm³, area {:.0} mm², STL SHA-256 {}",
        reg.rms_mm,
        reg.overlap,
        reg.iterations,
        talus.report.triangles,
        talus.report.volume_mm3,
        talus.report.area_mm2,
        talus.report.stl_sha256
    );
    assert_eq!(
        talus.name,
        format!(
            "{} (mirrored)",
            auto.parts.iter().find(|p| p.label == left).unwrap().name
        )
    );
    assert!(reg.rms_mm < 1.0, "RMS {} mm", reg.rms_mm);
    assert!(reg.overlap >= 0.9, "overlap {}", reg.overlap);
    // The phantom's left talus is 3 % larger than the right: the volumes differ by ~9 %.
    let right_part = seg.parts.iter().find(|p| p.label == right).unwrap();
    let ratio = talus.report.volume_mm3 / right_part.volume_mm3;
    assert!((1.0..1.2).contains(&ratio), "volume ratio {ratio}");
    assert_eq!(talus.report.stl_sha256, REGISTERED_TALUS_STL_SHA256);

    // The same design through its link replays to the same bytes.
    let state = DesignState {
        study_fingerprint: osteon::volume::sha256_hex(&study.ct),
        app_version: "test".into(),
        ops: ops.clone(),
        view: ViewState::default(),
    };
    let back = decode_link(&encode_link(&state).unwrap()).unwrap();
    assert_eq!(back.ops, ops);
    let again = replay(&study.ct, &back.ops).unwrap();
    assert_eq!(again.meshes, seg.meshes);
}

#[test]
fn a_bad_mesh_op_in_a_design_names_the_operation_and_the_reason() {
    let study = demo::generate(&DemoParams::coarse(2.0));
    let ops = vec![
        Op::AutoBones {
            lower_hu: 226,
            upper_hu: 3071,
        },
        Op::RegisterMesh {
            moving: MeshRef::Mesh(4),
            fixed: MeshRef::Part(1),
            follow: vec![],
            iso_hu: 720.0,
            registration: None,
        },
    ];
    let (n, e) = replay(&study.ct, &ops).unwrap_err();
    assert_eq!(n, 1);
    assert!(matches!(e, ReplayError::Mesh(_)));
    assert!(e.to_string().contains("no mesh object 4"), "{e}");
}

/// The protocol's alignment step: the mirrored talus follows the registration of the
/// mirrored calcaneus onto the affected side's calcaneus, mirrored across the fitted
/// symmetry plane. The talus is never registered itself, yet it lands on the right talus.
/// With the settings of links made before they were pinned, and with the current ones.
#[test]
fn the_mirrored_talus_follows_the_calcaneus_onto_the_other_side() {
    follow_the_calcaneus(false);
}

#[test]
fn with_pinned_settings_the_mirrored_talus_follows_the_calcaneus_onto_the_other_side() {
    follow_the_calcaneus(true);
}

fn follow_the_calcaneus(pinned: bool) {
    use osteon::design::meshes::{fitted_plane_settings, register_settings};
    let study = demo::generate(&DemoParams::default());
    let auto = replay(&study.ct, &ops(0, 0)[..1]).unwrap();
    let label = |name: &str| auto_label(&study, &auto, name);
    let mirror = |label: u8| Op::MirrorMesh {
        source: MeshRef::Part(label),
        plane: MirrorPlane::Fitted,
        iso_hu: 720.0,
        registration: pinned.then(fitted_plane_settings),
    };
    let ops = vec![
        ops(0, 0).remove(0),
        mirror(label("left calcaneus")),
        mirror(label("left talus")),
        Op::RegisterMesh {
            moving: MeshRef::Mesh(1),
            fixed: MeshRef::Part(label("right calcaneus")),
            follow: vec![2],
            iso_hu: 720.0,
            registration: pinned.then(register_settings),
        },
    ];
    let seg = replay(&study.ct, &ops).unwrap();
    let (calc, talus) = (&seg.meshes.objects[0], &seg.meshes.objects[1]);
    let plane = talus.report.plane.as_ref().unwrap();
    let calc_reg = calc.report.registration.as_ref().unwrap();
    assert_eq!(
        talus
            .report
            .registration
            .as_ref()
            .unwrap()
            .followed
            .as_deref(),
        Some(calc.name.as_str())
    );
    let right_talus = osteon::surface::mc::label_surface(
        &study.ct,
        &seg.labels,
        label("right talus"),
        &osteon::surface::mc::McParams { iso_hu: 720.0 },
    )
    .unwrap();
    let dev = osteon::mesh::distance::deviation(&talus.mesh, &right_talus).unwrap();
    println!(
        "pinned settings {pinned}: fitted plane normal {:?} through {:?} (fit RMS {:.3} mm, asymmetry {:.2}°); calcaneus \
         RMS {:.3} mm overlap {:.3}; following talus to right talus: mean {:.3} mm, RMS {:.3} mm",
        plane.normal,
        plane.point_mm,
        plane.rms_mm.unwrap(),
        plane.asymmetry_deg.unwrap(),
        calc_reg.rms_mm,
        calc_reg.overlap,
        dev.mean_mm,
        dev.rms_mm
    );
    assert!(plane.fitted && plane.normal[0] > 0.99);
    assert!(calc_reg.rms_mm < 1.0 && calc_reg.overlap >= 0.9);
    // The phantom's left talus is 3 % larger and the calcaneus 2 % smaller than the
    // right ones, so the follower does not fit exactly; a wrong pose would be centimetres off.
    assert!(dev.rms_mm < 1.5, "talus deviation RMS {} mm", dev.rms_mm);
}

#[test]
fn a_link_made_before_the_settings_were_pinned_replays_to_the_same_bytes() {
    let design = decode_link(LINK_BEFORE_PINNED_SETTINGS).unwrap();
    assert!(matches!(
        design.ops.last(),
        Some(Op::RegisterMesh {
            registration: None,
            ..
        })
    ));
    let study = demo::generate(&DemoParams::default());
    assert_eq!(
        design.study_fingerprint,
        osteon::volume::sha256_hex(&study.ct)
    );
    let seg = replay(&study.ct, &design.ops).unwrap();
    assert_eq!(
        seg.meshes.objects[0].report.stl_sha256,
        REGISTERED_TALUS_STL_SHA256
    );
    // Opened and written again by this app, it stays a schema-1 link with the same ops.
    let again = encode_link(&design).unwrap();
    assert!(again.starts_with("#d=1."), "{again}");
    assert_eq!(decode_link(&again).unwrap(), design);
}

#[test]
fn a_new_registration_pins_its_settings_and_its_link_replays_the_same_bytes() {
    let study = demo::generate(&DemoParams::default());
    let auto = replay(&study.ct, &ops(0, 0)[..1]).unwrap();
    let (left, right) = (
        auto_label(&study, &auto, "left talus"),
        auto_label(&study, &auto, "right talus"),
    );
    let mut ops = ops(left, right);
    if let Some(Op::RegisterMesh { registration, .. }) = ops.last_mut() {
        *registration = Some(osteon::design::meshes::register_settings());
    }
    let seg = replay(&study.ct, &ops).unwrap();
    let talus = &seg.meshes.objects[0];
    let reg = talus.report.registration.as_ref().unwrap();
    println!(
        "pinned settings: RMS {:.4} mm, overlap {:.3}, {} iterations, STL SHA-256 {}",
        reg.rms_mm, reg.overlap, reg.iterations, talus.report.stl_sha256
    );
    assert!(reg.rms_mm < 1.0 && reg.overlap >= 0.9, "{reg:?}");
    assert_eq!(talus.report.stl_sha256, REGISTERED_TALUS_PINNED_STL_SHA256);
    let state = DesignState {
        study_fingerprint: osteon::volume::sha256_hex(&study.ct),
        app_version: "test".into(),
        ops: ops.clone(),
        view: ViewState::default(),
    };
    let link = encode_link(&state).unwrap();
    assert!(
        link.starts_with("#d=4."),
        "pinned settings with the thinned pose search need schema 4"
    );
    let back = decode_link(&link).unwrap();
    assert_eq!(back.ops, ops);
    assert_eq!(replay(&study.ct, &back.ops).unwrap().meshes, seg.meshes);
}

#[test]
fn settings_pinned_before_the_thinned_pose_search_replay_to_their_bytes() {
    use osteon::mesh::register::RegisterParams;
    // The settings as such a link holds them: JSON without `thin_pose_target`.
    let before = RegisterParams {
        init_iterations: 12,
        pose_rounds: 3,
        ..osteon::design::meshes::register_settings()
    };
    let mut json = serde_json::to_value(&before).unwrap();
    assert!(json
        .as_object_mut()
        .unwrap()
        .remove("thin_pose_target")
        .is_some());
    let settings: RegisterParams = serde_json::from_value(json).unwrap();
    assert!(!settings.thin_pose_target);
    let study = demo::generate(&DemoParams::default());
    let auto = replay(&study.ct, &ops(0, 0)[..1]).unwrap();
    let mut ops = ops(
        auto_label(&study, &auto, "left talus"),
        auto_label(&study, &auto, "right talus"),
    );
    if let Some(Op::RegisterMesh { registration, .. }) = ops.last_mut() {
        *registration = Some(settings);
    }
    let seg = replay(&study.ct, &ops).unwrap();
    assert_eq!(
        seg.meshes.objects[0].report.stl_sha256,
        REGISTERED_TALUS_PINNED_BEFORE_THINNING_STL_SHA256
    );
}
