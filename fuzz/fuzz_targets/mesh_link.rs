//! The implant-only mesh link decoder (`#m=1.…`), three ways per input so the fuzzer
//! gets past the checksum: the bytes as link text; the bytes as the deflated payload
//! (valid checksum); the bytes as the mesh body (deflated, valid checksum). A decoded
//! mesh must be usable as the app uses it (measured, encoded again) and, when it
//! encodes again, decode to the same name and connectivity.
#![no_main]
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use osteon::design::mesh_link::{decode_mesh_link, encode_mesh_link, DEFAULT_STEP_MM};
use osteon::mesh::measure::volume_and_area;
use sha2::{Digest, Sha256};

fn wrap(deflated: &[u8]) -> String {
    let mut payload = Sha256::digest(deflated)[..4].to_vec();
    payload.extend_from_slice(deflated);
    format!("#m=1.{}", URL_SAFE_NO_PAD.encode(payload))
}

fn check(link: &str) {
    let Ok(shared) = decode_mesh_link(link) else {
        return;
    };
    let n = shared.mesh.positions_mm.len();
    assert!(shared.mesh.triangles.iter().flatten().all(|&v| (v as usize) < n));
    assert!(shared.mesh.positions_mm.iter().flatten().all(|c| c.is_finite()));
    let _ = volume_and_area(&shared.mesh);
    if let Ok(again) = encode_mesh_link(&shared, DEFAULT_STEP_MM) {
        let back = decode_mesh_link(&again).expect("a re-encoded mesh link decodes");
        assert_eq!(back.name, shared.name);
        assert_eq!(back.mesh.triangles, shared.mesh.triangles);
        assert_eq!(back.mesh.positions_mm.len(), n);
    }
}

fuzz_target!(|data: &[u8]| {
    check(&String::from_utf8_lossy(data));
    check(&wrap(data));
    check(&wrap(&miniz_oxide::deflate::compress_to_vec(data, 1)));
});
