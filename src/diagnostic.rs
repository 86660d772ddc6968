//! User-facing problems in scenario files, rendered like a compiler would:
//! `file:line:column`, the source line, a caret under the spot, and a hint.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

use unicode_width::UnicodeWidthChar;

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
    /// A word inside the span at `loc` (a variable in a template, say) that the
    /// caret should point at instead; see [`Diagnostics::focus`].
    pub focus: Option<String>,
}

impl Diagnostic {
    pub fn new(file: impl Into<PathBuf>, loc: Loc, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.into(),
            loc,
            width: 1,
            message: message.into(),
            hint: None,
            focus: None,
        }
    }

    /// Point at `word` inside the span once the source is at hand.
    pub fn focus(mut self, word: impl Into<String>) -> Self {
        self.focus = Some(word.into());
        self
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
        self.render_with(source, &|line| line.to_string())
    }

    /// [`Diagnostic::render`], the quoted line passed through `mask` first (whole,
    /// before it is cut to fit).
    pub fn render_with(&self, source: Option<&str>, mask: &dyn Fn(&str) -> String) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "error: {}", self.message);
        let _ = writeln!(out, "  --> {}", self.position());
        let line_text = source.and_then(|s| nth_line(s, self.loc.line)).map(mask);
        match line_text {
            Some(text) if self.loc.is_known() => {
                let number = self.loc.line.to_string();
                let pad = " ".repeat(number.len());
                let col = usize::try_from(self.loc.col.saturating_sub(1)).unwrap_or(0);
                let (shown, col) = window(&printable(&text), col);
                let _ = writeln!(out, " {pad} |");
                let _ = writeln!(out, " {number} | {shown}");
                // Pad and underline by display width, so a caret stays under its
                // spot after CJK text or emoji (two columns each on a terminal).
                let lead: String = shown
                    .chars()
                    .take(col)
                    .map(|c| match c {
                        '\t' => "\t".to_string(),
                        c => " ".repeat(c.width().unwrap_or(0)),
                    })
                    .collect();
                let asked = self.width.clamp(1, SHOWN_CHARS);
                let spot = shown.chars().skip(col).take(asked);
                let (present, columns) =
                    spot.fold((0, 0), |(n, w), c| (n + 1, w + c.width().unwrap_or(0)));
                // Past the end of the line, what is not there counts one column each.
                let carets = "^".repeat((columns + asked - present).max(1));
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

/// Source lines longer than this are shown as a window around the column.
const SHOWN_CHARS: usize = 100;

/// A long line cut to a window around `col`, with `…` where text was left out,
/// and the column within the window.
fn window(line: &str, col: usize) -> (String, usize) {
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= SHOWN_CHARS {
        return (line.to_string(), col);
    }
    let start = col.saturating_sub(SHOWN_CHARS / 3).min(chars.len());
    let end = (start + SHOWN_CHARS).min(chars.len());
    let mut shown = String::new();
    let mut new_col = col - start;
    if start > 0 {
        shown.push('…');
        new_col += 1;
    }
    shown.extend(&chars[start..end]);
    if end < chars.len() {
        shown.push('…');
    }
    (shown, new_col)
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

    /// Settle each position against the file's text. A diagnostic with a focus
    /// word moves onto that word in its line (a caret under `projcet` says more
    /// than one under the whole URL template); the word is looked for as a whole
    /// identifier, after the span's first `{{` when there is one, and when it is
    /// not on the span's line the position stays. A span that starts at a quote
    /// moves onto the quoted text.
    pub fn refine_positions(&mut self) {
        for d in self.items.iter_mut() {
            if !d.loc.is_known() {
                continue;
            }
            let word = d.focus.take().unwrap_or_default();
            let source = source_of(&d.file);
            let Some(line) = source.as_deref().and_then(|s| nth_line(s, d.loc.line)) else {
                continue;
            };
            if word.is_empty() {
                let at = line.chars().nth(d.loc.col.saturating_sub(1) as usize);
                if matches!(at, Some('"' | '\'')) && d.width > 1 {
                    d.loc.col += 1;
                }
            } else if let Some(col) = find_word(line, d.loc.col, &word) {
                d.loc.col = col;
                d.width = word.chars().count().max(1);
            }
        }
    }

    /// Order the problems file by file (in the order of `files`, then any other file
    /// in order of appearance), and by position within a file: reading top to bottom
    /// follows the files.
    pub fn sort_by_file(&mut self, files: &[PathBuf]) {
        let mut extra: Vec<PathBuf> = Vec::new();
        for d in &self.items {
            if !files.contains(&d.file) && !extra.contains(&d.file) {
                extra.push(d.file.clone());
            }
        }
        let rank = |p: &PathBuf| {
            files
                .iter()
                .position(|f| f == p)
                .or_else(|| extra.iter().position(|f| f == p).map(|i| files.len() + i))
                .unwrap_or(usize::MAX)
        };
        self.items
            .sort_by_cached_key(|d| (rank(&d.file), d.loc.line, d.loc.col));
    }

    /// Render every diagnostic, quoting the lines from the files' text as parsed.
    pub fn render(&self) -> String {
        self.render_with(&|line| line.to_string())
    }

    /// [`Diagnostics::render`], each quoted line passed through `mask` first.
    pub fn render_with(&self, mask: &dyn Fn(&str) -> String) -> String {
        let mut out = String::new();
        for d in &self.items {
            let source = source_of(&d.file);
            out.push_str(&d.render_with(source.as_deref(), mask));
            out.push('\n');
        }
        out
    }
}

/// The 1-based column of `word` as a whole word in `line`, at or after column
/// `from` and after the first template opening there, if any.
fn find_word(line: &str, from: u32, word: &str) -> Option<u32> {
    let chars: Vec<char> = line.chars().collect();
    let start = usize::try_from(from.saturating_sub(1)).ok()?;
    if start >= chars.len() {
        return None;
    }
    let rest: String = chars[start..].iter().collect();
    let skip = ["{{", "{%"]
        .iter()
        .filter_map(|o| rest.find(o))
        .min()
        .map_or(0, |b| rest[..b].chars().count());
    let target: Vec<char> = word.chars().collect();
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let word_like = target.iter().all(|c| is_ident(*c));
    let mut i = start + skip;
    while i + target.len() <= chars.len() {
        if chars[i..i + target.len()] == target[..] {
            let before_ok = !word_like || i == 0 || !is_ident(chars[i - 1]);
            let after = chars.get(i + target.len()).copied();
            let after_ok = !word_like || after.is_none_or(|c| !is_ident(c));
            if before_ok && after_ok {
                return u32::try_from(i + 1).ok();
            }
        }
        i += 1;
    }
    None
}

/// The text of every file the loader parsed, by the path its problems name. Kept
/// here rather than read again when a problem is printed: whoever finds a problem
/// (the loader, the checks, the cost guard, the catalog) quotes the very text that
/// was checked, even if the file changed since, and no file is opened twice.
static SOURCES: LazyLock<Mutex<HashMap<PathBuf, Arc<str>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Remember the text of `path` as parsed, for the problems that quote it.
pub fn keep_source(path: &Path, text: &str) {
    let mut sources = SOURCES.lock().unwrap_or_else(|e| e.into_inner());
    if sources.get(path).is_none_or(|kept| **kept != *text) {
        sources.insert(path.to_path_buf(), Arc::from(text));
    }
}

/// Stop keeping the text of `path`: a large suite loaded lazily drops the text of
/// each file that loaded without a problem, or every file's text would stay in
/// memory for the whole run.
pub fn forget_source(path: &Path) {
    SOURCES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(path);
}

/// The text of `path` as it was parsed, if it was.
pub fn source_of(path: &Path) -> Option<Arc<str>> {
    SOURCES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(path)
        .cloned()
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
    fn caret_stays_under_its_spot_after_wide_characters() {
        // Each of 日本 and 🚀 takes two columns on a terminal.
        let src = "name: 日本 🚀\nsteps: []\nstauts: 1\n";
        let d = Diagnostic::new("a.yaml", Loc::new(1, 10), "here").width(1);
        let out = d.render(Some(src));
        assert!(out.contains(" 1 | name: 日本 🚀\n"), "{out}");
        assert!(out.contains("   |            ^^\n"), "{out}");
        let d = Diagnostic::new("a.yaml", Loc::new(1, 7), "here").width(2);
        let out = d.render(Some(src));
        assert!(out.contains("   |       ^^^^\n"), "{out}");
    }

    #[test]
    fn focus_finds_the_word_inside_the_template() {
        let line = r#"      url: "/v1/ids/{{ id }}/{{ projcet }}""#;
        assert_eq!(find_word(line, 12, "id"), Some(24));
        assert_eq!(find_word(line, 12, "projcet"), Some(33));
        assert_eq!(find_word(line, 12, "nowhere"), None);
        assert_eq!(find_word(line, 12, "{{"), Some(21));
    }

    #[test]
    fn problems_are_ordered_by_file_then_position() {
        let files = [PathBuf::from("b.yaml"), PathBuf::from("a.yaml")];
        let mut d = Diagnostics::default();
        d.push(Diagnostic::new("a.yaml", Loc::new(9, 1), "a late"));
        d.push(Diagnostic::new("shared.yaml", Loc::new(1, 1), "included"));
        d.push(Diagnostic::new("a.yaml", Loc::new(2, 5), "a early"));
        d.push(Diagnostic::new("b.yaml", Loc::new(7, 1), "b"));
        d.sort_by_file(&files);
        let order: Vec<&str> = d.items.iter().map(|x| x.message.as_str()).collect();
        assert_eq!(order, ["b", "a early", "a late", "included"]);
    }

    #[test]
    fn suggests_close_words_only() {
        assert_eq!(
            did_you_mean("stauts", ["status", "json", "headers"]),
            Some("status")
        );
        assert_eq!(did_you_mean("zzzzzz", ["status", "json"]), None);
    }

    #[test]
    fn problems_quote_the_text_that_was_parsed_not_the_disk() {
        let dir = std::env::temp_dir().join(format!("runner-diag-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let gone = dir.join("never-written.yaml");
        let changed = dir.join("changed.yaml");
        let _ = std::fs::write(&changed, "name: on disk now\n");
        keep_source(&gone, "name: a\nsteps: []\nstauts: 1\n");
        keep_source(&changed, "name: as parsed\n");
        let mut d = Diagnostics::default();
        d.push(Diagnostic::new(&gone, Loc::new(3, 1), "unknown key").width(6));
        d.push(Diagnostic::new(&changed, Loc::new(1, 7), "here"));
        d.push(Diagnostic::new(dir.join("unknown.yaml"), Loc::new(1, 1), "elsewhere").hint("h"));
        let out = d.render();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(out.contains(" 3 | stauts: 1\n"), "{out}");
        assert!(out.contains(" 1 | name: as parsed\n"), "{out}");
        assert!(!out.contains("on disk now"), "{out}");
        // A file never parsed is not opened: its problem has no quoted line.
        assert!(out.contains("  = hint: h\n"), "{out}");
    }
}
