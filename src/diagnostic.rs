//! User-facing problems in scenario files, rendered like a compiler would:
//! `file:line:column`, the source line, a caret under the spot, and a hint.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A position in a scenario file (1-based line and column).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Loc {
    pub line: u32,
    pub col: u32,
}

impl Loc {
    pub const UNKNOWN: Loc = Loc { line: 0, col: 0 };

    pub fn new(line: u32, col: u32) -> Self {
        Loc { line, col }
    }

    pub fn is_known(&self) -> bool {
        self.line > 0
    }
}

impl From<serde_saphyr::Location> for Loc {
    fn from(l: serde_saphyr::Location) -> Self {
        Loc::new(
            u32::try_from(l.line()).unwrap_or(u32::MAX),
            u32::try_from(l.column()).unwrap_or(u32::MAX),
        )
    }
}

/// One problem found in a scenario file (or on the command line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub loc: Loc,
    /// How many characters the caret underlines (at least one).
    pub width: usize,
    pub message: String,
    /// Printed under the caret: what to do about it.
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(file: impl Into<PathBuf>, loc: Loc, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.into(),
            loc,
            width: 1,
            message: message.into(),
            hint: None,
        }
    }

    pub fn width(mut self, width: usize) -> Self {
        self.width = width.max(1);
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// `file:line:column`, or just the file when the position is unknown.
    pub fn position(&self) -> String {
        if self.loc.is_known() {
            format!("{}:{}:{}", self.file.display(), self.loc.line, self.loc.col)
        } else {
            self.file.display().to_string()
        }
    }

    /// Render with the offending source line when `source` is available.
    pub fn render(&self, source: Option<&str>) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "error: {}", self.message);
        let _ = writeln!(out, "  --> {}", self.position());
        let line_text = source.and_then(|s| nth_line(s, self.loc.line));
        match line_text {
            Some(text) if self.loc.is_known() => {
                let number = self.loc.line.to_string();
                let pad = " ".repeat(number.len());
                let shown = printable(text);
                let _ = writeln!(out, " {pad} |");
                let _ = writeln!(out, " {number} | {shown}");
                let col = usize::try_from(self.loc.col.saturating_sub(1)).unwrap_or(0);
                let lead: String = shown
                    .chars()
                    .take(col)
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                let carets = "^".repeat(self.width);
                match &self.hint {
                    Some(h) => {
                        let _ = writeln!(out, " {pad} | {lead}{carets} {h}");
                    }
                    None => {
                        let _ = writeln!(out, " {pad} | {lead}{carets}");
                    }
                }
            }
            _ => {
                if let Some(h) = &self.hint {
                    let _ = writeln!(out, "  = hint: {h}");
                }
            }
        }
        out
    }

    /// A one-line form for logs and reports: `file:line:col: message (hint)`.
    pub fn one_line(&self) -> String {
        match &self.hint {
            Some(h) => format!("{}: {} ({h})", self.position(), self.message),
            None => format!("{}: {}", self.position(), self.message),
        }
    }
}

fn nth_line(source: &str, line: u32) -> Option<&str> {
    let idx = usize::try_from(line).ok()?.checked_sub(1)?;
    source.lines().nth(idx)
}

/// Control characters would garble a terminal; show them as `?`.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() && c != '\t' { '?' } else { c })
        .collect()
}

/// The closest candidate within a small edit distance, for "did you mean".
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::damerau_levenshtein(&lower, &c.to_ascii_lowercase()),
                c,
            )
        })
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// A set of diagnostics for one or more files, printed together.
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    /// Render every diagnostic, reading each file's text once for the snippets.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut cache: Vec<(PathBuf, Option<String>)> = Vec::new();
        for d in &self.items {
            let source = match cache.iter().find(|(p, _)| p == &d.file) {
                Some((_, s)) => s.clone(),
                None => {
                    let s = read_lossy(&d.file);
                    cache.push((d.file.clone(), s.clone()));
                    s
                }
            };
            out.push_str(&d.render(source.as_deref()));
            out.push('\n');
        }
        out
    }
}

fn read_lossy(path: &Path) -> Option<String> {
    std::fs::read(path)
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_caret_under_column_with_hint() {
        let src = "name: x\nexpect:\n  stauts: 200\n";
        let d = Diagnostic::new("a.yaml", Loc::new(3, 3), "unknown key `stauts` in `expect`")
            .width(6)
            .hint("did you mean `status`?");
        let out = d.render(Some(src));
        assert!(out.contains("--> a.yaml:3:3"), "{out}");
        assert!(out.contains(" 3 |   stauts: 200"), "{out}");
        assert!(
            out.contains("   |   ^^^^^^ did you mean `status`?"),
            "{out}"
        );
    }

    #[test]
    fn suggests_close_words_only() {
        assert_eq!(
            did_you_mean("stauts", ["status", "json", "headers"]),
            Some("status")
        );
        assert_eq!(did_you_mean("zzzzzz", ["status", "json"]), None);
    }
}
