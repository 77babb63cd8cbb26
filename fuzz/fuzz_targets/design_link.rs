//! The design-link decoder, three ways per input so the fuzzer gets past the checksum:
//! the bytes as link text; the bytes as the deflated payload (valid checksum); the
//! bytes as the design JSON (deflated, valid checksum). A decoded design must encode
//! again and decode to itself.
#![no_main]
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use osteon::design::{decode_link, encode_link};
use sha2::{Digest, Sha256};

fn wrap(deflated: &[u8]) -> String {
    let mut payload = Sha256::digest(deflated)[..4].to_vec();
    payload.extend_from_slice(deflated);
    format!("#d=1.{}", URL_SAFE_NO_PAD.encode(payload))
}

fn check(link: &str) {
    if let Ok(state) = decode_link(link) {
        let again = encode_link(&state).expect("a decoded design encodes");
        assert_eq!(decode_link(&again).expect("re-encoded link decodes"), state);
    }
}

fuzz_target!(|data: &[u8]| {
    check(&String::from_utf8_lossy(data));
    check(&wrap(data));
    check(&wrap(&miniz_oxide::deflate::compress_to_vec(data, 1)));
});
