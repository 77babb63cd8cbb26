//! The output files of a design: the label volume, one STL per part and one 3MF with
//! every part, then the print outputs (`print_ops::output_files`). The browser and `osteon replay` both build them here, so the same design
//! on the same study gives the same bytes — and the same SHA-256 in the design history —
//! on both ends of a design call.

use super::history::file_stem;
use super::replay::Segmentation;
use crate::mesh::io::{write_3mf, write_stl_binary};
use crate::mesh::Mesh;
use crate::surface::mc::{label_surfaces, McParams};
use crate::volume::Volume;

/// HU level at which part surfaces are extracted by default: halfway between the mean of
/// cortical bone and soft tissue, which gives unbiased volumes for masks made at 226 HU.
pub const PART_ISO_HU: f64 = 720.0;
/// Header text of every exported STL: fixed, so a file never carries patient data.
pub const STL_HEADER: &str = "Osteon part (patient mm)";

/// One part's surface, in patient millimetres.
#[derive(Clone, Debug, PartialEq)]
pub struct PartMesh {
    pub label: u8,
    pub name: String,
    pub mesh: Mesh,
}

/// Surfaces of every part, in part order (one part per thread with `parallel`).
pub fn part_meshes(
    ct: &Volume<i16>,
    seg: &Segmentation,
    iso_hu: f64,
) -> Result<Vec<PartMesh>, String> {
    let wanted: Vec<u8> = seg.parts.iter().map(|p| p.label).collect();
    seg.parts
        .iter()
        .zip(label_surfaces(
            ct,
            &seg.labels,
            &wanted,
            &McParams { iso_hu },
        ))
        .map(|(p, mesh)| {
            let mesh = mesh.map_err(|e| format!("{}: {e}", p.name))?;
            Ok(PartMesh {
                label: p.label,
                name: p.name.clone(),
                mesh,
            })
        })
        .collect()
}

/// File name of each part's STL (`left_talus.stl`), made unique by a suffix when two
/// parts would share one.
pub fn stl_file_names(meshes: &[PartMesh]) -> Vec<String> {
    let mut used: Vec<String> = Vec::with_capacity(meshes.len());
    for m in meshes {
        let stem = file_stem(&m.name);
        let mut name = format!("{stem}.stl");
        let mut n = 2;
        while used.contains(&name) {
            name = format!("{stem}_{n}.stl");
            n += 1;
        }
        used.push(name);
    }
    used
}

/// Every output file of a design, in a fixed order: `labels.nrrd`, one STL per part,
/// one STL per mesh object (mirrored, registered, smoothed… surfaces), `parts.3mf`
/// with all of them as named objects (when there is any), `deviation.csv` (the last
/// deviation map, when there is one) and the print outputs.
pub fn output_files(
    seg: &Segmentation,
    meshes: &[PartMesh],
) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut files = vec![(
        "labels.nrrd".to_string(),
        crate::nrrd::write_nrrd_u8(&seg.labels),
    )];
    let objects = &seg.meshes.objects;
    let all: Vec<PartMesh> = meshes
        .iter()
        .cloned()
        .chain(objects.iter().map(|o| PartMesh {
            label: 0,
            name: o.name.clone(),
            mesh: o.mesh.clone(),
        }))
        .collect();
    for (n, (m, file)) in all.iter().zip(stl_file_names(&all)).enumerate() {
        let header = if n < meshes.len() {
            STL_HEADER
        } else {
            super::meshes::STL_HEADER
        };
        let stl = write_stl_binary(&m.mesh, header).map_err(|e| format!("{}: {e}", m.name))?;
        files.push((file, stl));
    }
    if !all.is_empty() {
        let named: Vec<(&str, &Mesh)> = all.iter().map(|m| (m.name.as_str(), &m.mesh)).collect();
        files.push((
            "parts.3mf".to_string(),
            write_3mf(&named).map_err(|e| e.to_string())?,
        ));
    }
    if let Some(d) = &seg.meshes.deviation {
        files.push(("deviation.csv".to_string(), deviation_csv(d).into_bytes()));
    }
    // Print preparation (oriented part, supports, G-code/CLI of the part and the plate).
    files.extend(super::print_ops::output_files(&seg.print)?);
    Ok(files)
}

/// The deviation map as CSV: two comment lines with what was compared and the
/// summary, then one row per vertex of the measured surface (patient mm) with its signed
/// distance to the reference (mm, + outside). Numbers in Rust's shortest round-trip
/// form, so the text is the same natively and in wasm.
pub fn deviation_csv(d: &super::meshes::DeviationMap) -> String {
    use std::fmt::Write;
    let mut out = format!(
        "# Osteon deviation map: signed distance (mm, + outside the reference) of each vertex of \"{}\" to \"{}\"{}\n\
         # mean {} mm, mean signed {} mm, RMS {} mm, max {} mm (one-sided Hausdorff), symmetric Hausdorff {} mm\n\
         vertex,x_mm,y_mm,z_mm,signed_distance_mm\n",
        d.measured_name,
        d.reference_name,
        if d.reference_closed {
            ""
        } else {
            " (the reference is not closed: signs are not meaningful)"
        },
        d.mean_mm,
        d.mean_signed_mm,
        d.rms_mm,
        d.max_mm,
        d.hausdorff_mm
    );
    for (n, (p, v)) in d
        .surface
        .positions_mm
        .iter()
        .zip(&d.per_vertex_mm)
        .enumerate()
    {
        let _ = writeln!(out, "{n},{},{},{},{v}", p[0], p[1], p[2]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::shapes::ico_sphere;

    fn part(name: &str) -> PartMesh {
        PartMesh {
            label: 1,
            name: name.into(),
            mesh: ico_sphere(5.0, 2),
        }
    }

    #[test]
    fn clashing_names_get_unique_files() {
        let names = stl_file_names(&[part("left talus"), part("Left Talus"), part("left-talus")]);
        assert_eq!(
            names,
            ["left_talus.stl", "left_talus_2.stl", "left_talus_3.stl"]
        );
    }

    #[test]
    fn outputs_come_in_a_fixed_order_with_a_fixed_header() {
        let ct = Volume {
            dims: [2, 2, 2],
            spacing_mm: [1.0; 3],
            patient_from_voxel: nalgebra::Matrix4::identity(),
            data: vec![0i16; 8],
        };
        let seg = Segmentation::empty(&ct);
        let files = output_files(&seg, &[part("right talus")]).unwrap();
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["labels.nrrd", "right_talus.stl", "parts.3mf"]);
        assert!(files[1].1.starts_with(STL_HEADER.as_bytes()));
        let none = output_files(&seg, &[]).unwrap();
        assert_eq!(none.len(), 1);
    }
}
