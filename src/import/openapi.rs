//! OpenAPI 3.0 / 3.1 documents: one scenario per operation, with example (or
//! schema-derived) parameters and body, the documented success status, and a
//! contract check (`expect.openapi`) on the response.

use std::path::{Component, Path, PathBuf};

use serde_json::Value as J;

use super::yaml::Y;
use super::{BodyOut, Ctx, FileOut, ScenarioOut, StepOut};

const METHODS: [&str; 7] = ["get", "post", "put", "patch", "delete", "head", "options"];

pub fn import(sources: &[String], out: &Path, ctx: &mut Ctx) -> Result<Vec<FileOut>, String> {
    let mut files = Vec::new();
    for src in sources {
        let path = Path::new(src);
        let text = super::read_source(path)?;
        let doc = super::parse_json_or_yaml(&text, src)?;
        // The same reading the contract check will do: a document it refuses is refused here.
        crate::contract::Spec::from_doc(src, doc.clone())?;
        let rel = relative(path, out);
        files.push(import_doc(&doc, src, &rel, ctx)?);
    }
    Ok(files)
}

/// `spec` as seen from the folder the scenario file is written to.
fn relative(spec: &Path, out_dir: &Path) -> String {
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let spec = std::fs::canonicalize(spec).unwrap_or_else(|_| abs(spec));
    let _ = std::fs::create_dir_all(out_dir);
    let out = std::fs::canonicalize(out_dir).unwrap_or_else(|_| abs(out_dir));
    let a: Vec<Component> = spec.components().collect();
    let b: Vec<Component> = out.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut rel = PathBuf::new();
    for _ in common..b.len() {
        rel.push("..");
    }
    for c in &a[common..] {
        rel.push(c.as_os_str());
    }
    rel.to_string_lossy().replace('\\', "/")
}

pub fn import_doc(doc: &J, src: &str, spec_rel: &str, ctx: &mut Ctx) -> Result<FileOut, String> {
    let title = doc
        .pointer("/info/title")
        .and_then(J::as_str)
        .unwrap_or("openapi")
        .to_string();
    let base_url = doc
        .pointer("/servers/0/url")
        .and_then(J::as_str)
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        .filter(|u| !u.contains('{'))
        .map(|u| u.trim_end_matches('/').to_string())
        .or_else(|| {
            let host = doc.get("host").and_then(J::as_str)?;
            let scheme = doc
                .pointer("/schemes/0")
                .and_then(J::as_str)
                .unwrap_or("https");
            let base = doc.get("basePath").and_then(J::as_str).unwrap_or("");
            Some(format!("{scheme}://{host}{}", base.trim_end_matches('/')))
        });
    let global_security = doc.get("security");
    let mut scenarios = Vec::new();
    for (path, item) in doc
        .get("paths")
        .and_then(J::as_object)
        .into_iter()
        .flatten()
    {
        for m in METHODS {
            let Some(op) = item.get(m) else { continue };
            let id = op.get("operationId").and_then(J::as_str);
            let at = format!("{src} {} {path}", m.to_ascii_uppercase());
            let mut step = StepOut {
                method: m.to_ascii_uppercase(),
                openapi: Some(spec_rel.to_string()),
                ..StepOut::default()
            };
            let params: Vec<&J> = item
                .get("parameters")
                .and_then(J::as_array)
                .into_iter()
                .flatten()
                .chain(
                    op.get("parameters")
                        .and_then(J::as_array)
                        .into_iter()
                        .flatten(),
                )
                .map(|p| resolve(doc, p))
                .collect();
            let mut url = path.clone();
            for p in &params {
                let name = p.get("name").and_then(J::as_str).unwrap_or("");
                let place = p.get("in").and_then(J::as_str).unwrap_or("");
                let required = p.get("required").and_then(J::as_bool) == Some(true);
                let value = param_value(doc, p);
                match place {
                    "path" => url = url.replace(&format!("{{{name}}}"), &text_of(&value)),
                    "query" if required => {
                        step.query.push((name.to_string(), Y::from_json(&value)))
                    }
                    "header" if required => {
                        let v = ctx.header(name, &text_of(&value), &at);
                        step.headers.push((name.to_string(), v));
                    }
                    "body" => step.body = BodyOut::Json(Y::from_json(&value)),
                    _ => {}
                }
            }
            step.url = url;
            if let Some(body) = op.get("requestBody").map(|b| resolve(doc, b)) {
                let content = body.get("content").and_then(J::as_object);
                let json = content.and_then(|c| c.iter().find(|(k, _)| k.contains("json")));
                match json {
                    Some((_, media)) => {
                        let value = media
                            .get("example")
                            .cloned()
                            .or_else(|| {
                                media.get("examples").and_then(J::as_object).and_then(|e| {
                                    e.values()
                                        .next()
                                        .map(|x| resolve(doc, x))
                                        .and_then(|x| x.get("value").cloned())
                                })
                            })
                            .or_else(|| media.get("schema").map(|s| example(doc, s, 0)))
                            .unwrap_or(J::Object(Default::default()));
                        let mut y = Y::from_json(&value);
                        ctx.json_body(&mut y, &at);
                        step.body = BodyOut::Json(y);
                    }
                    None if content.is_some_and(|c| !c.is_empty()) => {
                        let kinds: Vec<&String> =
                            content.into_iter().flat_map(|c| c.keys()).collect();
                        ctx.note(
                            &at,
                            format!(
                                "request body of type {kinds:?} is not generated; add it by hand"
                            ),
                        );
                    }
                    None => {}
                }
            }
            // The documented success status: the lowest 2xx.
            let mut codes: Vec<u16> = op
                .get("responses")
                .and_then(J::as_object)
                .into_iter()
                .flatten()
                .filter_map(|(k, _)| k.parse::<u16>().ok())
                .filter(|c| (200..300).contains(c))
                .collect();
            codes.sort();
            if let Some(c) = codes.first() {
                step.status = vec![*c];
            }
            let security = op.get("security").or(global_security);
            security_headers(doc, security, &mut step, &at, ctx);
            scenarios.push(ScenarioOut {
                name: id
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("{} {path}", m.to_ascii_uppercase())),
                description: op.get("summary").and_then(J::as_str).map(str::to_string),
                tags: op
                    .get("tags")
                    .and_then(J::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(J::as_str)
                    .map(super::slug)
                    .collect(),
                steps: vec![step],
                ..ScenarioOut::default()
            });
        }
    }
    Ok(FileOut {
        name: format!("{}.yaml", super::slug(&title)),
        comments: vec![
            format!(
                "Imported from the OpenAPI document {src} by `runner import openapi`: one scenario per operation,"
            ),
            "each response checked against the document (`expect.openapi`).".into(),
        ],
        base_url,
        scenarios,
        ..FileOut::default()
    })
}

/// Security requirements as headers whose values come from the environment.
fn security_headers(doc: &J, security: Option<&J>, step: &mut StepOut, at: &str, ctx: &mut Ctx) {
    let Some(first) = security
        .and_then(J::as_array)
        .and_then(|a| a.first())
        .and_then(J::as_object)
    else {
        return;
    };
    for name in first.keys() {
        let scheme = doc
            .pointer(&format!("/components/securitySchemes/{name}"))
            .or_else(|| doc.pointer(&format!("/securityDefinitions/{name}")));
        let Some(scheme) = scheme.map(|s| resolve(doc, s)) else {
            continue;
        };
        let kind = scheme.get("type").and_then(J::as_str).unwrap_or("");
        let what = format!("the {name} credential of the API ({at})");
        match (
            kind,
            scheme
                .get("scheme")
                .and_then(J::as_str)
                .map(str::to_ascii_lowercase)
                .as_deref(),
        ) {
            ("apiKey", _) => {
                let header = scheme
                    .get("name")
                    .and_then(J::as_str)
                    .unwrap_or("X-Api-Key");
                let env = super::env_name(header);
                ctx.env.entry(env.clone()).or_insert(what);
                let v = format!("{{{{ env.{env} }}}}");
                match scheme.get("in").and_then(J::as_str) {
                    Some("query") => step.query.push((header.to_string(), Y::str(v))),
                    Some("cookie") => step
                        .headers
                        .push(("Cookie".into(), format!("{header}={v}"))),
                    _ => step.headers.push((header.to_string(), v)),
                }
            }
            ("http", Some("bearer")) | ("oauth2", _) | ("openIdConnect", _) => {
                let env = "BEARER_TOKEN".to_string();
                ctx.env.entry(env.clone()).or_insert(what);
                step.headers.push((
                    "Authorization".into(),
                    format!("Bearer {{{{ env.{env} }}}}"),
                ));
            }
            ("http", Some("basic")) | ("basic", _) => {
                ctx.env
                    .entry("BASIC_AUTH_TOKEN".into())
                    .or_insert(format!("{what}: base64 of user:password"));
                step.headers.push((
                    "Authorization".into(),
                    "Basic {{ env.BASIC_AUTH_TOKEN }}".into(),
                ));
            }
            _ => ctx.note(
                at,
                format!("security scheme `{name}` ({kind}) is not translated"),
            ),
        }
    }
}

fn resolve<'a>(doc: &'a J, v: &'a J) -> &'a J {
    let mut cur = v;
    for _ in 0..8 {
        match cur
            .get("$ref")
            .and_then(J::as_str)
            .and_then(|r| r.strip_prefix('#'))
            .and_then(|p| doc.pointer(p))
        {
            Some(next) => cur = next,
            None => break,
        }
    }
    cur
}

fn param_value(doc: &J, p: &J) -> J {
    if let Some(e) = p.get("example") {
        return e.clone();
    }
    if let Some(v) = p
        .get("examples")
        .and_then(J::as_object)
        .and_then(|e| e.values().next())
        .and_then(|e| resolve(doc, e).get("value"))
    {
        return v.clone();
    }
    match p.get("schema") {
        Some(s) => example(doc, s, 0),
        // Swagger 2.0 puts the type on the parameter itself (and a body's schema under `schema`).
        None => example(doc, p, 0),
    }
}

fn text_of(v: &J) -> String {
    match v {
        J::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A value that satisfies the schema: its example, default, first enum value, or
/// one built from its type.
fn example(doc: &J, schema: &J, depth: usize) -> J {
    let s = resolve(doc, schema);
    if depth > 8 {
        return J::Null;
    }
    for key in ["example", "default", "const"] {
        if let Some(v) = s.get(key) {
            return v.clone();
        }
    }
    if let Some(v) = s
        .get("examples")
        .and_then(J::as_array)
        .and_then(|a| a.first())
    {
        return v.clone();
    }
    if let Some(v) = s.get("enum").and_then(J::as_array).and_then(|a| a.first()) {
        return v.clone();
    }
    if let Some(all) = s.get("allOf").and_then(J::as_array) {
        let mut merged = serde_json::Map::new();
        for part in all {
            if let J::Object(o) = example(doc, part, depth + 1) {
                merged.extend(o);
            }
        }
        return J::Object(merged);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(first) = s.get(key).and_then(J::as_array).and_then(|a| a.first()) {
            return example(doc, first, depth + 1);
        }
    }
    let ty = match s.get("type") {
        Some(J::String(t)) => t.clone(),
        Some(J::Array(ts)) => ts
            .iter()
            .filter_map(J::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null")
            .to_string(),
        _ if s.get("properties").is_some() => "object".into(),
        _ => String::new(),
    };
    match ty.as_str() {
        "object" => {
            let required: Vec<&str> = s
                .get("required")
                .and_then(J::as_array)
                .into_iter()
                .flatten()
                .filter_map(J::as_str)
                .collect();
            let mut o = serde_json::Map::new();
            for (k, v) in s
                .get("properties")
                .and_then(J::as_object)
                .into_iter()
                .flatten()
            {
                if required.is_empty() || required.contains(&k.as_str()) {
                    if resolve(doc, v).get("readOnly").and_then(J::as_bool) == Some(true) {
                        continue;
                    }
                    o.insert(k.clone(), example(doc, v, depth + 1));
                }
            }
            J::Object(o)
        }
        "array" => J::Array(vec![
            s.get("items")
                .map_or(J::Null, |i| example(doc, i, depth + 1)),
        ]),
        "integer" => s.get("minimum").cloned().unwrap_or(J::from(1)),
        "number" => s.get("minimum").cloned().unwrap_or(J::from(1.5)),
        "boolean" => J::Bool(true),
        "string" => J::String(
            match s.get("format").and_then(J::as_str).unwrap_or("") {
                "date-time" => "2024-01-01T00:00:00Z",
                "date" => "2024-01-01",
                "email" => "qa@example.com",
                "uuid" => "00000000-0000-4000-8000-000000000000",
                "uri" | "url" => "https://example.com",
                _ => "example",
            }
            .to_string(),
        ),
        _ => J::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schema_derived_values() {
        let doc = json!({"components": {"schemas": {"Pet": {"type": "object", "required": ["name", "id"], "properties": {
            "id": {"type": "integer", "readOnly": true}, "name": {"type": "string"}, "born": {"type": "string", "format": "date"},
            "kind": {"enum": ["dog", "cat"]}}}}}});
        let pet = json!({"$ref": "#/components/schemas/Pet"});
        assert_eq!(example(&doc, &pet, 0), json!({"name": "example"}));
        let list = json!({"type": "array", "items": {"allOf": [pet, {"type": "object", "properties": {"x": {"type": "boolean"}}}]}});
        assert_eq!(
            example(&doc, &list, 0),
            json!([{"name": "example", "x": true}])
        );
        assert_eq!(
            example(
                &doc,
                &json!({"type": ["string", "null"], "format": "uuid"}),
                0
            ),
            json!("00000000-0000-4000-8000-000000000000")
        );
    }

    #[test]
    fn relative_paths_from_the_output_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("specs")).unwrap();
        std::fs::write(dir.path().join("specs/p.yaml"), "x").unwrap();
        assert_eq!(
            relative(&dir.path().join("specs/p.yaml"), &dir.path().join("out")),
            "../specs/p.yaml"
        );
        assert_eq!(
            relative(&dir.path().join("specs/p.yaml"), &dir.path().join("specs")),
            "p.yaml"
        );
    }
}

#[cfg(test)]
mod swagger_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn swagger_2_operations_become_scenarios() {
        let doc = json!({
            "swagger": "2.0", "info": {"title": "Users", "version": "1"},
            "host": "api.example.com", "basePath": "/api", "schemes": ["https"],
            "securityDefinitions": {"key": {"type": "apiKey", "in": "header", "name": "X-Api-Key"}},
            "security": [{"key": []}],
            "paths": {"/users/{id}": {"put": {"operationId": "putUser", "parameters": [
                {"name": "id", "in": "path", "required": true, "type": "integer"},
                {"name": "body", "in": "body", "schema": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}
            ], "responses": {"200": {"description": "ok"}}}}}
        });
        let mut ctx = Ctx::default();
        let f = import_doc(&doc, "s.json", "s.json", &mut ctx).unwrap();
        assert_eq!(f.base_url.as_deref(), Some("https://api.example.com/api"));
        let st = &f.scenarios[0].steps[0];
        assert_eq!((st.method.as_str(), st.url.as_str()), ("PUT", "/users/1"));
        assert!(
            matches!(&st.body, BodyOut::Json(y) if *y == Y::map([("name".to_string(), Y::str("example"))]))
        );
        assert_eq!(
            st.headers,
            vec![("X-Api-Key".to_string(), "{{ env.X_API_KEY }}".to_string())]
        );
        assert!(ctx.env.contains_key("X_API_KEY"));
    }
}
