//! HAR 1.2 files exported from a browser's network tab: one scenario per page,
//! requests in the order they were made, static assets left out, the recorded
//! status as the expected one.

use std::path::Path;

use serde_json::Value as J;

use super::yaml::Y;
use super::{BodyOut, Ctx, FileOut, ScenarioOut, StepOut, query_entries, split_origin};

/// Request headers a browser adds by itself, that a replay must not copy (the
/// runner sets its own), or that only make sense for that one browser session.
const BROWSER_HEADERS: &[&str] = &[
    "host",
    "connection",
    "content-length",
    "accept-encoding",
    "accept-language",
    "user-agent",
    "referer",
    "origin",
    "cache-control",
    "pragma",
    "if-none-match",
    "if-modified-since",
    "upgrade-insecure-requests",
    "dnt",
    "priority",
    "te",
    "keep-alive",
    "sec-gpc",
];

const ASSET_TYPES: &[&str] = &[
    "image",
    "stylesheet",
    "script",
    "font",
    "media",
    "manifest",
    "texttrack",
    "ping",
    "other",
    "websocket",
];
const ASSET_EXTENSIONS: &[&str] = &[
    ".js", ".mjs", ".css", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".ico", ".webp", ".avif",
    ".woff", ".woff2", ".ttf", ".otf", ".eot", ".map", ".mp4", ".webm", ".mp3",
];

pub fn import(
    sources: &[String],
    include_assets: bool,
    ctx: &mut Ctx,
) -> Result<Vec<FileOut>, String> {
    let mut files = Vec::new();
    for src in sources {
        let path = Path::new(src);
        let text = super::read_source(path)?;
        let doc: J = serde_json::from_str(&text)
            .map_err(|e| format!("{src} is not a HAR file (not JSON: {e})"))?;
        let title = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| "har".into());
        files.push(import_doc(&doc, &title, include_assets, ctx)?);
    }
    Ok(files)
}

pub fn import_doc(
    doc: &J,
    title: &str,
    include_assets: bool,
    ctx: &mut Ctx,
) -> Result<FileOut, String> {
    let log = doc
        .get("log")
        .ok_or_else(|| format!("{title} is not a HAR file: no `log`"))?;
    let entries = log
        .get("entries")
        .and_then(J::as_array)
        .ok_or_else(|| format!("{title} is not a HAR file: no `log.entries`"))?;
    // Pages in order; entries without a page go to a scenario named after the file.
    let pages: Vec<(String, String)> = log
        .get("pages")
        .and_then(J::as_array)
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    let id = p.get("id").and_then(J::as_str).unwrap_or("").to_string();
                    let t = p
                        .get("title")
                        .and_then(J::as_str)
                        .unwrap_or(&id)
                        .to_string();
                    (id, t)
                })
                .collect()
        })
        .unwrap_or_default();
    let mut ordered: Vec<&J> = entries.iter().collect();
    // HAR does not promise order; the start time does.
    ordered.sort_by(|a, b| {
        let t = |e: &J| {
            e.get("startedDateTime")
                .and_then(J::as_str)
                .unwrap_or("")
                .to_string()
        };
        t(a).cmp(&t(b))
    });
    let mut scenarios: Vec<(String, ScenarioOut, Vec<String>)> = Vec::new();
    let mut base: Option<String> = None;
    let mut skipped_assets = 0usize;
    for (i, e) in ordered.iter().enumerate() {
        let page = e
            .get("pageref")
            .and_then(J::as_str)
            .unwrap_or("")
            .to_string();
        let at = format!("{title} entry {}", i + 1);
        if !include_assets && is_asset(e) {
            skipped_assets += 1;
            continue;
        }
        let status = e
            .pointer("/response/status")
            .and_then(J::as_u64)
            .unwrap_or(0);
        if status == 0 {
            ctx.note(
                &at,
                "no response was recorded (blocked or cancelled); left out",
            );
            continue;
        }
        let idx = match scenarios.iter().position(|(p, _, _)| *p == page) {
            Some(i) => i,
            None => {
                let name = pages
                    .iter()
                    .find(|(id, _)| *id == page)
                    .map(|(_, t)| t.clone())
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| title.to_string());
                let name = unique(&name, scenarios.iter().map(|(_, s, _)| s.name.as_str()));
                scenarios.push((
                    page.clone(),
                    ScenarioOut {
                        name,
                        ..ScenarioOut::default()
                    },
                    Vec::new(),
                ));
                scenarios.len() - 1
            }
        };
        let (_, scenario, set_cookies) = &mut scenarios[idx];
        let step = entry_step(e, &at, &mut base, set_cookies, ctx)?;
        scenario.steps.push(step);
    }
    if skipped_assets > 0 {
        ctx.note(
            title,
            format!("{skipped_assets} static asset request(s) (images, scripts, styles, fonts) left out; `--include-assets` keeps them"),
        );
    }
    Ok(FileOut {
        name: format!("{}.yaml", super::slug(title)),
        comments: vec![format!(
            "Imported from the browser recording {title} by `runner import har`."
        )],
        base_url: base,
        scenarios: scenarios.into_iter().map(|(_, s, _)| s).collect(),
        ..FileOut::default()
    })
}

fn unique<'a>(name: &str, taken: impl Iterator<Item = &'a str> + Clone) -> String {
    let mut n = name.to_string();
    let mut k = 2;
    while taken.clone().any(|t| t == n) {
        n = format!("{name} ({k})");
        k += 1;
    }
    n
}

fn is_asset(e: &J) -> bool {
    if let Some(t) = e.get("_resourceType").and_then(J::as_str) {
        let t = t.to_ascii_lowercase();
        if t == "xhr" || t == "fetch" || t == "document" {
            return false;
        }
        if ASSET_TYPES.contains(&t.as_str()) {
            return true;
        }
    }
    let mime = e
        .pointer("/response/content/mimeType")
        .and_then(J::as_str)
        .unwrap_or("")
        .to_ascii_lowercase();
    if mime.starts_with("image/")
        || mime.starts_with("font/")
        || mime.starts_with("video/")
        || mime.starts_with("audio/")
        || mime.contains("javascript")
        || mime.starts_with("text/css")
    {
        return true;
    }
    let url = e.pointer("/request/url").and_then(J::as_str).unwrap_or("");
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    ASSET_EXTENSIONS.iter().any(|x| path.ends_with(x))
}

fn entry_step(
    e: &J,
    at: &str,
    base: &mut Option<String>,
    set_cookies: &mut Vec<String>,
    ctx: &mut Ctx,
) -> Result<StepOut, String> {
    let req = e
        .get("request")
        .ok_or_else(|| format!("{at}: no `request`"))?;
    let method = req
        .get("method")
        .and_then(J::as_str)
        .unwrap_or("GET")
        .to_ascii_uppercase();
    let full = req
        .get("url")
        .and_then(J::as_str)
        .ok_or_else(|| format!("{at}: no `request.url`"))?;
    let mut step = StepOut {
        method: method.clone(),
        ..StepOut::default()
    };
    let (origin, path) =
        split_origin(full).ok_or_else(|| format!("{at}: `{full}` is not an http(s) URL"))?;
    let b = base.get_or_insert_with(|| origin.clone());
    let rel = if *b == origin { path } else { full.to_string() };
    let (url, pairs) = super::split_query(&rel);
    step.url = url;
    step.query = query_entries(&pairs, ctx, at);
    let mut content_type: Option<String> = None;
    for h in req
        .get("headers")
        .and_then(J::as_array)
        .into_iter()
        .flatten()
    {
        let name = h.get("name").and_then(J::as_str).unwrap_or("");
        let value = h.get("value").and_then(J::as_str).unwrap_or("");
        let lower = name.to_ascii_lowercase();
        if name.is_empty()
            || name.starts_with(':')
            || lower.starts_with("sec-")
            || BROWSER_HEADERS.contains(&lower.as_str())
        {
            continue;
        }
        if lower == "content-type" {
            content_type = Some(value.to_string());
        }
        if lower == "cookie" {
            // Cookies a response of this page set come from the scenario's own jar.
            let all_from_jar = value.split(';').all(|p| {
                let n = p.trim().split('=').next().unwrap_or("");
                set_cookies.iter().any(|c| c == n)
            });
            if all_from_jar {
                continue;
            }
        }
        // Every line is kept: a header sent twice is written as a list.
        let v = ctx.header(name, value, at);
        step.headers.push((name.to_string(), v));
    }
    if let Some(post) = req.get("postData") {
        let mime = post
            .get("mimeType")
            .and_then(J::as_str)
            .map(str::to_string)
            .or(content_type.clone())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let text = post.get("text").and_then(J::as_str).unwrap_or("");
        let params: Vec<(String, String)> = post
            .get("params")
            .and_then(J::as_array)
            .into_iter()
            .flatten()
            .map(|p| {
                (
                    p.get("name").and_then(J::as_str).unwrap_or("").to_string(),
                    p.get("value").and_then(J::as_str).unwrap_or("").to_string(),
                )
            })
            .collect();
        if mime.contains("json")
            && let Ok(mut y) = serde_json::from_str::<Y>(text)
        {
            ctx.json_body(&mut y, at);
            step.body = BodyOut::Json(y);
        } else if mime.starts_with("application/x-www-form-urlencoded") {
            let pairs: Vec<(String, String)> = if params.is_empty() {
                url::form_urlencoded::parse(text.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            } else {
                params
            };
            step.body = BodyOut::Form(
                pairs
                    .into_iter()
                    .map(|(k, v)| {
                        let v = ctx.field(&k, &v, at);
                        (k, v)
                    })
                    .collect(),
            );
            step.headers
                .retain(|(n, _)| !n.eq_ignore_ascii_case("content-type"));
        } else if mime.starts_with("multipart/") {
            ctx.note(
                at,
                "a multipart body (its files are not in the HAR) is not translated",
            );
        } else if !text.is_empty() {
            step.body = BodyOut::Text(text.to_string());
        }
    }
    let status = e
        .pointer("/response/status")
        .and_then(J::as_u64)
        .unwrap_or(0) as u16;
    // A 304 answered a conditional request whose validators are not copied.
    step.status = vec![if status == 304 { 200 } else { status }];
    if (300..400).contains(&status) && status != 304 {
        ctx.note(at, format!("the browser got a {status} redirect; the runner follows redirects, so expect what the last hop answers"));
    }
    for h in e
        .pointer("/response/headers")
        .and_then(J::as_array)
        .into_iter()
        .flatten()
    {
        if h.get("name")
            .and_then(J::as_str)
            .is_some_and(|n| n.eq_ignore_ascii_case("set-cookie"))
            && let Some(v) = h.get("value").and_then(J::as_str)
        {
            for line in v.lines() {
                if let Some(n) = line.split('=').next() {
                    set_cookies.push(n.trim().to_string());
                }
            }
        }
    }
    Ok(step)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_become_scenarios_assets_are_left_out() {
        let doc = serde_json::json!({"log": {
        "version": "1.2",
        "pages": [{"id": "page_1", "title": "Shop"}, {"id": "page_2", "title": "Cart"}],
        "entries": [
            {"pageref": "page_1", "startedDateTime": "2024-01-01T00:00:01Z",
             "request": {"method": "GET", "url": "https://shop.example.com/api/items?limit=2", "headers": [
                {"name": ":authority", "value": "shop.example.com"},
                {"name": "Accept", "value": "application/json"},
                {"name": "Cookie", "value": "session=abcdef123456"}]},
             "response": {"status": 200, "headers": [], "content": {"mimeType": "application/json"}}},
            {"pageref": "page_1", "startedDateTime": "2024-01-01T00:00:02Z", "_resourceType": "image",
             "request": {"method": "GET", "url": "https://shop.example.com/logo.png", "headers": []},
             "response": {"status": 200, "headers": [], "content": {"mimeType": "image/png"}}},
            {"pageref": "page_2", "startedDateTime": "2024-01-01T00:00:03Z",
             "request": {"method": "POST", "url": "https://shop.example.com/api/cart", "headers": [],
               "postData": {"mimeType": "application/json", "text": "{\"sku\":\"A-1\"}"}},
             "response": {"status": 201, "headers": [], "content": {"mimeType": "application/json"}}}
        ]}});
        let mut ctx = Ctx::default();
        let f = import_doc(&doc, "rec", false, &mut ctx).unwrap();
        assert_eq!(f.base_url.as_deref(), Some("https://shop.example.com"));
        assert_eq!(f.scenarios.len(), 2);
        assert_eq!(f.scenarios[0].name, "Shop");
        assert_eq!(f.scenarios[0].steps.len(), 1, "the image is left out");
        let s = &f.scenarios[0].steps[0];
        assert_eq!(s.url, "/api/items");
        assert_eq!(s.status, vec![200]);
        assert_eq!(
            s.headers,
            vec![
                ("Accept".to_string(), "application/json".to_string()),
                (
                    "Cookie".to_string(),
                    "session={{ env.COOKIE_SESSION_TOKEN }}".to_string()
                )
            ]
        );
        assert_eq!(f.scenarios[1].steps[0].status, vec![201]);
        assert!(ctx.notes.iter().any(|(_, w)| w.contains("1 static asset")));
        let with_assets = import_doc(&doc, "rec", true, &mut Ctx::default()).unwrap();
        assert_eq!(with_assets.scenarios[0].steps.len(), 2);
    }

    #[test]
    fn not_a_har_is_an_error() {
        let err = import_doc(
            &serde_json::json!({"x": 1}),
            "f",
            false,
            &mut Ctx::default(),
        )
        .unwrap_err();
        assert!(err.contains("not a HAR"), "{err}");
    }
}
