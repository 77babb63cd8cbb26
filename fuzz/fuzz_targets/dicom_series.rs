//! Several dropped files (input split on `FILE_SEPARATOR`): expand archives, scan,
//! group into series and read each series.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    osteon_fuzz::read_all_series(osteon_fuzz::split_files(data));
});
