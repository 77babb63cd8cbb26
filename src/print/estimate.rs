//! Build estimates for a sliced job: layers, scan lengths, build time, masses, powder,
//! and a warning for enclosed cavities that would trap powder; plus the machine profile
//! that bounds the build volume.
//!
//! Units: mm, mm³, g, s. Definitions:
//! - build time = (contour + hatch length) / scan speed + jump length / jump speed +
//!   layers × recoat time (the machine's; default 10 s per layer);
//! - part and support mass = mesh volume × density (Ti-6Al-4V: 4.43 g/cm³);
//! - powder needed = volume of the build's bounding box (parts and supports, from the
//!   plate to the top layer) × powder packing (0.55: loose Ti-6Al-4V powder is about 55 %
//!   dense) × dosing overhead (1.5: the recoater feeds more than it spreads) × density.
//!   It is a lower bound for planning: machines that fill the whole plate need
//!   [`Estimate::powder_full_plate_g`];
//! - enclosed cavities: shells (edge-connected components) of the part mesh with negative
//!   signed volume. In an outward-wound closed mesh a shell is wound inward exactly when
//!   it bounds a void inside another shell, so the void would keep its powder.

use super::hatch::{HatchParams, LayerScan};
use crate::mesh::adjacency::{triangle_components, Adjacency};
use crate::mesh::measure::bounding_box;
use crate::mesh::Mesh;

/// Density of Ti-6Al-4V ELI (g/cm³).
pub const TI64_DENSITY_G_CM3: f64 = 4.43;

/// A machine's build envelope and timings.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct MachineProfile {
    /// Shown in messages.
    pub name: String,
    /// Build volume x, y, z in mm (default 250 × 250 × 300).
    pub build_volume_mm: [f64; 3],
    /// Recoat time per layer in s (default 10).
    pub recoat_s: f64,
    /// Laser jump (laser-off) speed in mm/s (default 5000).
    pub jump_speed_mm_s: f64,
}

impl Default for MachineProfile {
    fn default() -> Self {
        MachineProfile {
            name: "generic PBF 250".into(),
            build_volume_mm: [250.0, 250.0, 300.0],
            recoat_s: 10.0,
            jump_speed_mm_s: 5000.0,
        }
    }
}

/// Estimate errors.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EstimateError {
    /// The part does not fit the machine.
    #[error("the part measures {} × {} × {} mm, larger than the build volume of {} ({} × {} × {} mm); reorient it, scale it or pick a larger machine", fmt1(part_mm[0]), fmt1(part_mm[1]), fmt1(part_mm[2]), machine, fmt1(build_mm[0]), fmt1(build_mm[1]), fmt1(build_mm[2]))]
    TooLarge {
        part_mm: [f64; 3],
        build_mm: [f64; 3],
        machine: String,
    },
    /// A mesh without triangles or with bad coordinates.
    #[error("cannot measure the {what} mesh: {reason}")]
    Mesh { what: &'static str, reason: String },
    /// Invalid estimate parameter.
    #[error("{0}")]
    Param(String),
}

fn fmt1(v: f64) -> String {
    super::export::fixed(v, 1)
}

impl MachineProfile {
    /// Refuses a part (or plate) whose bounding-box extent exceeds the build volume.
    pub fn check_fits(&self, extent_mm: [f64; 3]) -> Result<(), EstimateError> {
        if (0..3).any(|i| extent_mm[i] > self.build_volume_mm[i]) {
            return Err(EstimateError::TooLarge {
                part_mm: extent_mm,
                build_mm: self.build_volume_mm,
                machine: self.name.clone(),
            });
        }
        Ok(())
    }

    /// [`Self::check_fits`] for a mesh.
    pub fn check_mesh_fits(&self, mesh: &Mesh) -> Result<(), EstimateError> {
        let b = bounding_box(mesh).ok_or(EstimateError::Mesh {
            what: "part",
            reason: "it has no vertices".into(),
        })?;
        self.check_fits(b.extent_mm())
    }
}

/// Material and powder factors.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct EstimateParams {
    /// Solid density (g/cm³), default Ti-6Al-4V 4.43.
    pub density_g_cm3: f64,
    /// Loose-powder packing fraction (default 0.55).
    pub powder_packing: f64,
    /// Dosing overhead factor (default 1.5).
    pub powder_overhead: f64,
}

impl Default for EstimateParams {
    fn default() -> Self {
        EstimateParams {
            density_g_cm3: TI64_DENSITY_G_CM3,
            powder_packing: 0.55,
            powder_overhead: 1.5,
        }
    }
}

/// A void inside the part that would trap powder.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Cavity {
    /// Volume of the void (mm³, positive).
    pub volume_mm3: f64,
    /// A point on its wall (mm), to find it.
    pub at_mm: [f64; 3],
}

/// Everything estimated for a job.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Estimate {
    pub layers: usize,
    /// Build height (layers × thickness), mm.
    pub build_height_mm: f64,
    pub contour_length_mm: f64,
    pub hatch_length_mm: f64,
    pub jump_length_mm: f64,
    /// Laser-on time (s).
    pub scan_time_s: f64,
    pub jump_time_s: f64,
    pub recoat_time_s: f64,
    pub build_time_s: f64,
    pub part_volume_mm3: f64,
    pub part_mass_g: f64,
    pub support_volume_mm3: Option<f64>,
    pub support_mass_g: Option<f64>,
    /// Powder for the build's bounding box (see the module doc).
    pub powder_needed_g: f64,
    /// Powder to fill the whole plate to the build height (same factors).
    pub powder_full_plate_g: f64,
    pub enclosed_cavities: Vec<Cavity>,
    /// Plain-words warnings (cavities, empty layers).
    pub warnings: Vec<String>,
}

/// Estimates a job: `part` (and `supports`) meshes in build mm, their scan paths, the
/// parameters used.
pub fn estimate(
    part: &Mesh,
    supports: Option<&Mesh>,
    scans: &[LayerScan],
    layer_um: f64,
    hatch: &HatchParams,
    machine: &MachineProfile,
    params: &EstimateParams,
) -> Result<Estimate, EstimateError> {
    for (name, v) in [
        ("recoat time", machine.recoat_s),
        ("jump speed", machine.jump_speed_mm_s),
        ("density", params.density_g_cm3),
        ("powder packing", params.powder_packing),
        ("powder overhead", params.powder_overhead),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(EstimateError::Param(format!(
                "{name} must be a finite number ≥ 0, not {v}"
            )));
        }
    }
    if !(machine.jump_speed_mm_s > 0.0 && hatch.scan_speed_mm_s > 0.0) {
        return Err(EstimateError::Param(
            "scan and jump speeds must be > 0 mm/s".into(),
        ));
    }
    let mesh_err = |what: &'static str| {
        move |e: crate::mesh::io::MeshError| EstimateError::Mesh {
            what,
            reason: e.to_string(),
        }
    };
    let part_bb = bounding_box(part).ok_or(EstimateError::Mesh {
        what: "part",
        reason: "it has no vertices".into(),
    })?;
    let mut lo = part_bb.min_mm;
    let mut hi = part_bb.max_mm;
    let support_volume_mm3 = match supports {
        Some(s) => {
            if let Some(b) = bounding_box(s) {
                for i in 0..3 {
                    lo[i] = lo[i].min(b.min_mm[i]);
                    hi[i] = hi[i].max(b.max_mm[i]);
                }
            }
            Some(crate::mesh::measure::volume_mm3(s).map_err(mesh_err("support"))?)
        }
        None => None,
    };
    machine.check_fits([hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]])?;
    let part_volume_mm3 = crate::mesh::measure::volume_mm3(part).map_err(mesh_err("part"))?;
    let g_per_mm3 = params.density_g_cm3 / 1000.0;

    let contour_length_mm: f64 = scans.iter().map(|s| s.contour_length_mm).sum();
    let hatch_length_mm: f64 = scans.iter().map(|s| s.hatch_length_mm).sum();
    let jump_length_mm: f64 = scans.iter().map(|s| s.jump_length_mm).sum();
    let scan_time_s = (contour_length_mm + hatch_length_mm) / hatch.scan_speed_mm_s;
    let jump_time_s = jump_length_mm / machine.jump_speed_mm_s;
    let recoat_time_s = scans.len() as f64 * machine.recoat_s;
    let build_height_mm = scans.len() as f64 * layer_um / 1000.0;

    let powder = params.powder_packing * params.powder_overhead * g_per_mm3 * build_height_mm;
    let powder_needed_g = (hi[0] - lo[0]) * (hi[1] - lo[1]) * powder;
    let powder_full_plate_g = machine.build_volume_mm[0] * machine.build_volume_mm[1] * powder;

    let enclosed_cavities = cavities(part).map_err(mesh_err("part"))?;
    let mut warnings = Vec::new();
    if !enclosed_cavities.is_empty() {
        let total: f64 = enclosed_cavities.iter().map(|c| c.volume_mm3).sum();
        let c = &enclosed_cavities[0];
        warnings.push(format!(
            "{} enclosed cavit{} ({:.1} mm³ in all, e.g. near ({:.1}, {:.1}, {:.1}) mm) would trap powder: add an escape hole or fill the cavity",
            enclosed_cavities.len(),
            if enclosed_cavities.len() == 1 { "y" } else { "ies" },
            total,
            c.at_mm[0],
            c.at_mm[1],
            c.at_mm[2]
        ));
    }
    let empty = scans
        .iter()
        .filter(|s| s.contours.is_empty() && s.hatches.is_empty())
        .count();
    if empty > 0 {
        warnings.push(format!(
            "{empty} layer(s) have nothing to scan (gaps between parts or features thinner than the beam offset)"
        ));
    }
    Ok(Estimate {
        layers: scans.len(),
        build_height_mm,
        contour_length_mm,
        hatch_length_mm,
        jump_length_mm,
        scan_time_s,
        jump_time_s,
        recoat_time_s,
        build_time_s: scan_time_s + jump_time_s + recoat_time_s,
        part_volume_mm3,
        part_mass_g: part_volume_mm3 * g_per_mm3,
        support_volume_mm3,
        support_mass_g: support_volume_mm3.map(|v| v * g_per_mm3),
        powder_needed_g,
        powder_full_plate_g,
        enclosed_cavities,
        warnings,
    })
}

/// Inward-wound shells of `mesh`: voids enclosed by another shell (see the module doc).
pub fn cavities(mesh: &Mesh) -> Result<Vec<Cavity>, crate::mesh::io::MeshError> {
    crate::mesh::io::validate(mesh)?;
    if mesh.triangles.is_empty() {
        return Ok(Vec::new());
    }
    let adj = Adjacency::build(mesh)?;
    let (label, count) = triangle_components(mesh, &adj);
    let centre = bounding_box(mesh)
        .map(|b| b.center_mm())
        .unwrap_or([0.0; 3]);
    let mut six = vec![0.0f64; count];
    let mut at = vec![None; count];
    for (t, tri) in mesh.triangles.iter().enumerate() {
        let [a, b, c] = tri.map(|v| {
            let p = mesh.positions_mm[v as usize];
            [p[0] - centre[0], p[1] - centre[1], p[2] - centre[2]]
        });
        let l = label[t] as usize;
        six[l] += a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0])
            + a[2] * (b[0] * c[1] - b[1] * c[0]);
        at[l].get_or_insert(mesh.positions_mm[tri[0] as usize]);
    }
    Ok((0..count)
        .filter(|&l| six[l] < 0.0)
        .map(|l| Cavity {
            volume_mm3: -six[l] / 6.0,
            at_mm: at[l].unwrap_or([0.0; 3]),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::shapes::{box_mesh, concat, ico_sphere, translated};

    fn flipped(m: &Mesh) -> Mesh {
        let mut m = m.clone();
        for t in m.triangles.iter_mut() {
            t.swap(1, 2);
        }
        m
    }

    #[test]
    fn a_hollow_ball_warns_of_one_cavity_with_its_volume() {
        let outer = ico_sphere(10.0, 3);
        let inner = flipped(&ico_sphere(5.0, 3));
        let m = concat(&[&outer, &inner]);
        let c = cavities(&m).unwrap();
        assert_eq!(c.len(), 1);
        let v_inner = crate::mesh::measure::volume_mm3(&ico_sphere(5.0, 3)).unwrap();
        assert!((c[0].volume_mm3 - v_inner).abs() < 1e-6);
        assert!(cavities(&outer).unwrap().is_empty());
    }

    #[test]
    fn part_larger_than_the_build_volume_is_refused_naming_both_sizes() {
        let m = box_mesh([0.0; 3], [40.0, 30.0, 320.0]);
        let msg = MachineProfile::default()
            .check_mesh_fits(&m)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("40.0 × 30.0 × 320.0 mm") && msg.contains("250.0 × 250.0 × 300.0 mm"),
            "{msg}"
        );
        assert!(MachineProfile::default()
            .check_mesh_fits(&translated(&m, [0.0, 0.0, -100.0]))
            .is_err());
    }

    #[test]
    fn time_and_mass_follow_their_definitions() {
        let m = box_mesh([0.0; 3], [10.0, 10.0, 10.0]);
        let scans = vec![LayerScan {
            index: 0,
            z_top_mm: 0.03,
            contours: vec![],
            hatches: vec![],
            hatch_angle_deg: 0.0,
            contour_length_mm: 100.0,
            hatch_length_mm: 900.0,
            jump_length_mm: 500.0,
        }];
        let hatch = HatchParams::default();
        let e = estimate(
            &m,
            Some(&box_mesh([0.0; 3], [1.0, 1.0, 1.0])),
            &scans,
            30.0,
            &hatch,
            &MachineProfile::default(),
            &EstimateParams::default(),
        )
        .unwrap();
        assert!((e.scan_time_s - 1.0).abs() < 1e-12);
        assert!((e.jump_time_s - 0.1).abs() < 1e-12);
        assert!((e.build_time_s - 11.1).abs() < 1e-12);
        assert!((e.part_mass_g - 4.43).abs() < 1e-9);
        assert!((e.support_mass_g.unwrap() - 0.00443).abs() < 1e-12);
        let powder = 100.0 * 0.03 * 0.55 * 1.5 * 4.43e-3;
        assert!((e.powder_needed_g - powder).abs() < 1e-12);
    }
}
