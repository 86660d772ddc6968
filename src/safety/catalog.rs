//! The cost catalog: which endpoints cost money or reach outside systems, what they
//! cost, and which request cancels the jobs they start.
//!
//! The Layers catalog (`catalog/layers-costs.yaml`) is built into the binary; users
//! add their own APIs with `--cost-catalog FILE` in the same format.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::pattern::{EndpointPattern, PathShape};
use crate::diagnostic::{Diagnostic, Diagnostics, Loc};

/// The Layers catalog, as shipped in the repository.
pub const LAYERS_CATALOG: &str = include_str!("../../catalog/layers-costs.yaml");
/// What the built-in catalog is called in messages.
pub const LAYERS_CATALOG_NAME: &str = "catalog/layers-costs.yaml (built in)";

/// A catalog file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogDoc {
    /// Cost kind -> what it means.
    #[serde(default)]
    kinds: IndexMap<String, String>,
    #[serde(default)]
    endpoints: Vec<Spanned<EntryDoc>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryDoc {
    endpoint: Spanned<String>,
    costs: Vec<Spanned<String>>,
    what: Option<String>,
    cancel: Option<Spanned<String>>,
}

/// One costly endpoint.
#[derive(Debug, Clone)]
pub struct CostlyEndpoint {
    pub pattern: EndpointPattern,
    pub costs: Vec<String>,
    /// What the call sets in motion, in words.
    pub what: String,
    /// The request that cancels the job this endpoint starts, if it starts one.
    pub cancel: Option<EndpointPattern>,
    /// `file:line` of the entry, for "why was I refused".
    pub source: String,
}

/// Every known costly endpoint and cost kind.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub endpoints: Vec<CostlyEndpoint>,
    /// Cost kind -> what it means.
    pub kinds: IndexMap<String, String>,
}

impl Catalog {
    /// The built-in Layers catalog.
    pub fn builtin() -> Catalog {
        let mut c = Catalog::default();
        let mut diags = Diagnostics::default();
        match serde_saphyr::from_str::<CatalogDoc>(LAYERS_CATALOG) {
            Ok(doc) => c.add(doc, Path::new(LAYERS_CATALOG_NAME), &mut diags),
            Err(e) => diags.push(Diagnostic::new(
                LAYERS_CATALOG_NAME,
                Loc::UNKNOWN,
                e.to_string(),
            )),
        }
        // The file is ours and tested (see the tests below); a broken one must not pass quietly.
        debug_assert!(diags.is_empty(), "{}", diags.render());
        c
    }

    /// The built-in catalog plus the user's files.
    pub fn load(extra: &[PathBuf]) -> Result<Catalog, Diagnostics> {
        let mut c = Catalog::builtin();
        let mut diags = Diagnostics::default();
        for path in extra {
            match crate::scenario::read::parse_yaml::<CatalogDoc>(path) {
                Ok(doc) => c.add(doc, path, &mut diags),
                Err(d) => diags.extend(d),
            }
        }
        if diags.is_empty() { Ok(c) } else { Err(diags) }
    }

    fn add(&mut self, doc: CatalogDoc, file: &Path, diags: &mut Diagnostics) {
        for (k, v) in doc.kinds {
            if !is_kind_name(&k) {
                diags.push(
                    Diagnostic::new(file, Loc::UNKNOWN, format!("`{k}` is not a cost kind name"))
                        .hint("use lowercase letters, digits and _ (e.g. `sms`, `ad_spend`)"),
                );
            }
            self.kinds.insert(k, v);
        }
        for e in doc.endpoints {
            let entry_loc: Loc = e.referenced.into();
            let e = e.value;
            let loc: Loc = e.endpoint.referenced.into();
            let pattern = match EndpointPattern::parse(&e.endpoint.value) {
                Ok(p) => p,
                Err(why) => {
                    diags.push(
                        Diagnostic::new(file, loc, why)
                            .width(e.endpoint.value.chars().count())
                            .hint("write `METHOD /path`, e.g. `POST /v1/projects/{id}/content`"),
                    );
                    continue;
                }
            };
            let cancel = match e.cancel {
                None => None,
                Some(c) => match EndpointPattern::parse(&c.value) {
                    Ok(p) => Some(p),
                    Err(why) => {
                        diags.push(
                            Diagnostic::new(file, c.referenced.into(), why)
                                .width(c.value.chars().count())
                                .hint("write the cancel request, e.g. `POST /v1/jobs/{id}/cancel`"),
                        );
                        continue;
                    }
                },
            };
            if e.costs.is_empty() {
                diags.push(
                    Diagnostic::new(file, loc, "an endpoint needs at least one cost kind")
                        .hint("e.g. `costs: [credits]`"),
                );
                continue;
            }
            let mut costs = Vec::new();
            for k in e.costs {
                if !is_kind_name(&k.value) {
                    diags.push(
                        Diagnostic::new(
                            file,
                            k.referenced.into(),
                            format!("`{}` is not a cost kind name", k.value),
                        )
                        .width(k.value.chars().count())
                        .hint("use lowercase letters, digits and _ (e.g. `sms`, `ad_spend`)"),
                    );
                    continue;
                }
                self.kinds
                    .entry(k.value.clone())
                    .or_insert_with(|| format!("costs `{}`", k.value));
                costs.push(k.value);
            }
            self.endpoints.push(CostlyEndpoint {
                what: e.what.unwrap_or_else(|| pattern.text.clone()),
                pattern,
                costs,
                cancel,
                source: format!("{}:{}", file.display(), entry_loc.line),
            });
        }
    }

    /// The costly endpoints a request with `method` to `path` may hit.
    pub fn matching<'a>(
        &'a self,
        method: &'a str,
        path: &'a PathShape,
    ) -> impl Iterator<Item = &'a CostlyEndpoint> + 'a {
        self.endpoints
            .iter()
            .filter(move |e| e.pattern.matches(method, path))
    }

    /// The costly endpoints a request with `method` may hit, if any of the ways a
    /// server reads its path (`views`) matches; each endpoint once, in catalog order.
    pub fn matching_any(&self, method: &str, views: &[PathShape]) -> Vec<&CostlyEndpoint> {
        self.endpoints
            .iter()
            .filter(|e| views.iter().any(|v| e.pattern.matches(method, v)))
            .collect()
    }

    /// Whether `kind` is a known cost kind.
    pub fn knows(&self, kind: &str) -> bool {
        self.kinds.contains_key(kind)
    }
}

fn is_kind_name(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_catalog_parses_and_covers_the_page() {
        let doc: CatalogDoc = serde_saphyr::from_str(LAYERS_CATALOG).unwrap();
        let mut c = Catalog::default();
        let mut diags = Diagnostics::default();
        c.add(doc, Path::new("x"), &mut diags);
        assert!(diags.is_empty(), "{}", diags.render());
        let costs = |m: &str, t: &str| -> Vec<String> {
            let shape = PathShape::of_template(t).unwrap();
            let mut v: Vec<String> = c
                .matching(m, &shape)
                .flat_map(|e| e.costs.clone())
                .collect();
            v.sort();
            v
        };
        assert_eq!(costs("POST", "/v1/projects/{{ p }}/content"), ["credits"]);
        assert_eq!(costs("POST", "/v1/content/{{ c }}/regenerate"), ["credits"]);
        assert_eq!(
            costs("POST", "/v1/projects/{{ p }}/ingest/github"),
            ["agent", "pull_request"]
        );
        assert_eq!(
            costs("POST", "/v1/projects/{{ p }}/ingest/appstore"),
            ["scrape"]
        );
        assert_eq!(
            costs("POST", "/v1/projects/{{ p }}/ingest/website"),
            ["scrape"]
        );
        assert_eq!(costs("POST", "/v1/content/{{ c }}/publish"), ["post"]);
        assert_eq!(costs("POST", "/v1/content/{{ c }}/schedule"), ["post"]);
        assert_eq!(
            costs("PATCH", "/v1/projects/{{ p }}/ads/campaigns/1"),
            ["ad_spend"]
        );
        // What the page calls safe.
        for (m, t) in [
            ("GET", "/v1/whoami"),
            ("POST", "/v1/projects"),
            ("PATCH", "/v1/projects/{{ p }}"),
            ("DELETE", "/v1/projects/{{ p }}"),
            ("GET", "/v1/projects/{{ p }}/content"),
            ("GET", "/v1/content/{{ c }}"),
            ("GET", "/v1/projects/{{ p }}/metrics"),
            ("GET", "/v1/projects/{{ p }}/ads-metrics"),
            ("GET", "/v1/projects/{{ p }}/ads/campaigns"),
            ("POST", "/v1/jobs/{{ j }}/cancel"),
            ("POST", "/v1/webhook-endpoints"),
            ("POST", "/v1/webhook-endpoints/{{ e }}/test"),
        ] {
            assert!(costs(m, t).is_empty(), "{m} {t}");
        }
        assert!(
            c.endpoints
                .iter()
                .all(|e| e.costs.iter().all(|k| c.knows(k)))
        );
    }
}
