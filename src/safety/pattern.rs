//! Matching requests against endpoint patterns like `POST /v1/projects/{id}/content`,
//! both before a run (on URL templates, whose `{{ ... }}` parts are unknown) and
//! while it runs (on the URLs actually about to be sent).

/// Which methods an endpoint pattern covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Methods {
    Any,
    These(Vec<String>),
}

impl Methods {
    pub fn matches(&self, method: &str) -> bool {
        match self {
            Methods::Any => true,
            Methods::These(list) => list.iter().any(|m| m.eq_ignore_ascii_case(method)),
        }
    }
}

/// One segment of an endpoint's path pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PatSeg {
    Lit(String),
    /// `{name}` or `*`: any one segment.
    One,
    /// `**`: any number of segments (zero included).
    Rest,
}

/// `METHOD /path/{param}/...` from a cost catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointPattern {
    pub methods: Methods,
    segments: Vec<PatSeg>,
    /// As written, for messages.
    pub text: String,
}

impl EndpointPattern {
    /// Parse `POST /v1/jobs/{id}/cancel`, `POST|PATCH /v1/ads/**`, `* /v1/x`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let (method, path) = t
            .split_once(char::is_whitespace)
            .ok_or_else(|| format!("`{t}` should look like `POST /v1/path/{{id}}`"))?;
        let path = path.trim();
        if !path.starts_with('/') {
            return Err(format!("the path `{path}` should start with `/`"));
        }
        let methods = if method == "*" {
            Methods::Any
        } else {
            let list: Vec<String> = method.split('|').map(|m| m.trim().to_uppercase()).collect();
            if let Some(bad) = list
                .iter()
                .find(|m| !crate::scenario::model::METHODS.contains(&m.as_str()))
            {
                return Err(format!(
                    "`{bad}` is not an HTTP method (one of {}, several joined by |, or *)",
                    crate::scenario::model::METHODS.join(", ")
                ));
            }
            Methods::These(list)
        };
        let segments = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| match s {
                "**" => PatSeg::Rest,
                "*" => PatSeg::One,
                s if s.starts_with('{') && s.ends_with('}') => PatSeg::One,
                s => PatSeg::Lit(s.to_string()),
            })
            .collect();
        Ok(EndpointPattern {
            methods,
            segments,
            text: format!("{method} {path}"),
        })
    }

    /// The segments of `segs` that this pattern's parameters (`{id}`, `*`) stand for,
    /// the pattern lined up with the end of the path (a base path may come first).
    /// `None` when the literal parts do not line up, or the pattern has `**`.
    pub fn bound_segments<'s>(&self, segs: &'s [String]) -> Option<Vec<&'s str>> {
        if self.segments.contains(&PatSeg::Rest) || segs.len() < self.segments.len() {
            return None;
        }
        let tail = &segs[segs.len() - self.segments.len()..];
        let mut out = Vec::new();
        for (seg, pat) in tail.iter().zip(&self.segments) {
            match pat {
                PatSeg::Lit(t) if seg.eq_ignore_ascii_case(t) => {}
                PatSeg::One => out.push(seg.as_str()),
                _ => return None,
            }
        }
        Some(out)
    }

    /// Whether a request to `path` (its segments) with `method` may hit this endpoint.
    pub fn matches(&self, method: &str, path: &PathShape) -> bool {
        self.methods.matches(method) && path_matches(&path.0, &self.segments)
    }
}

/// One segment of a request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlSeg {
    Lit(String),
    /// Rendered at run time (`{{ ... }}`): could be one or several segments.
    Dyn,
}

/// The path of a request, or of a URL template with its dynamic parts marked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathShape(pub Vec<UrlSeg>);

/// Stands for a template span while a URL template is cut into segments.
pub(crate) const MARK: char = '\u{1}';

impl PathShape {
    /// The static shape of a URL template: scheme and host dropped, query dropped,
    /// `{{ ... }}` parts as dynamic segments. `None` when nothing of the path is
    /// static (`{{ next_url }}`): only the run can tell where it goes.
    pub fn of_template(src: &str) -> Option<Self> {
        Self::views_of_template(src).and_then(|v| v.into_iter().next())
    }

    /// Every way a server may read the path of a URL template ([`views_of_path`]),
    /// `{{ ... }}` parts as dynamic segments; `None` when nothing of the path is static.
    pub fn views_of_template(src: &str) -> Option<Vec<Self>> {
        let marked = mark_templates(src);
        let path = strip_origin(&marked);
        let path = path.split(['?', '#']).next().unwrap_or("");
        let views = views_of_path(path);
        views
            .iter()
            .any(|v| v.0.iter().any(|s| matches!(s, UrlSeg::Lit(_))))
            .then_some(views)
    }

    /// The path of a URL about to be sent, as sent (each segment decoded).
    pub fn of_url(url: &url::Url) -> Self {
        PathShape(
            url.path()
                .split('/')
                .filter(|s| !s.is_empty())
                .map(|s| {
                    let decoded = percent_encoding::percent_decode_str(s).decode_utf8_lossy();
                    UrlSeg::Lit(decoded.into_owned())
                })
                .collect(),
        )
    }

    /// Every way a server may read the path of a URL about to be sent.
    pub fn views_of_url(url: &url::Url) -> Vec<Self> {
        views_of_path(url.path())
    }
}

/// How many times a path is percent-decoded at most: a server (or a proxy in front
/// of it) that decodes twice turns `%252F` into `/`.
const DECODE_ROUNDS: usize = 3;

/// The ways servers read a raw request path (`MARK` standing for template parts):
///
/// 1. segment by segment, each percent-decoded, as a strict router does;
/// 2. the whole path percent-decoded (up to [`DECODE_ROUNDS`] times, so `%2F` and
///    `%252F` become `/` as on servers that decode before routing), `\` read as `/`,
///    `;parameters` dropped from segments (servlet containers), empty segments
///    (`//`) and `.` dropped, `..` going one segment up.
///
/// Names are compared without regard to ASCII case by the matcher, as many servers
/// route. A request matches an endpoint when any view does: the guard errs on the side
/// of refusing.
pub fn views_of_path(raw: &str) -> Vec<PathShape> {
    let seg = |s: &str| {
        if s.contains(MARK) {
            UrlSeg::Dyn
        } else {
            UrlSeg::Lit(s.to_string())
        }
    };
    let strict = PathShape(
        raw.split('/')
            .filter(|s| !s.is_empty())
            .map(|s| seg(&percent_encoding::percent_decode_str(s).decode_utf8_lossy()))
            .collect(),
    );
    let mut decoded = raw.to_string();
    for _ in 0..DECODE_ROUNDS {
        let next = percent_encoding::percent_decode_str(&decoded)
            .decode_utf8_lossy()
            .into_owned();
        if next == decoded {
            break;
        }
        decoded = next;
    }
    let mut segs: Vec<UrlSeg> = Vec::new();
    for s in decoded.split(['/', '\\']) {
        let s = s.split(';').next().unwrap_or("");
        match s {
            "" | "." => {}
            ".." => {
                segs.pop();
            }
            s => segs.push(seg(s)),
        }
    }
    let lenient = PathShape(segs);
    if lenient == strict {
        vec![strict]
    } else {
        vec![strict, lenient]
    }
}

/// Whether a URL template names an absolute URL (its own scheme and host).
pub fn is_absolute_template(src: &str) -> bool {
    let t = src.trim_start();
    t.starts_with("http://") || t.starts_with("https://")
}

/// Whether a URL template begins with template code (`{{ base }}/v1/...`): where
/// it goes is known only at run time.
pub fn starts_dynamic(src: &str) -> bool {
    let t = src.trim_start();
    t.starts_with("{{") || t.starts_with("{%")
}

pub(crate) fn mark_templates(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let mut rest = src;
    loop {
        let next = ["{{", "{%", "{#"]
            .iter()
            .filter_map(|open| rest.find(open).map(|i| (i, *open)))
            .min_by_key(|(i, _)| *i);
        let Some((start, open)) = next else {
            out.push_str(rest);
            return out;
        };
        let close = match open {
            "{{" => "}}",
            "{%" => "%}",
            _ => "#}",
        };
        out.push_str(&rest[..start]);
        out.push(MARK);
        match rest[start + 2..].find(close) {
            Some(end) => rest = &rest[start + 2 + end + 2..],
            None => return out,
        }
    }
}

pub(crate) fn strip_origin(url: &str) -> &str {
    let t = url.trim();
    for scheme in ["http://", "https://"] {
        if let Some(after) = t.strip_prefix(scheme) {
            return after.find('/').map_or("", |i| &after[i..]);
        }
    }
    t
}

/// `u` matches `p`, after some leading segments of `u` (a base path). Leading dynamic
/// segments (`{{ base }}/...`, `{{ project_url }}/ingest/appstore`) may stand for any
/// number of segments; any other dynamic segment stands for exactly one.
fn path_matches(u: &[UrlSeg], p: &[PatSeg]) -> bool {
    // The common case, every request the runner is about to send: a literal path and
    // a pattern without `**` match when the pattern lines up with the path's end.
    if !p.is_empty() && !p.contains(&PatSeg::Rest) && u.iter().all(|s| matches!(s, UrlSeg::Lit(_)))
    {
        return u.len() >= p.len()
            && u[u.len() - p.len()..]
                .iter()
                .zip(p)
                .all(|(seg, pat)| match (seg, pat) {
                    (UrlSeg::Lit(s), PatSeg::Lit(t)) => s.eq_ignore_ascii_case(t),
                    _ => true,
                });
    }
    let mut memo = Memo {
        cells: vec![None; (u.len() + 1) * (p.len() + 1)],
        width: p.len() + 1,
    };
    let leading = u.iter().take_while(|s| **s == UrlSeg::Dyn).count();
    if leading > 0 && (0..=p.len()).any(|j| matches_from(u, p, leading, j, &mut memo)) {
        return true;
    }
    // A literal base path (`/api/v1/...`) may come first; never a dynamic segment
    // taken for the pattern's first literal.
    let literal_prefix = u.iter().take_while(|s| matches!(s, UrlSeg::Lit(_))).count();
    (0..literal_prefix.max(1)).any(|start| matches_from(u, p, start, 0, &mut memo))
}

/// What `matches_from(i, j)` found, for each (i, j) already tried.
struct Memo {
    cells: Vec<Option<bool>>,
    width: usize,
}

fn matches_from(u: &[UrlSeg], p: &[PatSeg], i: usize, j: usize, memo: &mut Memo) -> bool {
    let cell = i * memo.width + j;
    if let Some(known) = memo.cells[cell] {
        return known;
    }
    let result = if j == p.len() {
        i == u.len()
    } else if p[j] == PatSeg::Rest {
        matches_from(u, p, i, j + 1, memo) || (i < u.len() && matches_from(u, p, i + 1, j, memo))
    } else if i == u.len() {
        false
    } else {
        match (&u[i], &p[j]) {
            (UrlSeg::Dyn, _) | (UrlSeg::Lit(_), PatSeg::One) => {
                matches_from(u, p, i + 1, j + 1, memo)
            }
            (UrlSeg::Lit(s), PatSeg::Lit(t)) => {
                s.eq_ignore_ascii_case(t) && matches_from(u, p, i + 1, j + 1, memo)
            }
            (UrlSeg::Lit(_), PatSeg::Rest) => false,
        }
    };
    memo.cells[cell] = Some(result);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(pattern: &str, method: &str, template: &str) -> bool {
        let p = EndpointPattern::parse(pattern).unwrap();
        PathShape::of_template(template).is_some_and(|s| p.matches(method, &s))
    }

    #[test]
    fn template_segments_are_wildcards() {
        let p = "POST /v1/projects/{id}/ingest/appstore";
        assert!(hits(
            p,
            "POST",
            "/v1/projects/{{ project_id }}/ingest/appstore"
        ));
        assert!(hits(
            p,
            "post",
            "/v1/projects/prj_{{ id }}/ingest/appstore?x=1"
        ));
        assert!(hits(
            p,
            "POST",
            "{{ base }}/v1/projects/{{ id }}/ingest/appstore"
        ));
        assert!(hits(
            p,
            "POST",
            "https://api.layers.com/v1/projects/abc/ingest/appstore"
        ));
        assert!(hits(p, "POST", "/v1/projects/{{ id }}/ingest/{{ source }}"));
        assert!(hits(p, "POST", "{{ project_url }}/ingest/appstore"));
        assert!(!hits(p, "GET", "/v1/projects/{{ id }}/ingest/appstore"));
        assert!(!hits(p, "POST", "/v1/projects/{{ id }}/ingest/github"));
        assert!(!hits(p, "POST", "/v1/projects/{{ id }}"));
        assert!(!hits(
            p,
            "POST",
            "/v1/projects/{{ id }}/ingest/appstore/extra"
        ));
        // The archive in a `finally` is no ads write.
        let ads = "POST|PUT|PATCH|DELETE /v1/projects/{id}/ads/**";
        assert!(!hits(ads, "DELETE", "/v1/projects/{{ project_id }}"));
        assert!(hits(
            ads,
            "DELETE",
            "/v1/projects/{{ project_id }}/ads/{{ ad }}"
        ));
    }

    #[test]
    fn a_fully_dynamic_url_has_no_static_shape() {
        assert_eq!(PathShape::of_template("{{ next_url }}"), None);
        assert_eq!(PathShape::of_template("{{ a }}/{{ b }}"), None);
    }

    #[test]
    fn rest_and_method_lists() {
        let p = "POST|PATCH|DELETE /v1/projects/{id}/ads/**";
        assert!(hits(
            p,
            "PATCH",
            "/v1/projects/{{ id }}/ads/campaigns/{{ c }}"
        ));
        assert!(hits(p, "POST", "/v1/projects/x/ads"));
        assert!(!hits(p, "GET", "/v1/projects/x/ads/campaigns"));
        assert!(hits("* /v1/x", "OPTIONS", "/v1/x"));
        assert!(EndpointPattern::parse("FETCH /v1/x").is_err());
        assert!(EndpointPattern::parse("/v1/x").is_err());
    }

    #[test]
    fn the_shortcut_for_sent_urls_agrees_with_the_general_match() {
        let patterns = [
            "/v1/jobs/{id}/cancel",
            "/v1/projects/*/ingest/appstore",
            "/v1/whoami",
            "/ads/**",
            "/v1/**/publish",
        ];
        let paths = [
            "",
            "/v1/whoami",
            "/base/v1/whoami",
            "/v1/jobs/job_1/cancel",
            "/api/V1/JOBS/j/cancel",
            "/v1/jobs/cancel",
            "/v1/projects/p/ingest/appstore/extra",
            "/ads/campaigns/1",
            "/v1/content/c/publish",
        ];
        for pat in patterns {
            let pattern = EndpointPattern::parse(&format!("POST {pat}")).unwrap();
            for path in paths {
                let u = url::Url::parse(&format!("http://127.0.0.1:9{path}")).unwrap();
                let shape = PathShape::of_url(&u);
                let mut memo = Memo {
                    cells: vec![None; (shape.0.len() + 1) * (pattern.segments.len() + 1)],
                    width: pattern.segments.len() + 1,
                };
                let starts = shape.0.len().max(1);
                let general = (0..starts)
                    .any(|start| matches_from(&shape.0, &pattern.segments, start, 0, &mut memo));
                assert_eq!(
                    path_matches(&shape.0, &pattern.segments),
                    general,
                    "{pat} on {path}"
                );
            }
        }
    }

    #[test]
    fn servers_read_paths_several_ways() {
        let lits = |v: &PathShape| -> Vec<String> {
            v.0.iter()
                .map(|s| match s {
                    UrlSeg::Lit(l) => l.clone(),
                    UrlSeg::Dyn => "*".into(),
                })
                .collect()
        };
        for (raw, lenient) in [
            ("/a/b", vec!["a", "b"]),
            ("/a%2Fb", vec!["a", "b"]),
            ("/a%252Fb", vec!["a", "b"]),
            ("/a//b/./c", vec!["a", "b", "c"]),
            ("/a/x/../b", vec!["a", "b"]),
            ("/a/x/%2e%2e/b", vec!["a", "b"]),
            ("/a/b;jsessionid=1", vec!["a", "b"]),
            ("/a\\b", vec!["a", "b"]),
            ("/../../a", vec!["a"]),
        ] {
            let views = views_of_path(raw);
            assert_eq!(
                views.last().map(lits),
                Some(lenient.iter().map(|s| s.to_string()).collect()),
                "{raw}"
            );
        }
        // The strict reading keeps an encoded slash inside its segment.
        assert_eq!(lits(&views_of_path("/a%2Fb")[0]), ["a/b"]);
        // Template parts stay dynamic through decoding.
        let marked = format!("/v1/{MARK}id{MARK}/x");
        assert_eq!(lits(&views_of_path(&marked)[0]), ["v1", "*", "x"]);
    }

    #[test]
    fn urls_about_to_be_sent() {
        let p = EndpointPattern::parse("POST /v1/jobs/{id}/cancel").unwrap();
        let u = url::Url::parse("http://127.0.0.1:9/base/v1/jobs/job_1/cancel?x=y").unwrap();
        assert!(p.matches("POST", &PathShape::of_url(&u)));
        let u = url::Url::parse("http://127.0.0.1:9/v1/jobs/job_1").unwrap();
        assert!(!p.matches("POST", &PathShape::of_url(&u)));
    }
}
