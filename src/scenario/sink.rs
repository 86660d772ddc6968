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
