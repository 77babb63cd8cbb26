//! Machine instructions from scan paths: G-code, Common Layer Interface (CLI 2.0, ASCII
//! and binary) and a per-layer SVG preview. Bytes out; no file system.
//!
//! Units: mm in build space (x, y on the plate, z up). Every number is written with a
//! fixed format (4 decimals for mm, 1 for W, µm and mm/s), negative zero printed as zero,
//! so the same job gives the same bytes on every platform.
//!
//! G-code: header comments with the parameters, `G21`/`G90`, then per layer a comment
//! `; layer k z=…`, a move to the layer's top height (`G0 Z…`, the recoat), the feed
//! rate (`G1 F…` in mm/min), and for each contour and hatch vector a jump (`G0`),
//! laser on at the layer power (`M3 S<W>`), the marked moves (`G1`) and laser off (`M5`).
//!
//! CLI (Common Layer Interface 2.0): header `$$HEADERSTART`, `$$ASCII` or `$$BINARY`,
//! `$$UNITS/1.000000` (coordinates in mm), `$$VERSION/200`, `$$LABEL/1,<name>`,
//! `$$DIMENSION/x0,y0,z0,x1,y1,z1`, `$$LAYERS/n`, `$$HEADEREND`. ASCII geometry:
//! `$$GEOMETRYSTART`, per layer `$$LAYER/z` (top of the layer), `$$POLYLINE/id,dir,n,x,y…`
//! (closed loops repeat their first point; dir 1 = counter-clockwise = outer, 0 =
//! clockwise = hole, seen from above) and `$$HATCHES/id,n,x1s,y1s,x1e,y1e…`, then
//! `$$GEOMETRYEND`. Binary geometry follows `$$HEADEREND` directly, little-endian, with
//! the long commands: a u16 command index, then Start Layer Long (127): z f32; Start
//! Polyline Long (130): id i32, dir i32, n i32, 2n f32; Start Hatches Long (132): id i32,
//! n i32, 4n f32.

use super::hatch::{HatchParams, HatchPattern, LayerScan};
use super::slice::{to_mm, Layer};

/// What the exporters need besides the scan paths.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportInfo {
    /// Part or job name (CLI `$$LABEL`, comments); ASCII letters, digits, `_-.` kept.
    pub name: String,
    /// Layer thickness in µm.
    pub layer_um: f64,
    /// Laser and path parameters used.
    pub hatch: HatchParams,
    /// Tolerance the outlines were simplified within before contouring (µm,
    /// `print::simplify`); 0 = as sliced, and then not stated, so the G-code of jobs made
    /// before the setting keeps its bytes.
    pub outline_tolerance_um: f64,
}

/// CLI command indices (long forms).
pub const CLI_START_LAYER_LONG: u16 = 127;
pub const CLI_START_POLYLINE_LONG: u16 = 130;
pub const CLI_START_HATCHES_LONG: u16 = 132;

/// Fixed-format number with `decimals` places and no negative zero.
pub fn fixed(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    }
}

fn mm(v: f64) -> String {
    fixed(v, 4)
}

fn clean_name(name: &str) -> String {
    let s: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "_-.".contains(*c))
        .collect();
    if s.is_empty() {
        "part".into()
    } else {
        s
    }
}

fn pattern_text(p: &HatchPattern) -> String {
    match p {
        HatchPattern::Stripes { width_mm } => format!("stripes {} mm", mm(*width_mm)),
        HatchPattern::Chessboard { square_mm } => format!("chessboard {} mm", mm(*square_mm)),
    }
}

/// Signed area of a ring (mm²), positive counter-clockwise.
fn ring_area(ring: &[[f64; 2]]) -> f64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum::<f64>()
        / 2.0
}

/// The G-code header (comment lines and modal setup), as in [`gcode`].
pub fn gcode_header(info: &ExportInfo, layer_count: usize) -> String {
    let h = &info.hatch;
    let mut s = String::new();
    s.push_str("; Osteon print job: metal powder-bed fusion, Ti-6Al-4V ELI\n");
    s.push_str(&format!("; part: {}\n", clean_name(&info.name)));
    s.push_str("; units: mm, absolute, build-plate frame (z up)\n");
    s.push_str(&format!("; layers: {layer_count}\n"));
    s.push_str(&format!(
        "; layer thickness: {} um\n",
        fixed(info.layer_um, 1)
    ));
    s.push_str(&format!("; laser power: {} W\n", fixed(h.laser_power_w, 1)));
    s.push_str(&format!(
        "; scan speed: {} mm/s\n",
        fixed(h.scan_speed_mm_s, 1)
    ));
    s.push_str(&format!(
        "; hatch spacing: {} um\n",
        fixed(h.hatch_spacing_um, 1)
    ));
    s.push_str(&format!(
        "; contours: {}, beam offset: {} um\n",
        h.contour_count,
        fixed(h.beam_offset_um, 1)
    ));
    s.push_str(&format!(
        "; pattern: {}, rotation {} deg per layer\n",
        pattern_text(&h.pattern),
        fixed(h.rotation_deg, 1)
    ));
    if info.outline_tolerance_um > 0.0 {
        s.push_str(&format!(
            "; outlines simplified within {} um before contouring\n",
            fixed(info.outline_tolerance_um, 1)
        ));
    }
    s.push_str("G21 ; millimetres\nG90 ; absolute positioning\nM5 ; laser off\n");
    s
}

/// G-code of the whole job.
pub fn gcode(scans: &[LayerScan], info: &ExportInfo) -> Vec<u8> {
    let h = &info.hatch;
    let power = fixed(h.laser_power_w, 1);
    let feed = fixed(h.scan_speed_mm_s * 60.0, 1);
    let mut s = gcode_header(info, scans.len());
    let xy = |p: [f64; 2]| format!("X{} Y{}", mm(p[0]), mm(p[1]));
    for l in scans {
        s.push_str(&format!(
            "; layer {} z={}\nG0 Z{} ; recoat\nG1 F{feed}\n",
            l.index,
            mm(l.z_top_mm),
            mm(l.z_top_mm)
        ));
        for c in &l.contours {
            let Some(&first) = c.first() else { continue };
            s.push_str(&format!("G0 {}\nM3 S{power}\n", xy(first)));
            for &p in c[1..].iter().chain(std::iter::once(&first)) {
                s.push_str(&format!("G1 {}\n", xy(p)));
            }
            s.push_str("M5\n");
        }
        if !l.hatches.is_empty() {
            s.push_str(&format!("; hatches {} deg\n", fixed(l.hatch_angle_deg, 1)));
        }
        for v in &l.hatches {
            s.push_str(&format!(
                "G0 {}\nM3 S{power}\nG1 {}\nM5\n",
                xy(v[0]),
                xy(v[1])
            ));
        }
    }
    s.push_str("; end of job\nM5\n");
    s.into_bytes()
}

/// Bounding box of the scan paths `[x0, y0, z0, x1, y1, z1]` (z from 0 to the top layer).
fn dimension(scans: &[LayerScan]) -> [f64; 6] {
    let mut d = [
        f64::INFINITY,
        f64::INFINITY,
        0.0,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
        0.0,
    ];
    for l in scans {
        let pts = l
            .contours
            .iter()
            .flatten()
            .chain(l.hatches.iter().flatten());
        for p in pts {
            d[0] = d[0].min(p[0]);
            d[1] = d[1].min(p[1]);
            d[3] = d[3].max(p[0]);
            d[4] = d[4].max(p[1]);
        }
        d[5] = d[5].max(l.z_top_mm);
    }
    if d[0] > d[3] {
        d = [0.0; 6];
    }
    d
}

/// The CLI header (`$$HEADERSTART` … `$$HEADEREND`), `binary` choosing `$$BINARY`.
pub fn cli_header(scans: &[LayerScan], info: &ExportInfo, binary: bool) -> String {
    let d = dimension(scans);
    let dims: Vec<String> = d.iter().map(|&v| mm(v)).collect();
    format!(
        "$$HEADERSTART\n{}\n$$UNITS/1.000000\n$$VERSION/200\n$$LABEL/1,{}\n$$DIMENSION/{}\n$$LAYERS/{}\n$$HEADEREND",
        if binary { "$$BINARY" } else { "$$ASCII" },
        clean_name(&info.name),
        dims.join(","),
        scans.len()
    )
}

/// CLI ASCII file.
pub fn cli_ascii(scans: &[LayerScan], info: &ExportInfo) -> Vec<u8> {
    let mut s = cli_header(scans, info, false);
    s.push_str("\n$$GEOMETRYSTART\n");
    for l in scans {
        s.push_str(&format!("$$LAYER/{}\n", mm(l.z_top_mm)));
        for c in &l.contours {
            let Some(&first) = c.first() else { continue };
            let dir = if ring_area(c) > 0.0 { 1 } else { 0 };
            s.push_str(&format!("$$POLYLINE/1,{dir},{}", c.len() + 1));
            for p in c.iter().chain(std::iter::once(&first)) {
                s.push_str(&format!(",{},{}", mm(p[0]), mm(p[1])));
            }
            s.push('\n');
        }
        if !l.hatches.is_empty() {
            s.push_str(&format!("$$HATCHES/1,{}", l.hatches.len()));
            for v in &l.hatches {
                s.push_str(&format!(
                    ",{},{},{},{}",
                    mm(v[0][0]),
                    mm(v[0][1]),
                    mm(v[1][0]),
                    mm(v[1][1])
                ));
            }
            s.push('\n');
        }
    }
    s.push_str("$$GEOMETRYEND\n");
    s.into_bytes()
}

/// CLI binary file (ASCII header, then long-form binary commands).
pub fn cli_binary(scans: &[LayerScan], info: &ExportInfo) -> Vec<u8> {
    let mut out = cli_header(scans, info, true).into_bytes();
    let f32le = |out: &mut Vec<u8>, v: f64| out.extend_from_slice(&(v as f32).to_le_bytes());
    let i32le = |out: &mut Vec<u8>, v: usize| {
        out.extend_from_slice(&(i32::try_from(v).unwrap_or(i32::MAX)).to_le_bytes())
    };
    for l in scans {
        out.extend_from_slice(&CLI_START_LAYER_LONG.to_le_bytes());
        f32le(&mut out, l.z_top_mm);
        for c in &l.contours {
            let Some(&first) = c.first() else { continue };
            out.extend_from_slice(&CLI_START_POLYLINE_LONG.to_le_bytes());
            i32le(&mut out, 1);
            i32le(&mut out, if ring_area(c) > 0.0 { 1 } else { 0 });
            i32le(&mut out, c.len() + 1);
            for p in c.iter().chain(std::iter::once(&first)) {
                f32le(&mut out, p[0]);
                f32le(&mut out, p[1]);
            }
        }
        if !l.hatches.is_empty() {
            out.extend_from_slice(&CLI_START_HATCHES_LONG.to_le_bytes());
            i32le(&mut out, 1);
            i32le(&mut out, l.hatches.len());
            for v in &l.hatches {
                for p in v {
                    f32le(&mut out, p[0]);
                    f32le(&mut out, p[1]);
                }
            }
        }
    }
    out
}

/// SVG preview of one layer: the section (grey, even–odd fill), supports (green) when
/// given, contours (blue) and hatches (red). `view_mm = [x0, y0, x1, y1]` is the plate
/// region shown (use the same for every layer so the frames line up); +y points up.
pub fn svg_layer(
    scan: &LayerScan,
    section: &Layer,
    supports: Option<&Layer>,
    view_mm: [f64; 4],
) -> Vec<u8> {
    let (w, h) = (view_mm[2] - view_mm[0], view_mm[3] - view_mm[1]);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"{} {} {} {}\" width=\"{}mm\" height=\"{}mm\">\n<!-- layer {} z={} -->\n<g transform=\"scale(1,-1)\">\n",
        mm(view_mm[0]),
        mm(-view_mm[3]),
        mm(w),
        mm(h),
        mm(w),
        mm(h),
        scan.index,
        mm(scan.z_top_mm)
    );
    let polys = |layer: &Layer| {
        let mut d = String::new();
        for p in &layer.polygons {
            for (i, q) in p.points.iter().enumerate() {
                let q = to_mm(*q);
                d.push_str(&format!(
                    "{}{} {} ",
                    if i == 0 { "M" } else { "L" },
                    mm(q[0]),
                    mm(q[1])
                ));
            }
            d.push_str("Z ");
        }
        d
    };
    s.push_str(&format!(
        "<path d=\"{}\" fill=\"#d9d9d9\" fill-rule=\"evenodd\" stroke=\"none\"/>\n",
        polys(section).trim_end()
    ));
    if let Some(sup) = supports {
        s.push_str(&format!(
            "<path d=\"{}\" fill=\"#3a9d5d\" fill-opacity=\"0.6\" fill-rule=\"evenodd\" stroke=\"none\"/>\n",
            polys(sup).trim_end()
        ));
    }
    let mut d = String::new();
    for c in &scan.contours {
        for (i, q) in c.iter().enumerate() {
            d.push_str(&format!(
                "{}{} {} ",
                if i == 0 { "M" } else { "L" },
                mm(q[0]),
                mm(q[1])
            ));
        }
        d.push_str("Z ");
    }
    s.push_str(&format!(
        "<path d=\"{}\" fill=\"none\" stroke=\"#1f5fbf\" stroke-width=\"0.05\"/>\n",
        d.trim_end()
    ));
    let mut d = String::new();
    for v in &scan.hatches {
        d.push_str(&format!(
            "M{} {} L{} {} ",
            mm(v[0][0]),
            mm(v[0][1]),
            mm(v[1][0]),
            mm(v[1][1])
        ));
    }
    s.push_str(&format!(
        "<path d=\"{}\" fill=\"none\" stroke=\"#c8402a\" stroke-width=\"0.03\"/>\n</g>\n</svg>\n",
        d.trim_end()
    ));
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_format_has_no_negative_zero() {
        assert_eq!(fixed(-0.00001, 4), "0.0000");
        assert_eq!(fixed(-0.5, 4), "-0.5000");
        assert_eq!(fixed(2.0, 1), "2.0");
    }

    fn one_layer() -> Vec<LayerScan> {
        vec![LayerScan {
            index: 0,
            z_top_mm: 0.03,
            contours: vec![vec![[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]]],
            hatches: vec![[[0.1, 0.5], [0.9, 0.5]]],
            hatch_angle_deg: 0.0,
            contour_length_mm: 0.0,
            hatch_length_mm: 0.0,
            jump_length_mm: 0.0,
        }]
    }

    fn info() -> ExportInfo {
        ExportInfo {
            name: "cube/1".into(),
            layer_um: 30.0,
            hatch: HatchParams::default(),
            outline_tolerance_um: 0.0,
        }
    }

    #[test]
    fn the_gcode_header_states_the_outline_tolerance_only_when_outlines_were_simplified() {
        let plain = gcode_header(&info(), 1);
        assert!(!plain.contains("outlines simplified"), "{plain}");
        let simplified = gcode_header(
            &ExportInfo {
                outline_tolerance_um: 5.0,
                ..info()
            },
            1,
        );
        assert!(
            simplified.contains("; outlines simplified within 5.0 um before contouring\n"),
            "{simplified}"
        );
        // The rest of the header is the same, line for line.
        let kept: Vec<&str> = simplified
            .lines()
            .filter(|l| !l.contains("outlines simplified"))
            .collect();
        assert_eq!(kept, plain.lines().collect::<Vec<_>>());
    }

    #[test]
    fn cli_ascii_marks_a_ccw_loop_as_outer_and_closes_it() {
        let text = String::from_utf8(cli_ascii(&one_layer(), &info())).unwrap();
        assert!(text.contains(
            "$$LAYER/0.0300\n$$POLYLINE/1,1,4,0.0000,0.0000,1.0000,0.0000,1.0000,1.0000,0.0000,0.0000\n$$HATCHES/1,1,0.1000,0.5000,0.9000,0.5000\n"
        ), "{text}");
        assert!(text.contains("$$LABEL/1,cube1\n"));
    }

    #[test]
    fn binary_cli_layer_block_has_the_long_command_layout() {
        let bytes = cli_binary(&one_layer(), &info());
        let head = cli_header(&one_layer(), &info(), true);
        assert!(head.contains("$$BINARY"));
        let body = &bytes[head.len()..];
        // 2 + 4 (layer) + 2 + 12 + 4·8 (polyline) + 2 + 8 + 16 (hatches).
        assert_eq!(body.len(), 6 + 46 + 26);
        assert_eq!(u16::from_le_bytes([body[0], body[1]]), 127);
        assert_eq!(u16::from_le_bytes([body[6], body[7]]), 130);
    }

    #[test]
    fn svg_draws_supports_only_when_given() {
        let layer = Layer {
            index: 0,
            z_mm: 0.015,
            z_top_mm: 0.03,
            polygons: vec![],
            area_mm2: 0.0,
        };
        let without = String::from_utf8(svg_layer(
            &one_layer()[0],
            &layer,
            None,
            [0.0, 0.0, 2.0, 2.0],
        ))
        .unwrap();
        let with = String::from_utf8(svg_layer(
            &one_layer()[0],
            &layer,
            Some(&layer),
            [0.0, 0.0, 2.0, 2.0],
        ))
        .unwrap();
        assert!(!without.contains("#3a9d5d") && with.contains("#3a9d5d"));
        assert!(without.starts_with("<svg") && without.contains("M0.1000 0.5000 L0.9000 0.5000"));
    }
}
