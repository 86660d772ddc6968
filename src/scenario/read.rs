//! Reading user files within bounds, and parsing YAML with positions: the leaf
//! every loader of the runner uses (scenarios, includes, vars files, catalogs,
//! certificates, request bodies).

use std::path::Path;

use serde::Deserialize;

use super::sink;
use crate::diagnostic::{Diagnostic, Diagnostics, Loc};

/// Files larger than this are refused rather than parsed.
pub(super) const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Mappings and lists nested deeper than this are refused.
pub const MAX_NESTING: usize = 64;
/// Files with more values (keys, scalars, lists, mappings) than this are refused.
pub const MAX_NODES: usize = 2_000_000;

pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or folder".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Parse a YAML file into `T`, stopping at the first problem.
pub fn parse_yaml<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, Diagnostics> {
    match parse_yaml_lenient(path) {
        (Some(v), d) if d.is_empty() => Ok(v),
        (_, d) => Err(d),
    }
}

/// Parse a YAML file into `T`, and with leaf problems (a bad JSONPath, regex or
/// duration: placeholders stand in for them) still hand back the value, so that
/// the checks after loading (methods, templates) report their problems in the
/// same run: `validate` lists every problem of a file at once.
pub fn parse_yaml_lenient<T: for<'de> Deserialize<'de>>(path: &Path) -> (Option<T>, Diagnostics) {
    let mut diags = Diagnostics::default();
    let bytes = match read_limited(path) {
        Ok(b) => b,
        Err(d) => {
            diags.push(d);
            return (None, diags);
        }
    };
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(e) => {
            crate::diagnostic::keep_source(path, &String::from_utf8_lossy(&bytes));
            let (line, col) = line_col(&bytes[..e.valid_up_to()]);
            diags.push(
                Diagnostic::new(
                    path,
                    Loc::new(line, col),
                    "the file is not valid UTF-8 text",
                )
                .hint("save it as UTF-8; is it a scenario file at all?"),
            );
            return (None, diags);
        }
    };
    crate::diagnostic::keep_source(path, text);
    if text.trim().is_empty()
        || text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        diags.push(
            Diagnostic::new(path, Loc::new(1, 1), "the file is empty")
                .hint("a scenario needs at least `name` and `steps`"),
        );
        return (None, diags);
    }
    if let Some(pos) = text.find('\0') {
        let (line, col) = line_col(&bytes[..pos]);
        diags.push(
            Diagnostic::new(
                path,
                Loc::new(line, col),
                "the file holds binary data (a NUL byte)",
            )
            .hint("scenario files are YAML text"),
        );
        return (None, diags);
    }
    sink::drain();
    sink::set_source(Some(text));
    let parsed = serde_saphyr::from_str_with_options::<T>(text, yaml_options());
    sink::set_source(None);
    let problems = sink::drain();
    for p in problems {
        let mut d = Diagnostic::new(path, p.loc, p.message).width(p.width);
        if let Some(h) = p.hint {
            d = d.hint(h);
        }
        diags.push(d);
    }
    match parsed {
        Ok(v) => (Some(v), diags),
        Err(e) => {
            // A structural error may be a consequence of an earlier leaf problem; show both.
            // A syntax error further on may be its cause: then it is the one to fix.
            diags.push(
                super::yaml_error::first_syntax_error(path, text, &e)
                    .unwrap_or_else(|| super::yaml_error::yaml_error(path, text, &e)),
            );
            (None, diags)
        }
    }
}

pub(super) fn read_limited(path: &Path) -> Result<Vec<u8>, Diagnostic> {
    read_capped(path, MAX_FILE_BYTES)
        .map_err(|why| Diagnostic::new(path, Loc::UNKNOWN, format!("cannot read: {why}")))
}

/// Read a regular file of at most `max` bytes. A device (`/dev/zero`), a FIFO or
/// a file that grows while it is read is refused instead of read forever.
pub fn read_capped(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let regular = |meta: &std::fs::Metadata| -> Result<(), String> {
        if meta.is_dir() {
            Err("it is a folder, not a file".into())
        } else if !meta.is_file() {
            Err("it is not a regular file (a device, a pipe or a socket)".into())
        } else {
            Ok(())
        }
    };
    // Looked at before opening: opening a FIFO blocks until someone writes to it.
    regular(&std::fs::metadata(path).map_err(|e| io_reason(&e))?)?;
    let file = std::fs::File::open(path).map_err(|e| io_reason(&e))?;
    let meta = file.metadata().map_err(|e| io_reason(&e))?;
    regular(&meta)?;
    let too_big = || format!("the file is over the {} MB limit", max >> 20);
    if meta.len() > max {
        return Err(too_big());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| io_reason(&e))?;
    if bytes.len() as u64 > max {
        return Err(too_big());
    }
    Ok(bytes)
}

fn line_col(prefix: &[u8]) -> (u32, u32) {
    let line = prefix.iter().filter(|b| **b == b'\n').count() + 1;
    let start = prefix
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |p| p + 1);
    let col = String::from_utf8_lossy(&prefix[start..]).chars().count() + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    )
}

fn yaml_options() -> serde_saphyr::Options {
    let mut o = serde_saphyr::options! {
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        budget: serde_saphyr::budget! {
            max_documents: 1,
            // Nesting is what overflows stacks; 64 levels is far beyond any request body.
            max_depth: MAX_NESTING,
            // About 80 000 ordinary steps; a flood of tiny values is refused in
            // seconds rather than parsed into gigabytes.
            max_nodes: MAX_NODES,
            max_events: 2 * MAX_NODES,
        },
    };
    // Alias bombs: a few hundred bytes that expand to billions of nodes.
    o.alias_limits.max_total_replayed_events = 100_000;
    o.alias_limits.max_replay_stack_depth = 16;
    o.alias_limits.max_alias_expansions_per_anchor = 1_000;
    // Diagnostics quote the source themselves; a snippet per error would copy text.
    o.with_snippet = false;
    o
}
