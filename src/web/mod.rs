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
mod session_marks;
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

/// A JS object `{ positions: Float32Array, indices: Uint32Array, vertex_counts,
/// index_counts }` with `meshes` concatenated in order (patient mm), the layout the
/// viewer's part API takes.
fn flat_meshes<'a>(
    meshes: impl Iterator<Item = &'a crate::mesh::Mesh>,
) -> Result<js_sys::Object, JsError> {
    let (mut positions, mut indices, mut vertex_counts, mut index_counts) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for m in meshes {
        positions.extend(m.positions_mm.iter().flat_map(|p| p.map(|c| c as f32)));
        indices.extend(m.triangles.iter().flatten());
        vertex_counts.push(m.positions_mm.len() as u32);
        index_counts.push(3 * m.triangles.len() as u32);
    }
    let out = js_sys::Object::new();
    let set =
        |k: &str, v: JsValue| js_sys::Reflect::set(&out, &JsValue::from_str(k), &v).map(|_| ());
    set(
        "positions",
        js_sys::Float32Array::from(&positions[..]).into(),
    )
    .and_then(|_| set("indices", js_sys::Uint32Array::from(&indices[..]).into()))
    .and_then(|_| {
        set(
            "vertex_counts",
            js_sys::Uint32Array::from(&vertex_counts[..]).into(),
        )
    })
    .and_then(|_| {
        set(
            "index_counts",
            js_sys::Uint32Array::from(&index_counts[..]).into(),
        )
    })
    .map_err(|_| JsError::new("could not build the mesh arrays"))?;
    Ok(out)
}

fn to_js<T: serde::Serialize>(value: &T) -> Result<JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&e.to_string()))
}
