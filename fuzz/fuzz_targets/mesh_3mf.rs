//! The 3MF reader (zip + XML) on arbitrary bytes; every mesh it returns must pass validation.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(objects) = osteon::mesh::io::read_3mf(data) {
        for (_, mesh) in &objects {
            assert!(osteon::mesh::io::validate(mesh).is_ok());
        }
    }
});
