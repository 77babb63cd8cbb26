//! One dropped file: scan it and read every series it holds.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    osteon_fuzz::read_all_series(vec![data.to_vec()]);
});
