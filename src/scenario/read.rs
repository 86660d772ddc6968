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
/// While [`fingerprinted`] runs on this thread, what was read is noted.
pub fn read_capped(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    let read = read_capped_unnoted(path, max);
    if noting() {
        use std::hash::{Hash as _, Hasher as _};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        path.hash(&mut h);
        read.hash(&mut h);
        note(&[h.finish()]);
    }
    read
}

thread_local! {
    /// One number per file read while a [`fingerprinted`] call runs on this
    /// thread, in the order they were read; `None` when none runs.
    static NOTED: std::cell::RefCell<Option<Vec<u64>>> = const { std::cell::RefCell::new(None) };
}

fn noting() -> bool {
    NOTED.with(|n| n.borrow().is_some())
}

fn note(digests: &[u64]) {
    NOTED.with(|n| {
        if let Some(noted) = n.borrow_mut().as_mut() {
            noted.extend_from_slice(digests);
        }
    });
}

/// A value made from files read (a parsed include, an OpenAPI document) as a
/// cache keeps it, with what reading them noted: a file's fingerprint cannot
/// depend on whether the cache had the value already. Every cache of what
/// loading and checking read keeps its values this way.
pub(crate) struct Noted<T> {
    value: T,
    read: Vec<u64>,
}

impl<T> Noted<T> {
    /// Makes the value, keeping what `make` reads aside: it is noted by each
    /// [`Noted::replay`], the first use as much as the next ones.
    pub(crate) fn record(make: impl FnOnce() -> T) -> Noted<T> {
        let mark = NOTED.with(|n| n.borrow().as_ref().map_or(0, Vec::len));
        let value = make();
        let read = NOTED.with(|n| {
            n.borrow_mut()
                .as_mut()
                .map(|v| v.split_off(mark.min(v.len())))
                .unwrap_or_default()
        });
        Noted { value, read }
    }

    /// As [`Noted::record`], for a value that may fail to be made: a failure
    /// is not kept (its reads are noted here, once).
    pub(crate) fn try_record<E>(make: impl FnOnce() -> Result<T, E>) -> Result<Noted<T>, E> {
        let Noted { value, read } = Noted::record(make);
        match value {
            Ok(value) => Ok(Noted { value, read }),
            Err(e) => {
                note(&read);
                Err(e)
            }
        }
    }

    /// The value, not for loading or checking (a summary after the run): nothing
    /// is noted.
    pub(crate) fn unnoted(&self) -> &T {
        &self.value
    }

    /// The value, for one use: what making it read is noted as read here.
    pub(crate) fn replay(&self) -> &T {
        note(&self.read);
        &self.value
    }
}

/// Runs `work` and says, as one number, what every file it read on this thread
/// held, in order: the bytes it parsed and checked, not a second read of them.
/// Two runs of the same work on the same files give the same number; a change
/// to any byte of any of them (the scenario file, an include, a `data:` file,
/// an expected body, a schema), or a file that appeared or went, another.
pub(super) fn fingerprinted<R>(work: impl FnOnce() -> R) -> (R, u64) {
    struct Stop(Option<Vec<u64>>);
    impl Drop for Stop {
        // Put back what ran before, also when `work` panics.
        fn drop(&mut self) {
            let before = self.0.take();
            NOTED.with(|n| *n.borrow_mut() = before);
        }
    }
    let before = NOTED.with(|n| n.borrow_mut().replace(Vec::new()));
    let mut stop = Stop(before);
    let out = work();
    let noted = NOTED.with(|n| n.borrow_mut().take()).unwrap_or_default();
    // A call within another: the outer one read these files too.
    if let Some(outer) = stop.0.as_mut() {
        outer.extend_from_slice(&noted);
    }
    drop(stop);
    use std::hash::{Hash as _, Hasher as _};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    noted.hash(&mut h);
    (out, h.finish())
}

fn read_capped_unnoted(path: &Path, max: u64) -> Result<Vec<u8>, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The number says what was read, in order, and nothing else; a call within
    /// another counts for both; a panic in the work ends the noting.
    #[test]
    fn a_fingerprint_is_what_the_work_read_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&a, "one").unwrap();
        std::fs::write(&b, "two").unwrap();
        let both = || {
            let _ = read_capped(&a, 16);
            let _ = read_capped(&b, 16);
        };
        let ((), first) = fingerprinted(both);
        let ((), again) = fingerprinted(both);
        assert_eq!(first, again);
        let ((), other_order) = fingerprinted(|| {
            let _ = read_capped(&b, 16);
            let _ = read_capped(&a, 16);
        });
        assert_ne!(first, other_order);
        let ((), nested) = fingerprinted(|| {
            let _ = read_capped(&a, 16);
            let ((), inner) = fingerprinted(|| read_capped(&b, 16).map(|_| ()).unwrap());
            assert_ne!(inner, first);
        });
        assert_eq!(nested, first, "the inner call's read counts for the outer");
        std::fs::write(&b, "tw0").unwrap();
        assert_ne!(fingerprinted(both).1, first);
        std::fs::remove_file(&b).unwrap();
        assert_ne!(fingerprinted(both).1, first);
        let _ = std::panic::catch_unwind(|| fingerprinted(|| panic!("in the work")));
        assert!(!noting(), "a panic leaves nothing noting");
    }
}
