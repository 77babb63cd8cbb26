//! The design link: `#d=<schema>.<base64url(payload)>` in the URL fragment, which
//! browsers never send to a server.
//!
//! Payload bytes: `checksum[4] || deflate(JSON of DesignState)`, where the checksum is
//! the first four bytes of SHA-256 over the deflated bytes. The schema number in front
//! lets an older link be migrated and a newer one be refused with a clear message.
//! Inflation is capped at [`MAX_INFLATED_BYTES`] so a crafted link cannot exhaust memory.
// Input-derived data never reaches unwrap/expect here (tests may use them).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

use super::state::{DesignState, Op, SCHEMA_VERSION};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

/// Largest inflated design accepted from a link.
pub const MAX_INFLATED_BYTES: usize = 4 << 20;
/// Longest link text accepted, checked before it is decoded: a design of
/// [`MAX_INFLATED_BYTES`] deflates to far less, so anything longer is not a design link.
pub const MAX_LINK_BYTES: usize = 8 << 20;
/// Prefix of the fragment that carries a design.
pub const FRAGMENT_PREFIX: &str = "#d=";

/// Why a link cannot be opened. Messages say what to do.
#[derive(thiserror::Error, Debug, PartialEq)]
pub enum LinkError {
    #[error("this is not a design link: it should contain '#d=' followed by the design; ask for the link again")]
    NotALink,
    #[error("the design link is damaged ({0}); ask the sender to copy it again")]
    Damaged(String),
    #[error("this design link was made by a newer Osteon (design schema {found}, this app reads up to {supported}); open it with the newer version")]
    TooNew { found: u16, supported: u16 },
    #[error("the design in this link is larger than {limit} bytes ({what}, limit design::link::{constant}); it is refused to protect this computer — check that the link is the one you were sent, or raise the limit in a native build")]
    TooLarge {
        limit: usize,
        what: &'static str,
        constant: &'static str,
    },
    #[error("the design could not be written: {0}")]
    Encode(String),
}

fn checksum(bytes: &[u8]) -> [u8; 4] {
    let d = Sha256::digest(bytes);
    [d[0], d[1], d[2], d[3]]
}

/// Encodes a design as a URL fragment `#d=<schema>.<payload>`.
pub fn encode_link(state: &DesignState) -> Result<String, LinkError> {
    let json = serde_json::to_vec(state).map_err(|e| LinkError::Encode(e.to_string()))?;
    // JSON has no NaN or infinity (serde_json writes `null`): a link that could not be
    // opened again must not be handed out, so check it reads back to the same design.
    if serde_json::from_slice::<DesignState>(&json).ok().as_ref() != Some(state) {
        return Err(LinkError::Encode(
            "a number of the design (view angles, window or a parameter) is not finite, so \
             it cannot be written into a link; reset the view and make the link again"
                .into(),
        ));
    }
    let deflated = miniz_oxide::deflate::compress_to_vec(&json, 9);
    let mut payload = checksum(&deflated).to_vec();
    payload.extend_from_slice(&deflated);
    Ok(format!(
        "{FRAGMENT_PREFIX}{}.{}",
        schema_needed(state),
        URL_SAFE_NO_PAD.encode(payload)
    ))
}

/// The oldest schema that holds `state`: a design that uses nothing added since schema 1
/// keeps its schema-1 link, which older apps open; one with articular marks or supports
/// on the build plate is schema 2; one with pinned registration settings, the other
/// smoothing modes, a repair or a deviation map is schema 3; one whose slice or plate op
/// simplifies the outlines (a non-zero `outline_tolerance_um`) or whose registration
/// searches poses against thinned targets (`thin_pose_target`) is schema 4. Older apps
/// refuse a newer schema as "made by a newer Osteon" instead of as damaged.
pub fn schema_needed(state: &DesignState) -> u16 {
    state.ops.iter().map(op_schema).max().unwrap_or(1)
}

/// The oldest schema that holds `op` (see [`schema_needed`]).
fn op_schema(op: &Op) -> u16 {
    match op {
        Op::SlicePrint { scan } | Op::BuildPlate { scan, .. }
            if scan.outline_tolerance_um != 0.0 =>
        {
            4
        }
        Op::RegisterMesh {
            registration: Some(r),
            ..
        }
        | Op::MirrorMesh {
            registration: Some(r),
            ..
        } => {
            if r.thin_pose_target {
                4
            } else {
                3
            }
        }
        Op::SmoothMeshBy { .. } | Op::RepairMesh { .. } | Op::CompareMeshes { .. } => 3,
        Op::BuildPlate { supports: true, .. } => 2,
        op if op.is_mark_op() => 2,
        _ => 1,
    }
}

/// Decodes a design from a whole URL, a fragment (`#d=…`) or the bare `<schema>.<payload>`.
pub fn decode_link(link: &str) -> Result<DesignState, LinkError> {
    if link.len() > MAX_LINK_BYTES {
        return Err(LinkError::TooLarge {
            limit: MAX_LINK_BYTES,
            what: "as link text",
            constant: "MAX_LINK_BYTES",
        });
    }
    let body = match link.find(FRAGMENT_PREFIX) {
        Some(at) => &link[at + FRAGMENT_PREFIX.len()..],
        None if link.contains('.') && !link.contains('/') => link,
        None => return Err(LinkError::NotALink),
    };
    let (version, payload) = body.split_once('.').ok_or(LinkError::NotALink)?;
    let version: u16 = version
        .parse()
        .map_err(|_| LinkError::Damaged("the schema number is not a number".into()))?;
    if version > SCHEMA_VERSION {
        return Err(LinkError::TooNew {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| LinkError::Damaged("it is not valid base64url text".into()))?;
    if bytes.len() < 5 {
        return Err(LinkError::Damaged("it is too short".into()));
    }
    let (sum, deflated) = bytes.split_at(4);
    if sum != checksum(deflated) {
        return Err(LinkError::Damaged("the checksum does not match".into()));
    }
    let json = miniz_oxide::inflate::decompress_to_vec_with_limit(deflated, MAX_INFLATED_BYTES)
        .map_err(|e| {
            if e.status == miniz_oxide::inflate::TINFLStatus::HasMoreOutput {
                LinkError::TooLarge {
                    limit: MAX_INFLATED_BYTES,
                    what: "once unpacked",
                    constant: "MAX_INFLATED_BYTES",
                }
            } else {
                LinkError::Damaged("it does not unpack".into())
            }
        })?;
    let state = migrate(version, &json)?;
    // Every Osteon writes the oldest schema that holds the design, so a different number
    // is damage: the checksum covers the payload, not the number in front of it.
    let needed = schema_needed(&state);
    if version != needed {
        return Err(LinkError::Damaged(format!(
            "its schema number {version} does not match its content (schema {needed})"
        )));
    }
    Ok(state)
}

/// Reads a design of schema `version` (≤ current) into the current schema.
fn migrate(version: u16, json: &[u8]) -> Result<DesignState, LinkError> {
    match version {
        // Schemas 2 to 4 only add ops and optional fields (absent = the older meaning),
        // so older JSON reads as it is. A later schema that changes a meaning adds an arm
        // that converts the old JSON.
        1..=4 => serde_json::from_slice(json)
            .map_err(|e| LinkError::Damaged(format!("its content is not a design: {e}"))),
        other => Err(LinkError::Damaged(format!(
            "design schema {other} does not exist"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::design::{Op, ViewState};

    fn sample() -> DesignState {
        DesignState {
            study_fingerprint: "fa28e97d9aed18fc030cf4c1cda8e96de26f058ff5291cae25eff50c3704479b"
                .into(),
            app_version: "0.1.0".into(),
            ops: vec![Op::OpenDemo { seed: 1 }],
            view: ViewState {
                cursor: [120, 160, 40],
                window_hu: [400.0, 1800.0],
                orbit: [25.0, 20.0, 1.0],
                ..ViewState::default()
            },
        }
    }

    #[test]
    fn a_design_round_trips_through_its_link() {
        let link = encode_link(&sample()).unwrap();
        assert!(link.starts_with("#d=1."));
        assert_eq!(decode_link(&link).unwrap(), sample());
        let url = format!("http://127.0.0.1:8080/{link}");
        assert_eq!(decode_link(&url).unwrap(), sample());
    }

    #[test]
    fn the_same_design_always_gives_the_same_link() {
        assert_eq!(
            encode_link(&sample()).unwrap(),
            encode_link(&sample()).unwrap()
        );
    }

    #[test]
    fn a_changed_character_is_detected() {
        let link = encode_link(&sample()).unwrap();
        let mut chars: Vec<char> = link.chars().collect();
        let at = chars.len() - 3;
        chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
        let broken: String = chars.into_iter().collect();
        assert!(matches!(decode_link(&broken), Err(LinkError::Damaged(_))));
    }

    #[test]
    fn a_newer_schema_is_refused_with_a_clear_message() {
        let link = encode_link(&sample())
            .unwrap()
            .replacen("#d=1.", "#d=9.", 1);
        let e = decode_link(&link).unwrap_err();
        assert_eq!(
            e,
            LinkError::TooNew {
                found: 9,
                supported: SCHEMA_VERSION
            }
        );
        assert!(e.to_string().contains("newer Osteon"));
    }

    #[test]
    fn not_a_link_and_garbage_are_refused() {
        assert_eq!(
            decode_link("http://example/").unwrap_err(),
            LinkError::NotALink
        );
        assert!(matches!(
            decode_link("#d=1.!!!"),
            Err(LinkError::Damaged(_))
        ));
        assert!(matches!(decode_link("#d=1."), Err(LinkError::Damaged(_))));
        assert!(matches!(
            decode_link("#d=x.AAAA"),
            Err(LinkError::Damaged(_))
        ));
    }

    #[test]
    fn a_decompression_bomb_is_refused() {
        let zeros = vec![b' '; MAX_INFLATED_BYTES + 10];
        let deflated = miniz_oxide::deflate::compress_to_vec(&zeros, 9);
        let mut payload = checksum(&deflated).to_vec();
        payload.extend_from_slice(&deflated);
        let link = format!("#d=1.{}", URL_SAFE_NO_PAD.encode(payload));
        assert_eq!(
            decode_link(&link).unwrap_err(),
            LinkError::TooLarge {
                limit: MAX_INFLATED_BYTES,
                what: "once unpacked",
                constant: "MAX_INFLATED_BYTES",
            }
        );
        let message = decode_link(&link).unwrap_err().to_string();
        assert!(
            message.contains("design::link::MAX_INFLATED_BYTES"),
            "{message}"
        );
    }

    #[test]
    fn a_design_that_cannot_round_trip_is_not_encoded() {
        let mut s = sample();
        s.view.orbit[0] = f64::NAN;
        assert!(matches!(encode_link(&s), Err(LinkError::Encode(_))));
        s.view.orbit[0] = f64::INFINITY;
        assert!(matches!(encode_link(&s), Err(LinkError::Encode(_))));
    }

    #[test]
    fn an_absurdly_long_link_is_refused_before_decoding() {
        let link = format!("#d=1.{}", "A".repeat(MAX_LINK_BYTES));
        let e = decode_link(&link).unwrap_err();
        assert!(matches!(e, LinkError::TooLarge { limit, .. } if limit == MAX_LINK_BYTES));
        assert!(e.to_string().contains("MAX_LINK_BYTES"), "{e}");
    }

    #[test]
    fn unknown_fields_are_refused_rather_than_ignored() {
        let json = br#"{"study_fingerprint":"x","app_version":"0","ops":[],"view":{"cursor":[0,0,0],"window_hu":[0,1],"orbit":[0,0,1]},"patient_name":"X"}"#;
        let deflated = miniz_oxide::deflate::compress_to_vec(json, 9);
        let mut payload = checksum(&deflated).to_vec();
        payload.extend_from_slice(&deflated);
        let link = format!("#d=1.{}", URL_SAFE_NO_PAD.encode(payload));
        assert!(matches!(decode_link(&link), Err(LinkError::Damaged(_))));
    }

    fn link_of_json(schema: u16, json: &[u8]) -> String {
        let deflated = miniz_oxide::deflate::compress_to_vec(json, 9);
        let mut payload = checksum(&deflated).to_vec();
        payload.extend_from_slice(&deflated);
        format!("#d={schema}.{}", URL_SAFE_NO_PAD.encode(payload))
    }

    #[test]
    fn a_design_with_articular_marks_is_schema_2_and_a_schema_1_link_still_opens() {
        let mut state = sample();
        assert!(encode_link(&state).unwrap().starts_with("#d=1."));
        state.ops.push(Op::SuggestArticular {
            target: crate::design::MeshRef::Part(3),
            iso_hu: 720.0,
            max_gap_mm: 3.0,
        });
        state.ops.push(Op::MarkArticular {
            target: crate::design::MeshRef::Mesh(1),
            iso_hu: 720.0,
            stroke_mm: vec![[1.25, -2.5, 30.0], [1.5, -2.25, 30.5]],
            radius_mm: 3.0,
            erase: true,
            runs: Some(vec![2]),
        });
        state.ops.push(Op::ClearArticular {
            target: crate::design::MeshRef::Part(3),
        });
        let link = encode_link(&state).unwrap();
        assert!(link.starts_with("#d=2."), "{link}");
        assert_eq!(decode_link(&link).unwrap(), state);
        // A schema-1 link written by an app before marks and plate supports: a build
        // plate op without the supports field reads as a plate without supports.
        let json = br#"{"study_fingerprint":"x","app_version":"0.1.0","ops":[{"op":"open_demo","seed":1},{"op":"build_plate","sizes_percent":[95.0,100.0,105.0],"coupons":2,"spacing_mm":10.0,"margin_mm":5.0,"machine_mm":[250.0,250.0,300.0],"scan":{"layer_um":30.0,"hatch_spacing_um":110.0,"laser_power_w":200.0,"scan_speed_mm_s":1000.0,"contour_count":2,"beam_offset_um":50.0,"chessboard":false,"size_mm":10.0,"rotation_deg":67.0}}],"view":{"cursor":[1,2,3],"window_hu":[0,1],"orbit":[0,0,1]}}"#;
        let old = decode_link(&link_of_json(1, json)).unwrap();
        assert!(matches!(
            old.ops[1],
            Op::BuildPlate {
                supports: false,
                ..
            }
        ));
        // It encodes back to a schema-1 link with the same JSON.
        let again = encode_link(&old).unwrap();
        assert!(again.starts_with("#d=1."));
        assert_eq!(decode_link(&again).unwrap(), old);
        // A plate with supports needs schema 2.
        let mut plated = old.clone();
        if let Op::BuildPlate { supports, .. } = &mut plated.ops[1] {
            *supports = true;
        }
        assert!(encode_link(&plated).unwrap().starts_with("#d=2."));
        assert!(matches!(
            decode_link(&link_of_json(5, json)),
            Err(LinkError::TooNew { found: 5, .. })
        ));
        // Simplified outlines need schema 4; the same plate with tolerance 0 keeps its
        // schema and its JSON.
        let mut simplified = old.clone();
        if let Op::BuildPlate { scan, .. } = &mut simplified.ops[1] {
            scan.outline_tolerance_um = 5.0;
        }
        let link = encode_link(&simplified).unwrap();
        assert!(link.starts_with("#d=4."), "{link}");
        assert_eq!(decode_link(&link).unwrap(), simplified);
    }

    #[test]
    fn a_design_with_the_schema_3_mesh_ops_is_schema_3_and_older_designs_keep_their_schema() {
        use crate::design::{MeshRef, MirrorPlane, Smoothing};
        let mut state = sample();
        // A registration without settings (made before they were pinned) stays schema 1.
        state.ops.push(Op::RegisterMesh {
            moving: MeshRef::Mesh(1),
            fixed: MeshRef::Part(2),
            follow: vec![],
            iso_hu: 720.0,
            registration: None,
        });
        assert!(encode_link(&state).unwrap().starts_with("#d=1."));
        // Settings as pinned before the thinned pose search (schema 3).
        let schema_3_settings = |current: crate::mesh::register::RegisterParams| {
            Some(crate::mesh::register::RegisterParams {
                thin_pose_target: false,
                ..current
            })
        };
        let schema_3_ops = [
            Op::MirrorMesh {
                source: MeshRef::Part(2),
                plane: MirrorPlane::Fitted,
                iso_hu: 720.0,
                registration: schema_3_settings(crate::design::meshes::fitted_plane_settings()),
            },
            Op::RegisterMesh {
                moving: MeshRef::Mesh(1),
                fixed: MeshRef::Part(2),
                follow: vec![],
                iso_hu: 720.0,
                registration: schema_3_settings(crate::design::meshes::register_settings()),
            },
            Op::SmoothMeshBy {
                target: MeshRef::Mesh(1),
                iso_hu: 720.0,
                method: Smoothing::Brush {
                    stroke_mm: vec![[1.5, 2.25, -3.0]],
                    radius_mm: 4.0,
                    iterations: 10,
                    lambda: 0.5,
                    mu: -0.53,
                },
            },
            Op::RepairMesh {
                target: MeshRef::Part(2),
                iso_hu: 720.0,
                weld_tolerance_mm: 1e-6,
                max_hole_edges: 1000,
            },
            Op::CompareMeshes {
                measured: MeshRef::Mesh(1),
                reference: MeshRef::Part(2),
                iso_hu: 720.0,
            },
        ];
        for op in schema_3_ops {
            let mut s3 = state.clone();
            s3.ops.push(op);
            let link = encode_link(&s3).unwrap();
            assert!(link.starts_with("#d=3."), "{:?}", s3.ops.last());
            assert!(!link_json(&link).contains("thin_pose_target"), "{link}");
            assert_eq!(decode_link(&link).unwrap(), s3);
            // The settings a new op records search poses against thinned targets: schema 4.
            let mut s4 = s3.clone();
            if let Some(
                Op::MirrorMesh { registration, .. } | Op::RegisterMesh { registration, .. },
            ) = s4.ops.last_mut()
            {
                if let Some(r) = registration {
                    r.thin_pose_target = true;
                    let link = encode_link(&s4).unwrap();
                    assert!(link.starts_with("#d=4."), "{link}");
                    assert_eq!(decode_link(&link).unwrap(), s4);
                }
            }
        }
        assert!(crate::design::meshes::register_settings().thin_pose_target);
        assert!(crate::design::meshes::fitted_plane_settings().thin_pose_target);
        // Unknown registration settings are refused, not ignored.
        let json = br#"{"study_fingerprint":"x","app_version":"0","ops":[{"op":"register_mesh","moving":{"mesh":1},"fixed":{"part":2},"follow":[],"iso_hu":720.0,"registration":{"bogus":1}}],"view":{"cursor":[1,2,3],"window_hu":[0,1],"orbit":[0,0,1]}}"#;
        assert!(matches!(
            decode_link(&link_of_json(3, json)),
            Err(LinkError::Damaged(_))
        ));
    }

    /// The JSON inside a link written by [`encode_link`].
    fn link_json(link: &str) -> String {
        let payload = link.split_once('.').unwrap().1;
        let bytes = URL_SAFE_NO_PAD.decode(payload).unwrap();
        String::from_utf8(miniz_oxide::inflate::decompress_to_vec(&bytes[4..]).unwrap()).unwrap()
    }

    #[test]
    fn a_link_whose_schema_number_was_changed_is_refused_as_damaged() {
        // The checksum covers the payload only; the number in front must still match the
        // content, or a changed digit would open the design under another schema.
        let mut state = sample();
        state.ops.push(Op::ClearArticular {
            target: crate::design::MeshRef::Part(3),
        });
        let link = encode_link(&state).unwrap();
        assert!(link.starts_with("#d=2."), "{link}");
        assert_eq!(decode_link(&link).unwrap(), state);
        for other in ['1', '3', '4'] {
            let changed = link.replacen("#d=2.", &format!("#d={other}."), 1);
            match decode_link(&changed) {
                Err(LinkError::Damaged(why)) => assert!(why.contains("schema number"), "{why}"),
                other => panic!("a changed schema number gave {other:?}"),
            }
        }
    }

    #[test]
    fn a_link_without_opacity_or_clip_still_decodes_and_new_view_fields_round_trip() {
        // A view as written before part opacity and the clip plane existed.
        let json = br#"{"study_fingerprint":"x","app_version":"0","ops":[],"view":{"cursor":[1,2,3],"window_hu":[0,1],"orbit":[0,0,1]}}"#;
        let deflated = miniz_oxide::deflate::compress_to_vec(json, 9);
        let mut payload = checksum(&deflated).to_vec();
        payload.extend_from_slice(&deflated);
        let old = decode_link(&format!("#d=1.{}", URL_SAFE_NO_PAD.encode(payload))).unwrap();
        assert_eq!(old.view.part_opacity, vec![]);
        assert_eq!(old.view.clip, None);
        // Unchanged designs keep the same JSON (no new keys written when unused).
        assert!(!serde_json::to_string(&sample()).unwrap().contains("clip"));
        let mut state = sample();
        state.view.part_opacity = vec![(3, 0.4)];
        state.view.clip = Some(crate::design::ClipPlane {
            axis: 2,
            position_mm: -12.5,
            flip: true,
        });
        state.ops.extend([
            Op::Paint {
                label: None,
                axis: Some(2),
                radius_mm: 2.5,
                stroke: vec![[1, 2, 3], [4, 5, 3]],
            },
            Op::Morphology {
                label: 1,
                kind: crate::design::Morph::Dilate,
                radius_mm: 1.0,
            },
            Op::CutPart {
                label: 1,
                axis: 2,
                index: 3,
                keep: [1, 1],
                line: [[0, 4], [9, 4]],
            },
        ]);
        assert_eq!(decode_link(&encode_link(&state).unwrap()).unwrap(), state);
    }
}
