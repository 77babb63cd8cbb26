//! Design links in the browser: the page keeps the design as a plain object and asks
//! Rust to validate and encode it, so the link format has a single implementation.

use crate::design::{self, DesignState};
use wasm_bindgen::prelude::*;

/// Encodes a design object (`{study_fingerprint, app_version, ops, view}`) as `#d=…`.
#[wasm_bindgen(js_name = encodeDesignLink)]
pub fn encode_design_link(state: JsValue) -> Result<String, JsError> {
    let state: DesignState = serde_wasm_bindgen::from_value(state)
        .map_err(|e| JsError::new(&format!("the design is not valid: {e}")))?;
    design::encode_link(&state).map_err(|e| JsError::new(&e.to_string()))
}

/// Decodes a URL or fragment into a design object; errors say what is wrong.
#[wasm_bindgen(js_name = decodeDesignLink)]
pub fn decode_design_link(link: &str) -> Result<JsValue, JsError> {
    let state = design::decode_link(link).map_err(|e| JsError::new(&e.to_string()))?;
    super::to_js(&state)
}

/// Decodes an implant-only link (`#m=…`) into `{ name, positions, normals, indices,
/// triangles, volume_mm3, area_mm2 }` for the 3-D view (positions in patient mm).
#[wasm_bindgen(js_name = decodeMeshLink)]
pub fn decode_mesh_link(link: &str) -> Result<js_sys::Object, JsError> {
    let shared =
        design::mesh_link::decode_mesh_link(link).map_err(|e| JsError::new(&e.to_string()))?;
    let mesh = &shared.mesh;
    let (volume_mm3, area_mm2) = crate::mesh::measure::volume_and_area(mesh).map_err(|e| {
        JsError::new(&format!(
            "the implant in this link is not a closed surface: {e}"
        ))
    })?;
    // Area-weighted vertex normals for shading.
    let mut normals = vec![[0.0f64; 3]; mesh.positions_mm.len()];
    for t in &mesh.triangles {
        let [a, b, c] = t.map(|v| mesh.positions_mm[v as usize]);
        let (u, w) = (
            [b[0] - a[0], b[1] - a[1], b[2] - a[2]],
            [c[0] - a[0], c[1] - a[1], c[2] - a[2]],
        );
        let n = [
            u[1] * w[2] - u[2] * w[1],
            u[2] * w[0] - u[0] * w[2],
            u[0] * w[1] - u[1] * w[0],
        ];
        for &v in t {
            for k in 0..3 {
                normals[v as usize][k] += n[k];
            }
        }
    }
    let normals: Vec<f32> = normals
        .iter()
        .flat_map(|n| {
            let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt().max(1e-12);
            n.map(|c| (c / len) as f32)
        })
        .collect();
    let positions: Vec<f32> = mesh
        .positions_mm
        .iter()
        .flat_map(|p| p.map(|c| c as f32))
        .collect();
    let indices: Vec<u32> = mesh.triangles.iter().flatten().copied().collect();
    let out = js_sys::Object::new();
    let set =
        |k: &str, v: JsValue| js_sys::Reflect::set(&out, &JsValue::from_str(k), &v).map(|_| ());
    set("name", JsValue::from_str(&shared.name))
        .and_then(|_| {
            set(
                "positions",
                js_sys::Float32Array::from(&positions[..]).into(),
            )
        })
        .and_then(|_| set("normals", js_sys::Float32Array::from(&normals[..]).into()))
        .and_then(|_| set("indices", js_sys::Uint32Array::from(&indices[..]).into()))
        .and_then(|_| set("triangles", JsValue::from(mesh.triangles.len() as u32)))
        .and_then(|_| set("volume_mm3", JsValue::from(volume_mm3)))
        .and_then(|_| set("area_mm2", JsValue::from(area_mm2)))
        .map_err(|_| JsError::new("could not build the implant object"))?;
    Ok(out)
}
