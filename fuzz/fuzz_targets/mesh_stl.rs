//! The STL reader on arbitrary bytes; a mesh it returns must pass validation.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(mesh) = osteon::mesh::io::read_stl(data) {
        assert!(osteon::mesh::io::validate(&mesh).is_ok());
    }
});
