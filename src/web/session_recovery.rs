//! Recovery of the compute worker. When the worker fails (a panic, running out of
//! memory) or the user cancels a long step, the page ends the worker, starts a new one
//! and hands it the volume it still shows; the design is then replayed from its op log.
//! So a failure costs the step in progress, never the study or the design.

use super::session::Session;
use crate::demo;
use crate::volume::Volume;
use nalgebra::Matrix4;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
impl Session {
    /// Takes over a study from the page's copy of the volume (HU, `dims`, `spacing_mm`,
    /// column-major 4×4 `patient_from_voxel`). Returns the study fingerprint, which must
    /// equal the one the page had, so the design replays onto the same voxels.
    #[wasm_bindgen(js_name = adoptVolume)]
    pub fn adopt_volume(
        &mut self,
        data: Vec<i16>,
        dims: Vec<usize>,
        spacing_mm: Vec<f64>,
        patient_from_voxel: Vec<f64>,
        source: String,
    ) -> Result<String, JsError> {
        let ([nx, ny, nz], [sx, sy, sz]) = match (&dims[..], &spacing_mm[..]) {
            (&[nx, ny, nz], &[sx, sy, sz]) => ([nx, ny, nz], [sx, sy, sz]),
            _ => return Err(JsError::new("the volume needs 3 dimensions and 3 spacings")),
        };
        if patient_from_voxel.len() != 16 || nx.saturating_mul(ny).saturating_mul(nz) != data.len()
        {
            return Err(JsError::new(
                "the volume's size does not match its dimensions; reload the study",
            ));
        }
        let volume = Volume {
            dims: [nx, ny, nz],
            spacing_mm: [sx, sy, sz],
            patient_from_voxel: Matrix4::from_column_slice(&patient_from_voxel),
            data,
        };
        let fingerprint = crate::volume::sha256_hex(&volume);
        let mut loaded = demo::loaded_series(volume);
        if source != "demo" {
            loaded.summary.description = "restored after a worker restart".into();
            loaded.summary.transfer_syntax = "restored from the page".into();
        }
        self.study = Some(loaded);
        self.study_source = if source == "demo" { "demo" } else { "files" };
        self.ops.clear();
        self.undone.clear();
        self.seg = None;
        self.surfaces.clear();
        Ok(fingerprint)
    }

    /// Fails on purpose, for the end-to-end test of recovery: `"panic"` panics (as a bug
    /// would); `"hang"` keeps the worker busy for `seconds` (as a very long step would).
    #[wasm_bindgen(js_name = failForTest)]
    pub fn fail_for_test(&self, kind: &str, seconds: f64) -> Result<(), JsError> {
        match kind {
            "panic" => panic!("forced failure requested by a test"),
            "hang" => {
                let until = js_sys::Date::now() + seconds * 1000.0;
                while js_sys::Date::now() < until {}
                Ok(())
            }
            other => Err(JsError::new(&format!("unknown failure kind '{other}'"))),
        }
    }
}
