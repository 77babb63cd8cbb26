//! The demo study is bit-identical natively and on wasm32: the same SHA-256 of CT and
//! labels on both. Native: `cargo test --test demo_platforms`. wasm32 (node):
//! `CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner cargo test --target wasm32-unknown-unknown --test demo_platforms`.

use osteon::demo::{generate, DemoParams};
use osteon::volume::sha256_hex;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test;

use osteon::volume::labels_sha256_hex as labels_sha;

const COARSE_2MM: (&str, &str) = (
    "57eddf591b1ad62257a0c6ce057d3d71de0273d4142e5e4be6991d56517e79f4",
    "f2c54458a1e82287c7d5b7c2cee9f9cc53c2dce5a50e104c89db0188049530af",
);
const DEFAULT: (&str, &str) = (
    "fa28e97d9aed18fc030cf4c1cda8e96de26f058ff5291cae25eff50c3704479b",
    "b1f7e09d0c65bc600b5299b478f0c731a56495fe04e1ecb7fb4b25c9993588e8",
);

fn check(params: &DemoParams, expected: (&str, &str)) {
    let s = generate(params);
    let got = (sha256_hex(&s.ct), labels_sha(&s.labels));
    println!("{:?}: ct {} labels {}", params.dims, got.0, got.1);
    assert_eq!(
        (got.0.as_str(), got.1.as_str()),
        expected,
        "demo study differs from the reference digests"
    );
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn coarse_study_has_the_reference_digest() {
    check(&DemoParams::coarse(2.0), COARSE_2MM);
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn default_study_has_the_reference_digest() {
    check(&DemoParams::default(), DEFAULT);
}
