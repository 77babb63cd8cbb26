//! Browser tier: runs in headless Chromium through `wasm-pack test --headless --chrome`.
//! Checks that the wasm build reads a DICOM series to the same bits as the native build,
//! and that the three-d 3-D view draws on a real WebGL2 canvas.
#![cfg(target_arch = "wasm32")]

use osteon::demo;
use osteon::dicom::{self, FileBytes, ReadOptions};
use osteon::progress::NoProgress;
use osteon::volume::sha256_hex;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[path = "common/golden.rs"]
mod golden;

#[wasm_bindgen_test]
fn dicom_series_reads_to_the_same_hu_volume_as_native() {
    let files = golden::small_demo_series();
    let bytes: Vec<FileBytes> = files
        .iter()
        .map(|(n, b)| FileBytes { name: n, bytes: b })
        .collect();
    let scan = dicom::scan(&bytes);
    assert_eq!(
        scan.series.len(),
        1,
        "one series expected, errors: {:?}",
        scan.errors
    );
    let loaded = dicom::read_series(
        &bytes,
        &scan,
        scan.series[0].id,
        &ReadOptions::default(),
        &mut NoProgress,
    )
    .expect("series loads in wasm");
    assert_eq!(sha256_hex(&loaded.volume), golden::SMALL_DEMO_SERIES_SHA256);
}

#[wasm_bindgen_test]
fn demo_phantom_is_bit_identical_to_native() {
    let study = demo::generate(&golden::small_demo_params());
    assert_eq!(sha256_hex(&study.ct), golden::SMALL_DEMO_CT_SHA256);
}

#[wasm_bindgen_test]
fn viewer_draws_a_surface_on_a_webgl2_canvas() {
    let document = web_sys::window().unwrap().document().unwrap();
    let canvas: web_sys::HtmlCanvasElement = document
        .create_element("canvas")
        .unwrap()
        .dyn_into()
        .unwrap();
    canvas.set_width(64);
    canvas.set_height(64);
    let mut viewer = osteon::web::Viewer::new(canvas.clone()).expect("WebGL2 viewer");
    // A tetrahedron around the origin, outward winding.
    let p = vec![
        0.0f32, 0.0, 20.0, 20.0, -10.0, -10.0, -20.0, -10.0, -10.0, 0.0, 20.0, -10.0,
    ];
    let idx = vec![0u32, 1, 3, 0, 2, 1, 0, 3, 2, 1, 2, 3];
    viewer.set_surface(p, vec![], idx);
    assert!(viewer.has_surface());
    viewer.render_3d(64, 64, 20.0, 15.0, 1.0);
    let gl: web_sys::WebGl2RenderingContext = canvas
        .get_context("webgl2")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    let mut px = vec![0u8; 64 * 64 * 4];
    gl.read_pixels_with_opt_u8_array(
        0,
        0,
        64,
        64,
        web_sys::WebGl2RenderingContext::RGBA,
        web_sys::WebGl2RenderingContext::UNSIGNED_BYTE,
        Some(&mut px),
    )
    .unwrap();
    let background = [px[0], px[1], px[2]];
    let lit = px
        .chunks(4)
        .filter(|c| [c[0], c[1], c[2]] != background)
        .count();
    assert!(lit > 100, "only {lit} pixels differ from the background");
}
