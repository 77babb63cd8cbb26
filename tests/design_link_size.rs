//! A typical design link — the demo study segmented into every bone, a few brush strokes,
//! a morphology step, a mirror and a registration — stays well under the 8 KB a URL can
//! comfortably carry in chat tools, and decodes back to the same design. The figures are
//! printed for the release note; decode time is measured by `osteon bench` (link_roundtrip).

use osteon::design::{
    decode_link, encode_link, DesignState, MeshRef, MirrorPlane, Morph, Op, ViewState,
};

fn stroke(start: [u32; 3], points: u32) -> Vec<[u32; 3]> {
    (0..points)
        .map(|n| [start[0] + n, start[1] + n / 3, start[2]])
        .collect()
}

fn typical_design() -> DesignState {
    let mut ops = vec![
        Op::OpenDemo { seed: 1 },
        Op::SetThreshold {
            lower_hu: 226,
            upper_hu: 3071,
        },
        Op::AutoBones {
            lower_hu: 226,
            upper_hu: 3071,
        },
        Op::RenamePart {
            label: 5,
            name: "left talus (healthy)".into(),
        },
    ];
    for (n, start) in [
        [120, 150, 60],
        [140, 160, 61],
        [300, 150, 60],
        [310, 170, 62],
    ]
    .into_iter()
    .enumerate()
    {
        ops.push(if n % 2 == 0 {
            Op::Paint {
                label: Some(3),
                axis: Some(2),
                radius_mm: 2.5,
                stroke: stroke(start, 40),
            }
        } else {
            Op::Erase {
                label: 3,
                axis: None,
                radius_mm: 1.5,
                stroke: stroke(start, 25),
            }
        });
    }
    ops.push(Op::Morphology {
        label: 3,
        kind: Morph::Close,
        radius_mm: 1.0,
    });
    ops.push(Op::FillCavities { label: 3 });
    ops.push(Op::MirrorMesh {
        source: MeshRef::Part(9),
        plane: MirrorPlane::Fitted,
        iso_hu: 720.0,
        registration: None,
    });
    ops.push(Op::MirrorMesh {
        source: MeshRef::Part(10),
        plane: MirrorPlane::Fitted,
        iso_hu: 720.0,
        registration: None,
    });
    ops.push(Op::RegisterMesh {
        moving: MeshRef::Mesh(2),
        fixed: MeshRef::Part(4),
        follow: vec![1],
        iso_hu: 720.0,
        registration: None,
    });
    DesignState {
        study_fingerprint: "3f".repeat(32),
        app_version: env!("CARGO_PKG_VERSION").into(),
        ops,
        view: ViewState::default(),
    }
}

#[test]
fn a_typical_design_link_is_small_and_round_trips() {
    let design = typical_design();
    let link = encode_link(&design).unwrap();
    let json = serde_json::to_string(&design).unwrap();
    eprintln!(
        "typical design: {} ops, JSON {} bytes, link {} characters",
        design.ops.len(),
        json.len(),
        link.len()
    );
    assert!(link.len() < 8 * 1024, "link is {} characters", link.len());
    assert_eq!(decode_link(&link).unwrap(), design);
}
