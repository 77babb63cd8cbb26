//! Browser side of the benchmark: the same kernels as `osteon bench`, timed with
//! `performance.now()` in whatever context (page or worker) calls it.

use super::to_js;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

fn now_ms() -> f64 {
    js_sys::Reflect::get(&js_sys::global(), &"performance".into())
        .ok()
        .and_then(|p| p.dyn_into::<web_sys::Performance>().ok())
        .map(|p| p.now())
        .unwrap_or_else(js_sys::Date::now)
}

/// Runs one kernel `reps` times; returns `{kernel, median_ms, min_ms, ...}`.
#[wasm_bindgen(js_name = benchKernel)]
pub fn bench_kernel(kernel: &str, reps: usize) -> Result<JsValue, JsError> {
    let result = crate::bench::run(kernel, reps, &mut now_ms).map_err(|e| JsError::new(&e))?;
    to_js(&result)
}

/// Names of the benchmark kernels.
#[wasm_bindgen(js_name = benchKernels)]
pub fn bench_kernels() -> Vec<String> {
    crate::bench::KERNELS
        .iter()
        .map(|s| s.to_string())
        .collect()
}
