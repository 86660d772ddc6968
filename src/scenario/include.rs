//! `include:` steps: a file of shared steps, inlined where it is named, with its
//! `with:` parameters.

use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::discover::tidy_path;
use super::load::Loader;
use super::model::StepDoc;
use super::read::{MAX_FILE_BYTES, parse_yaml, read_capped};
use super::suite::{Params, Step};
use super::values::TValue;
use crate::diagnostic::{Diagnostic, Loc};

/// Includes nested deeper than this are taken for a cycle.
const MAX_INCLUDE_DEPTH: usize = 16;

/// Steps of an included file: a list of steps, or a mapping with `steps`.
///
/// Deserialized by hand rather than as an untagged enum: an untagged enum buffers
/// the document and loses the positions every diagnostic needs.
enum IncludeDoc {
    List(Vec<Spanned<StepDoc>>),
    Map(IncludeMap),
}

impl<'de> Deserialize<'de> for IncludeDoc {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = IncludeDoc;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of steps, or a mapping with `steps:`")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<IncludeDoc, A::Error> {
                let mut steps = Vec::new();
                while let Some(step) = seq.next_element::<Spanned<StepDoc>>()? {
                    steps.push(step);
                }
                Ok(IncludeDoc::List(steps))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<IncludeDoc, A::Error> {
                IncludeMap::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(IncludeDoc::Map)
            }
        }
        d.deserialize_any(V)
    }
}

/// The schema derive gives the "unknown key" hints this mapping's keys.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct IncludeMap {
    #[allow(dead_code)]
    description: Option<String>,
    #[schemars(with = "Vec<StepDoc>")]
    steps: Vec<Spanned<StepDoc>>,
}

/// An included file as a loader keeps it for the next file that includes it:
/// its steps, or `None` when it could not be read or parsed (said once).
pub(super) type Parsed = super::read::Noted<Option<Arc<Vec<Spanned<StepDoc>>>>>;

impl Loader {
    pub(super) fn include(
        &mut self,
        file: &Arc<Path>,
        inc: Spanned<String>,
        with: IndexMap<String, TValue>,
        params: &Arc<Params>,
        depth: usize,
    ) -> Vec<Step> {
        let loc: Loc = inc.referenced.into();
        if depth >= MAX_INCLUDE_DEPTH {
            self.diags.push(
                Diagnostic::new(
                    file.as_ref(),
                    loc,
                    format!("includes nested deeper than {MAX_INCLUDE_DEPTH}"),
                )
                .hint("does an included file include itself?"),
            );
            return Vec::new();
        }
        let base = file.parent().unwrap_or(Path::new("."));
        let target = tidy_path(&base.join(&inc.value));
        self.included.push(target.clone());
        if !self.includes.contains_key(&target) {
            let parsed = super::read::Noted::record(|| {
                if !target.is_file() {
                    self.diags.push(
                        Diagnostic::new(
                            file.as_ref(),
                            loc,
                            format!("included file `{}` not found", target.display()),
                        )
                        .width(inc.value.chars().count())
                        .hint("paths are relative to the file that includes them"),
                    );
                    return None;
                }
                match parse_yaml::<IncludeDoc>(&target) {
                    Ok(IncludeDoc::List(steps)) | Ok(IncludeDoc::Map(IncludeMap { steps, .. })) => {
                        Some(Arc::new(steps))
                    }
                    Err(d) => {
                        self.diags.extend(d);
                        None
                    }
                }
            });
            self.includes.insert(target.clone(), parsed);
        }
        // Each use notes what parsing it read, so that a file's fingerprint does
        // not depend on which file of the loader's came first.
        let docs = self.includes.get(&target).and_then(|p| p.replay().clone());
        let Some(docs) = docs else { return Vec::new() };
        let merged = Arc::new(Params {
            parent: Some(params.clone()),
            file: Some(file.clone()),
            own: with.into_iter().collect(),
        });
        let inc_file: Arc<Path> = Arc::from(target.as_path());
        self.steps(&inc_file, docs.as_ref().clone(), &merged, depth + 1)
    }
}

/// The files a scenario file that cannot be parsed seems to include: a search of
/// its text for `include:` values. Only for such a file; a parsed one says
/// exactly, by its steps.
pub(super) fn named_in_text(path: &Path) -> Vec<std::path::PathBuf> {
    static INCLUDE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let Some(re) = INCLUDE.get_or_init(|| {
        regex::Regex::new(r#"(?m)(?:^|[\s{,-])include:\s*["']?([^"'\s,}#]+)"#).ok()
    }) else {
        return Vec::new();
    };
    let Ok(bytes) = read_capped(path, MAX_FILE_BYTES) else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&bytes);
    let base = path.parent().unwrap_or(Path::new("."));
    re.captures_iter(&text)
        .map(|cap| tidy_path(&base.join(&cap[1])))
        .collect()
}
