//! 3MF read/write: a zip package holding `3D/3dmodel.model` (XML, core spec subset).
//!
//! Written packages hold `[Content_Types].xml`, `_rels/.rels` and one model part with
//! `unit="millimeter"`, one `<object>` per named mesh and one build `<item>` each.
//! The reader finds the model part through `_rels/.rels` (falling back to
//! `3D/3dmodel.model`, then to any `.model` part), accepts any namespace prefix,
//! converts the declared unit to mm, flattens `<components>` and applies build-item
//! and component transforms (a mirroring transform flips the winding so triangles
//! stay counter-clockwise seen from outside). The XML is parsed by a small tokenizer:
//! elements, attributes, comments, processing instructions, CDATA and entities.

use super::MeshError;
use crate::mesh::Mesh;
use std::io::{Cursor, Read, Write};

const MODEL_PATH: &str = "3D/3dmodel.model";
const MODEL_REL_TYPE: &str = "http://schemas.microsoft.com/3dmanufacturing/2013/01/3dmodel";
const CORE_NS: &str = "http://schemas.microsoft.com/3dmanufacturing/core/2015/02";
/// Largest unpacked model part accepted, in bytes (guards against zip bombs): 1 GiB
/// of XML is about 10 million triangles. Raise it here for larger packages.
pub const MAX_PART_BYTES: u64 = 1 << 30;
/// Largest number of object instances one build may expand to through nested
/// `<components>` (each reference is one instance). Without it, a few objects that each
/// reference the next one twice expand to 2^32 copies. Raise it here for real
/// assemblies that need more.
pub const MAX_COMPONENT_INSTANCES: usize = 100_000;

/// Writes named meshes (coordinates in mm) into one 3MF package.
pub fn write_3mf(objects: &[(&str, &Mesh)]) -> Result<Vec<u8>, MeshError> {
    use std::fmt::Write as _;
    if objects.is_empty() {
        return Err(MeshError::Empty {
            format: "3MF",
            detail: "no objects to write".into(),
        });
    }
    let mut xml = String::new();
    let _ = write!(
        xml,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<model unit=\"millimeter\" xml:lang=\"en-US\" xmlns=\"{CORE_NS}\">\n <resources>\n"
    );
    for (i, (name, mesh)) in objects.iter().enumerate() {
        super::validate(mesh)?;
        let _ = writeln!(
            xml,
            "  <object id=\"{}\" name=\"{}\" type=\"model\">\n   <mesh>\n    <vertices>",
            i + 1,
            escape(name)
        );
        for p in &mesh.positions_mm {
            let _ = writeln!(
                xml,
                "     <vertex x=\"{:?}\" y=\"{:?}\" z=\"{:?}\"/>",
                p[0], p[1], p[2]
            );
        }
        xml.push_str("    </vertices>\n    <triangles>\n");
        for t in &mesh.triangles {
            let _ = writeln!(
                xml,
                "     <triangle v1=\"{}\" v2=\"{}\" v3=\"{}\"/>",
                t[0], t[1], t[2]
            );
        }
        xml.push_str("    </triangles>\n   </mesh>\n  </object>\n");
    }
    xml.push_str(" </resources>\n <build>\n");
    for i in 0..objects.len() {
        let _ = writeln!(xml, "  <item objectid=\"{}\"/>", i + 1);
    }
    xml.push_str(" </build>\n</model>\n");

    let content_types = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/><Default Extension=\"model\" ContentType=\"application/vnd.ms-package.3dmanufacturing-3dmodel+xml\"/></Types>\n";
    let rels = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Target=\"/{MODEL_PATH}\" Id=\"rel0\" Type=\"{MODEL_REL_TYPE}\"/></Relationships>\n");

    let zerr = |e: &dyn std::fmt::Display| MeshError::Zip {
        detail: e.to_string(),
    };
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    for (name, body) in [
        ("[Content_Types].xml", content_types.as_bytes()),
        ("_rels/.rels", rels.as_bytes()),
        (MODEL_PATH, xml.as_bytes()),
    ] {
        zip.start_file(name, opts).map_err(|e| zerr(&e))?;
        zip.write_all(body).map_err(|e| zerr(&e))?;
    }
    let cursor = zip.finish().map_err(|e| zerr(&e))?;
    Ok(cursor.into_inner())
}

/// Reads a 3MF package into `(name, mesh in mm)` pairs, one per build item (or per
/// object when the build is empty). Unnamed objects are called `object <id>`.
pub fn read_3mf(bytes: &[u8]) -> Result<Vec<(String, Mesh)>, MeshError> {
    if bytes.is_empty() {
        return Err(MeshError::Empty {
            format: "3MF",
            detail: "0 bytes".into(),
        });
    }
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| MeshError::Zip {
        detail: e.to_string(),
    })?;
    let mut names: Vec<String> = archive.file_names().map(|s| s.to_string()).collect();
    names.sort();
    let mut target: Option<String> = None;
    if let Some(rels_name) = names
        .iter()
        .find(|n| n.eq_ignore_ascii_case("_rels/.rels"))
        .cloned()
    {
        let rels = read_part(&mut archive, &rels_name)?;
        for ev in Tokenizer::new(&rels) {
            if let Event::Start { name, attrs, .. } = ev? {
                if local(&name) == "Relationship"
                    && attr(&attrs, "Type").is_some_and(|t| t.ends_with("/3dmodel"))
                {
                    if let Some(t) = attr(&attrs, "Target") {
                        target = Some(t.trim_start_matches('/').to_string());
                        break;
                    }
                }
            }
        }
    }
    let model_name = target
        .filter(|t| names.iter().any(|n| n == t))
        .or_else(|| names.iter().find(|n| n.as_str() == MODEL_PATH).cloned())
        .or_else(|| {
            names
                .iter()
                .find(|n| n.to_ascii_lowercase().ends_with(".model"))
                .cloned()
        })
        .ok_or_else(|| MeshError::MissingModelPart {
            detail: format!("no {MODEL_PATH}; the package holds: {}", names.join(", ")),
        })?;
    let xml = read_part(&mut archive, &model_name)?;
    parse_model(&xml)
}

fn read_part(
    archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
    name: &str,
) -> Result<String, MeshError> {
    let mut f = archive.by_name(name).map_err(|e| MeshError::Zip {
        detail: format!("{name}: {e}"),
    })?;
    let too_big = |size: u64| MeshError::Zip {
        detail: format!(
            "{name} unpacks to {size} bytes, over the limit of {MAX_PART_BYTES} \
             (mesh::io::threemf::MAX_PART_BYTES); split the model, or raise the limit if \
             this machine has the memory"
        ),
    };
    if f.size() > MAX_PART_BYTES {
        return Err(too_big(f.size()));
    }
    let mut buf = Vec::new();
    // One byte more than the limit tells a part that only claimed to be small.
    f.by_ref()
        .take(MAX_PART_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(|e| MeshError::Zip {
            detail: format!("{name}: {e}"),
        })?;
    if buf.len() as u64 > MAX_PART_BYTES {
        return Err(too_big(buf.len() as u64));
    }
    String::from_utf8(buf).map_err(|_| MeshError::Xml {
        detail: format!("{name} is not UTF-8 text"),
    })
}

#[derive(Default)]
struct Object {
    id: String,
    name: Option<String>,
    positions: Vec<[f64; 3]>,
    triangles: Vec<[u32; 3]>,
    components: Vec<(String, [f64; 12])>,
}

const IDENTITY: [f64; 12] = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0];

fn parse_model(xml: &str) -> Result<Vec<(String, Mesh)>, MeshError> {
    let mut scale = 1.0;
    let mut objects: Vec<Object> = Vec::new();
    let mut current: Option<Object> = None;
    let mut items: Vec<(String, [f64; 12])> = Vec::new();
    let mut saw_model = false;
    let num = |attrs: &[(String, String)], key: &str, what: &str| -> Result<f64, MeshError> {
        let s = attr(attrs, key).ok_or_else(|| MeshError::Xml {
            detail: format!("<{what}> without attribute {key}"),
        })?;
        let v: f64 = s.trim().parse().map_err(|_| MeshError::Xml {
            detail: format!("<{what}> {key}=\"{s}\" is not a number"),
        })?;
        if !v.is_finite() {
            return Err(MeshError::Xml {
                detail: format!("<{what}> {key}=\"{s}\" is not finite"),
            });
        }
        Ok(v)
    };
    for ev in Tokenizer::new(xml) {
        match ev? {
            Event::Start { name, attrs, .. } => match local(&name) {
                "model" => {
                    saw_model = true;
                    scale = match attr(&attrs, "unit").unwrap_or("millimeter") {
                        "micron" => 0.001,
                        "millimeter" => 1.0,
                        "centimeter" => 10.0,
                        "inch" => 25.4,
                        "foot" => 304.8,
                        "meter" => 1000.0,
                        other => {
                            return Err(MeshError::Xml {
                                detail: format!("unknown unit \"{other}\""),
                            })
                        }
                    };
                }
                "object" => {
                    if let Some(o) = current.take() {
                        objects.push(o);
                    }
                    current = Some(Object {
                        id: attr(&attrs, "id").unwrap_or("").to_string(),
                        name: attr(&attrs, "name").map(|s| s.to_string()),
                        ..Default::default()
                    });
                }
                "vertex" => {
                    let o = current.as_mut().ok_or_else(|| MeshError::Xml {
                        detail: "<vertex> outside <object>".into(),
                    })?;
                    let p = [
                        num(&attrs, "x", "vertex")?,
                        num(&attrs, "y", "vertex")?,
                        num(&attrs, "z", "vertex")?,
                    ];
                    o.positions.push(p.map(|c| c * scale));
                    super::check_vertices("3MF", o.positions.len())?;
                }
                "triangle" => {
                    let o = current.as_mut().ok_or_else(|| MeshError::Xml {
                        detail: "<triangle> outside <object>".into(),
                    })?;
                    let mut t = [0u32; 3];
                    for (k, key) in ["v1", "v2", "v3"].iter().enumerate() {
                        let s = attr(&attrs, key).unwrap_or("");
                        let v: u32 = s.trim().parse().map_err(|_| MeshError::Xml {
                            detail: format!("<triangle> {key}=\"{s}\" is not a vertex index"),
                        })?;
                        t[k] = v;
                    }
                    o.triangles.push(t);
                    super::check_triangles("3MF", o.triangles.len())?;
                }
                "component" => {
                    let o = current.as_mut().ok_or_else(|| MeshError::Xml {
                        detail: "<component> outside <object>".into(),
                    })?;
                    let id = attr(&attrs, "objectid").unwrap_or("").to_string();
                    o.components.push((id, transform(&attrs, scale)?));
                }
                "item" => {
                    let id = attr(&attrs, "objectid").unwrap_or("").to_string();
                    items.push((id, transform(&attrs, scale)?));
                }
                _ => {}
            },
            Event::End { name } => {
                if local(&name) == "object" {
                    if let Some(o) = current.take() {
                        objects.push(o);
                    }
                }
            }
        }
    }
    if let Some(o) = current.take() {
        objects.push(o);
    }
    if !saw_model {
        return Err(MeshError::Xml {
            detail: "no <model> element".into(),
        });
    }
    for o in &objects {
        let n = o.positions.len();
        for (t, tri) in o.triangles.iter().enumerate() {
            if let Some(&bad) = tri.iter().find(|&&i| i as usize >= n) {
                return Err(MeshError::InvalidIndex {
                    triangle: t,
                    index: bad as i64,
                    vertex_count: n,
                });
            }
        }
    }
    let roots: Vec<(String, [f64; 12])> = if items.is_empty() {
        objects.iter().map(|o| (o.id.clone(), IDENTITY)).collect()
    } else {
        items
    };
    let mut out = Vec::new();
    let mut instances = 0usize;
    for (id, m) in roots {
        let o = objects
            .iter()
            .find(|o| o.id == id)
            .ok_or_else(|| MeshError::Xml {
                detail: format!("build item refers to object id \"{id}\" which does not exist"),
            })?;
        let mut mesh = Mesh::default();
        flatten(&objects, o, &m, 0, &mut mesh, &mut instances)?;
        if mesh.triangles.is_empty() {
            continue;
        }
        let name = o.name.clone().unwrap_or_else(|| format!("object {}", o.id));
        out.push((name, mesh));
    }
    if out.is_empty() {
        return Err(MeshError::Empty {
            format: "3MF",
            detail: "the model holds no triangles".into(),
        });
    }
    Ok(out)
}

fn flatten(
    objects: &[Object],
    o: &Object,
    m: &[f64; 12],
    depth: usize,
    out: &mut Mesh,
    instances: &mut usize,
) -> Result<(), MeshError> {
    if depth > 32 {
        return Err(MeshError::Xml {
            detail: "components nested deeper than 32 levels (a cycle?)".into(),
        });
    }
    *instances += 1;
    super::check_limit(
        "3MF",
        "object instances (after expanding components)",
        *instances,
        MAX_COMPONENT_INSTANCES,
        "mesh::io::threemf::MAX_COMPONENT_INSTANCES",
    )?;
    let base = out.positions_mm.len();
    // Checked before the copies are allocated; the vertex limit is below u32 range.
    super::check_vertices("3MF", base + o.positions.len())?;
    super::check_triangles("3MF", out.triangles.len() + o.triangles.len())?;
    let identity = *m == IDENTITY;
    for &p in &o.positions {
        out.positions_mm
            .push(if identity { p } else { apply(m, p) });
    }
    let det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6])
        + m[2] * (m[3] * m[7] - m[4] * m[6]);
    for t in &o.triangles {
        let t = t.map(|i| i + base as u32);
        out.triangles
            .push(if det < 0.0 { [t[0], t[2], t[1]] } else { t });
    }
    for (cid, cm) in &o.components {
        let c = objects
            .iter()
            .find(|x| &x.id == cid)
            .ok_or_else(|| MeshError::Xml {
                detail: format!("component refers to object id \"{cid}\" which does not exist"),
            })?;
        flatten(objects, c, &compose(m, cm), depth + 1, out, instances)?;
    }
    Ok(())
}

/// 3MF matrices are row-vector 4×3: p' = [x y z 1] · M.
fn apply(m: &[f64; 12], p: [f64; 3]) -> [f64; 3] {
    [
        p[0] * m[0] + p[1] * m[3] + p[2] * m[6] + m[9],
        p[0] * m[1] + p[1] * m[4] + p[2] * m[7] + m[10],
        p[0] * m[2] + p[1] * m[5] + p[2] * m[8] + m[11],
    ]
}

/// Parent `m` applied after child `c`: p' = (p · C) · M.
fn compose(m: &[f64; 12], c: &[f64; 12]) -> [f64; 12] {
    let mut r = [0.0; 12];
    for row in 0..4 {
        for col in 0..3 {
            let mut s = if row == 3 { m[9 + col] } else { 0.0 };
            for k in 0..3 {
                s += c[row * 3 + k] * m[k * 3 + col];
            }
            r[row * 3 + col] = s;
        }
    }
    r
}

/// Parses a 3MF transform; the translation is converted from model units to mm.
fn transform(attrs: &[(String, String)], scale: f64) -> Result<[f64; 12], MeshError> {
    let Some(s) = attr(attrs, "transform") else {
        return Ok(IDENTITY);
    };
    let v: Vec<f64> = s
        .split_ascii_whitespace()
        .map(|x| x.parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| MeshError::Xml {
            detail: format!("transform=\"{s}\" is not 12 numbers"),
        })?;
    if v.len() != 12 || !v.iter().all(|x| x.is_finite()) {
        return Err(MeshError::Xml {
            detail: format!("transform=\"{s}\" is not 12 finite numbers"),
        });
    }
    let mut m = [0.0; 12];
    m.copy_from_slice(&v);
    for t in &mut m[9..12] {
        *t *= scale;
    }
    Ok(m)
}

fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

fn attr<'a>(attrs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| local(k) == key)
        .map(|(_, v)| v.as_str())
}

fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if c.is_control() => {}
            c => o.push(c),
        }
    }
    o
}

fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut o = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        o.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(j) = rest.find(';') else { break };
        let ent = &rest[1..j];
        let ch = match ent {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e if e.starts_with("#x") => u32::from_str_radix(&e[2..], 16)
                .ok()
                .and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse::<u32>().ok().and_then(char::from_u32),
            _ => None,
        };
        match ch {
            Some(c) => {
                o.push(c);
                rest = &rest[j + 1..];
            }
            None => {
                o.push('&');
                rest = &rest[1..];
            }
        }
    }
    o.push_str(rest);
    o
}

enum Event {
    Start {
        name: String,
        attrs: Vec<(String, String)>,
    },
    End {
        name: String,
    },
}

/// A minimal XML tokenizer: yields start (also for self-closing) and end tags.
struct Tokenizer<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Tokenizer<'a> {
    fn new(s: &'a str) -> Self {
        Tokenizer { s, pos: 0 }
    }

    fn line(&self) -> usize {
        1 + self.s.as_bytes()[..self.pos.min(self.s.len())]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
    }

    fn fail(&mut self, what: &str) -> Option<Result<Event, MeshError>> {
        let line = self.line();
        self.pos = self.s.len();
        Some(Err(MeshError::Xml {
            detail: format!("line {line}: {what}"),
        }))
    }

    fn skip_past(&mut self, end: &str) -> bool {
        match self.s[self.pos..].find(end) {
            Some(i) => {
                self.pos += i + end.len();
                true
            }
            None => false,
        }
    }
}

impl Iterator for Tokenizer<'_> {
    type Item = Result<Event, MeshError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let i = self.s[self.pos..].find('<')?;
            self.pos += i;
            let rest = &self.s[self.pos..];
            if rest.starts_with("<?") {
                if !self.skip_past("?>") {
                    return self.fail("unterminated <? … ?>");
                }
            } else if rest.starts_with("<!--") {
                if !self.skip_past("-->") {
                    return self.fail("unterminated comment");
                }
            } else if rest.starts_with("<![CDATA[") {
                if !self.skip_past("]]>") {
                    return self.fail("unterminated CDATA");
                }
            } else if rest.starts_with("<!") {
                if !self.skip_past(">") {
                    return self.fail("unterminated declaration");
                }
            } else if let Some(r) = rest.strip_prefix("</") {
                let Some(j) = r.find('>') else {
                    return self.fail("unterminated end tag");
                };
                let name = r[..j].trim().to_string();
                self.pos += 2 + j + 1;
                return Some(Ok(Event::End { name }));
            } else {
                // Start tag: name, attributes, '>' or '/>'.
                let b = rest.as_bytes();
                let mut k = 1;
                while k < b.len() && !b[k].is_ascii_whitespace() && b[k] != b'/' && b[k] != b'>' {
                    k += 1;
                }
                let name = rest[1..k].to_string();
                if name.is_empty() {
                    return self.fail("'<' not followed by an element name");
                }
                let mut attrs = Vec::new();
                loop {
                    while k < b.len() && b[k].is_ascii_whitespace() {
                        k += 1;
                    }
                    if k >= b.len() {
                        return self.fail(&format!("unterminated <{name}> tag"));
                    }
                    if b[k] == b'>' {
                        k += 1;
                        break;
                    }
                    if b[k] == b'/' {
                        if b.get(k + 1) == Some(&b'>') {
                            k += 2;
                            break;
                        }
                        return self.fail(&format!("stray '/' in <{name}>"));
                    }
                    let ks = k;
                    while k < b.len() && b[k] != b'=' && !b[k].is_ascii_whitespace() && b[k] != b'>'
                    {
                        k += 1;
                    }
                    let key = rest[ks..k].to_string();
                    while k < b.len() && b[k].is_ascii_whitespace() {
                        k += 1;
                    }
                    if k >= b.len() || b[k] != b'=' {
                        return self.fail(&format!("attribute {key} in <{name}> has no value"));
                    }
                    k += 1;
                    while k < b.len() && b[k].is_ascii_whitespace() {
                        k += 1;
                    }
                    let q = match b.get(k) {
                        Some(&q @ (b'"' | b'\'')) => q,
                        _ => {
                            return self.fail(&format!("attribute {key} in <{name}> is not quoted"))
                        }
                    };
                    k += 1;
                    let vs = k;
                    while k < b.len() && b[k] != q {
                        k += 1;
                    }
                    if k >= b.len() {
                        return self.fail(&format!("unterminated value of {key} in <{name}>"));
                    }
                    attrs.push((key, unescape(&rest[vs..k])));
                    k += 1;
                }
                self.pos += k;
                return Some(Ok(Event::Start { name, attrs }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chain of objects where each references the next one twice: 2^depth instances
    /// from a few hundred bytes of XML.
    fn component_bomb(depth: usize) -> String {
        let mut xml = String::from("<model unit=\"millimeter\"><resources>");
        xml.push_str("<object id=\"0\"><mesh><vertices><vertex x=\"0\" y=\"0\" z=\"0\"/>");
        xml.push_str("<vertex x=\"1\" y=\"0\" z=\"0\"/><vertex x=\"0\" y=\"1\" z=\"0\"/>");
        xml.push_str("</vertices><triangles><triangle v1=\"0\" v2=\"1\" v3=\"2\"/></triangles></mesh></object>");
        for d in 1..=depth {
            let c = d - 1;
            xml.push_str(&format!(
                "<object id=\"{d}\"><components><component objectid=\"{c}\"/>\
                 <component objectid=\"{c}\"/></components></object>"
            ));
        }
        xml.push_str(&format!(
            "</resources><build><item objectid=\"{depth}\"/></build></model>"
        ));
        xml
    }

    #[test]
    fn fuzz_3mf_component_expansion_bomb_is_refused() {
        // 2^8 instances are fine and give 256 triangles …
        let ok = parse_model(&component_bomb(8)).unwrap();
        assert_eq!(ok[0].1.triangles.len(), 256);
        // … 2^30 would hang and exhaust memory; the instance limit stops it early.
        let e = parse_model(&component_bomb(30)).unwrap_err();
        assert!(
            matches!(e, MeshError::LimitExceeded { limit, .. } if limit == MAX_COMPONENT_INSTANCES as u64),
            "{e}"
        );
        assert!(e.to_string().contains("MAX_COMPONENT_INSTANCES"), "{e}");
    }

    #[test]
    fn limits_name_their_constant() {
        let e = super::super::check_triangles("STL", super::super::MAX_TRIANGLES + 1).unwrap_err();
        assert!(e.to_string().contains("mesh::io::MAX_TRIANGLES"), "{e}");
        assert!(super::super::check_triangles("STL", super::super::MAX_TRIANGLES).is_ok());
        let e = super::super::check_vertices("OBJ", super::super::MAX_VERTICES + 1).unwrap_err();
        assert!(e.to_string().contains("mesh::io::MAX_VERTICES"), "{e}");
    }

    #[test]
    fn entities_are_unescaped_and_unknown_ones_kept() {
        assert_eq!(
            unescape("a &amp; b &lt;c&gt; &#65;&#x42; &bogus; &"),
            "a & b <c> AB &bogus; &"
        );
        assert_eq!(unescape(&escape("talus <R> & \"x\"")), "talus <R> & \"x\"");
    }

    #[test]
    fn tokenizer_skips_comments_cdata_and_reads_gt_inside_values() {
        let xml =
            "<?xml version='1.0'?><!-- <vertex/> --><a k=\"x>y\" j = 'q'><![CDATA[<b/>]]></a><c/>";
        let ev: Vec<Event> = Tokenizer::new(xml).collect::<Result<_, _>>().unwrap();
        assert_eq!(ev.len(), 3);
        match &ev[0] {
            Event::Start { name, attrs } => {
                assert_eq!(name, "a");
                assert_eq!(
                    attrs,
                    &vec![
                        ("k".to_string(), "x>y".to_string()),
                        ("j".to_string(), "q".to_string())
                    ]
                );
            }
            Event::End { .. } => panic!("expected a start tag"),
        }
        assert!(Tokenizer::new("<a k=\"unterminated>").any(|e| e.is_err()));
        assert!(Tokenizer::new("<a k=noquote/>").any(|e| e.is_err()));
    }

    #[test]
    fn model_without_model_element_is_an_error() {
        assert!(matches!(parse_model("<foo/>"), Err(MeshError::Xml { .. })));
    }
}
