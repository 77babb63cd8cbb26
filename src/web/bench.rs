//! Browser side of the benchmark: the same kernels as `osteon bench`, timed with
//! `performance.now()` in whatever context (page or worker) calls it. The inputs of one
//! size are kept between calls (one `Bench` per page).

use super::to_js;
use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

thread_local! {
    static BENCH: RefCell<Option<crate::bench::Bench>> = const { RefCell::new(None) };
}

fn now_ms() -> f64 {
    js_sys::Reflect::get(&js_sys::global(), &"performance".into())
        .ok()
        .and_then(|p| p.dyn_into::<web_sys::Performance>().ok())
        .map(|p| p.now())
        .unwrap_or_else(js_sys::Date::now)
}

/// Runs one kernel `runs` times on a study of `size` ("512x512x300"; empty = the
/// default bench size); returns `{kernel, median_ms, min_ms, ...}`.
#[wasm_bindgen(js_name = benchKernel)]
pub fn bench_kernel(kernel: &str, runs: usize, size: &str) -> Result<JsValue, JsError> {
    let dims = if size.is_empty() {
        crate::bench::DEFAULT_SIZE
    } else {
        crate::bench::parse_size(size).map_err(|e| JsError::new(&e))?
    };
    let result = BENCH.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().map(|b| b.params().dims) != Some(dims) {
            *slot = None; // free the previous size first
            *slot = Some(crate::bench::Bench::new(dims));
        }
        match slot.as_mut() {
            Some(b) => b.run(kernel, runs, &mut now_ms),
            None => Err("bench inputs missing".into()),
        }
    });
    to_js(&result.map_err(|e| JsError::new(&e))?)
}

/// The benchmark kernels: `[{name, what, volume}]`.
#[wasm_bindgen(js_name = benchKernels)]
pub fn bench_kernels() -> Result<JsValue, JsError> {
    to_js(&crate::bench::KERNELS)
}
