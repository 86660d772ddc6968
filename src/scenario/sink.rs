//! Problems found while deserializing a file, collected instead of aborting.
//!
//! serde stops at the first error it returns. The leaf types of the file format
//! (JSONPaths, regexes, matchers, durations) report here instead and hand back a
//! placeholder, so one `validate` shows every such problem of a file at once.

use std::cell::RefCell;

use crate::diagnostic::Loc;

/// A problem without its file: the loader adds the path.
#[derive(Debug, Clone)]
pub struct Problem {
    pub loc: Loc,
    pub width: usize,
    pub message: String,
    pub hint: Option<String>,
}

thread_local! {
    static PROBLEMS: RefCell<Vec<Problem>> = const { RefCell::new(Vec::new()) };
    /// The text being parsed, for leaf types that must see a value as written.
    static SOURCE: RefCell<Option<std::sync::Arc<str>>> = const { RefCell::new(None) };
}

/// Set (or clear) the text the current parse reads.
pub fn set_source(text: Option<&str>) {
    SOURCE.with(|s| *s.borrow_mut() = text.map(std::sync::Arc::from));
}

/// The source text of bytes `offset..offset + len` of the current parse.
pub fn source_slice(offset: u64, len: u64) -> Option<String> {
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    SOURCE.with(|s| {
        s.borrow()
            .as_ref()
            .and_then(|t| t.get(start..end))
            .map(str::to_string)
    })
}

pub fn report(loc: Loc, width: usize, message: impl Into<String>, hint: Option<String>) {
    let p = Problem {
        loc,
        width,
        message: message.into(),
        hint,
    };
    PROBLEMS.with(|v| v.borrow_mut().push(p));
}

/// Take everything reported on this thread so far.
pub fn drain() -> Vec<Problem> {
    PROBLEMS.with(|v| std::mem::take(&mut *v.borrow_mut()))
}
