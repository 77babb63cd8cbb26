//! The only place that knows about `wasm_bindgen` (wasm32 only).
//!
//! Two handles cross into JavaScript:
//! - [`Session`] lives in the compute Web Worker: it holds the dropped files, reads the
//!   series, generates the demo study and extracts surfaces;
//! - [`Viewer`] lives on the page: it keeps a copy of the HU volume for the MPR views
//!   and draws the 3-D view with three-d.
//!
//! Errors cross as `JsError` with the plain-language message of the pure layer.

mod bench;
mod design;
mod session;
mod session_history;
mod session_mesh;
mod session_print;
mod session_recovery;
mod viewer;

pub use session::Session;
pub use viewer::Viewer;

use wasm_bindgen::prelude::*;

/// Installs the panic hook so a Rust panic shows its message in the console and the
/// worker's error event instead of "unreachable executed".
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// Starts the compute thread pool (threaded build only; `initThreadPool(n)` in the worker
/// before any kernel runs). See `src/parallel.rs`.
#[cfg(feature = "parallel")]
pub use wasm_bindgen_rayon::init_thread_pool;

/// Threads the kernels of this wasm instance run on: the pool's size in the threaded
/// build (after `initThreadPool`), 1 in the default build.
#[wasm_bindgen(js_name = computeThreads)]
pub fn compute_threads() -> usize {
    crate::parallel::threads()
}

/// Distinct pool threads that have run a unit of work so far (0 in the default build).
#[wasm_bindgen(js_name = computeThreadsUsed)]
pub fn compute_threads_used() -> u32 {
    crate::parallel::pool_threads_used()
}

/// Version of the app, shown in the UI and written into design links.
#[wasm_bindgen(js_name = appVersion)]
pub fn app_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

fn to_js<T: serde::Serialize>(value: &T) -> Result<JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&e.to_string()))
}
