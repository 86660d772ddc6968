//! The functions and filters scenario writers reach for, beyond minijinja's own.

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use minijinja::value::Rest;
use minijinja::{Environment, Error, ErrorKind, Value};
use sha2::{Digest, Sha256};

/// A function templates may call: everything about it in one row, so the
/// registration, the checks before a run and the docs cannot disagree.
pub struct Function {
    pub name: &'static str,
    /// Fewest and most arguments a call may pass.
    pub min_args: usize,
    pub max_args: usize,
    /// What it gives, in one line (docs/templates.md says the same).
    pub doc: &'static str,
    /// Called with arguments already counted against `min_args..=max_args`.
    pub call: fn(&[Value]) -> Value,
}

/// Functions callable in templates, beyond minijinja's own.
pub const FUNCTIONS: &[Function] = &[
    Function {
        name: "uuid",
        min_args: 0,
        max_args: 0,
        doc: "a random UUID v4",
        call: |_| Value::from(uuid::Uuid::new_v4().to_string()),
    },
    Function {
        name: "now",
        min_args: 0,
        max_args: 0,
        doc: "the current time, RFC 3339 UTC",
        call: |_| {
            Value::from(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        },
    },
    Function {
        name: "timestamp",
        min_args: 0,
        max_args: 0,
        doc: "the current Unix time in seconds",
        call: |_| Value::from(chrono::Utc::now().timestamp()),
    },
];

impl Function {
    /// What `call` of this function gets wrong (the message and a hint), or `None`.
    fn call_error(&self, call: &Call) -> Option<(String, String)> {
        if call.spread_args {
            // How many it passes is known only while rendering.
            return None;
        }
        let message = self.arity_error(call.args)?;
        let hint = if self.max_args == 0 {
            format!("write `{}()`: it gives {}", self.name, self.doc)
        } else {
            format!("see docs/templates.md for what `{}()` takes", self.name)
        };
        Some((message, hint))
    }

    /// What a call with `given` arguments gets wrong, or `None` when the count is right.
    pub fn arity_error(&self, given: usize) -> Option<String> {
        if (self.min_args..=self.max_args).contains(&given) {
            return None;
        }
        Some(format!(
            "`{}()` takes {}, but this call passes {given}",
            self.name,
            takes(self.min_args, self.max_args)
        ))
    }
}

/// How many arguments `min..=max` is, in words.
fn takes(min: usize, max: usize) -> String {
    match (min, max) {
        (0, 0) => "no arguments".to_string(),
        (1, 1) => "1 argument".to_string(),
        (a, b) if a == b => format!("{a} arguments"),
        (a, b) => format!("{a} to {b} arguments"),
    }
}

/// The function of this project named `name`.
pub fn function(name: &str) -> Option<&'static Function> {
    FUNCTIONS.iter().find(|f| f.name == name)
}

/// A call of one of [`FUNCTIONS`] or [`FILTERS`] with the wrong number of arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArityError {
    pub name: String,
    pub message: String,
    pub hint: String,
}

/// The calls in `src` of functions and filters (this project's and minijinja's)
/// that pass what they do not take: the wrong number of arguments, or a keyword
/// argument they do not know. Function names in `own` (the template's own
/// macros) are not ours and are skipped.
pub fn arity_errors(src: &str, own: &std::collections::HashSet<String>) -> Vec<ArityError> {
    scan_calls(src)
        .into_iter()
        .filter_map(|c| {
            let wrong = match c.kind {
                Kind::Test => builtin_of(BUILTIN_TESTS, &c.name).map(|b| b.call_error(&c)),
                Kind::Filter => builtin_of(BUILTIN_FILTERS, &c.name)
                    .map(|b| b.call_error(&c))
                    .or_else(|| filter(&c.name).map(|f| f.call_error(&c))),
                // The template's own macro of that name.
                Kind::Function if own.contains(&c.name) => None,
                Kind::Function => builtin_of(BUILTIN_FUNCTIONS, &c.name)
                    .map(|b| b.call_error(&c))
                    .or_else(|| function(&c.name).map(|f| f.call_error(&c))),
            };
            let (message, hint) = wrong.flatten()?;
            Some(ArityError {
                name: c.name,
                message,
                hint,
            })
        })
        .collect()
}

/// A call found in a template: a global function `name(...)` or a filter
/// `| name` / `| name(...)`, with how many arguments it passes (for a filter,
/// not counting the piped value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub name: String,
    /// Every argument, positional or keyword (a `*list` or `**map` counts one).
    pub args: usize,
    /// The names of the arguments passed by keyword, in order.
    pub keywords: Vec<String>,
    /// A `*list` among them: how many positional arguments it passes is not
    /// known before rendering.
    pub spread_args: bool,
    /// A `**map` among them: which keywords it passes is not known.
    pub spread_keywords: bool,
    pub kind: Kind,
}

/// What a name in a template is used as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `name(...)`
    Function,
    /// `| name`, `| name(...)`, `{% filter name %}`
    Filter,
    /// `is name`, `is not name(...)`
    Test,
}

impl Call {
    fn new(name: String, a: CallArgs, kind: Kind) -> Call {
        Call {
            name,
            args: a.count,
            keywords: a.keywords,
            spread_args: a.spread_args,
            spread_keywords: a.spread_keywords,
            kind,
        }
    }

    /// The arguments passed by position, the spread ones not counted.
    fn positional(&self) -> usize {
        self.args
            .saturating_sub(self.keywords.len())
            .saturating_sub(usize::from(self.spread_args) + usize::from(self.spread_keywords))
    }
}

/// Every call `name(...)` in a template's `{{ }}` and `{% %}` blocks, with how many
/// arguments it passes (keyword arguments count). Methods (`x.name(`) and filters
/// (`| name(`) are not calls of a global function and are left out.
pub fn calls_with_arity(src: &str) -> Vec<(String, usize)> {
    scan_calls(src)
        .into_iter()
        .filter(|c| c.kind == Kind::Function)
        .map(|c| (c.name, c.args))
        .collect()
}

/// Every global function call and every filter in a template's `{{ }}` and
/// `{% %}` blocks, in order. Methods (`x.name(`) are left out.
///
/// Written by hand: minijinja exposes its parser only behind its unstable
/// `unstable_machinery` feature, and a call's argument list is all that is needed.
pub fn scan_calls(src: &str) -> Vec<Call> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < b.len() {
        let close: &[u8] = match &b[i..i + 2] {
            b"{{" => b"}}",
            // A raw block's text is not template code: nothing in it is called.
            b"{%" if is_raw_tag(&b[i + 2..]) => {
                i = find(b, i + 2, b"endraw")
                    .and_then(|e| find(b, e, b"%}"))
                    .map_or(b.len(), |e| e + 2);
                continue;
            }
            b"{%" => b"%}",
            b"{#" => {
                i = find(b, i + 2, b"#}").map_or(b.len(), |e| e + 2);
                continue;
            }
            _ => {
                i += 1;
                continue;
            }
        };
        i += 2;
        let mut quote: Option<u8> = None;
        let mut prev = b' ';
        // What the two words just before were (when only spaces separate them
        // from here): the operator `is` or `not` (the next name is a test), or
        // the tag `filter` (the next name is a filter); "" for anything else.
        let mut roles: [&str; 2] = ["", ""];
        // Whether the word before was a value (a name, an attribute, a constant),
        // after which `is` is the test operator rather than a name.
        let mut last_operand = false;
        let mut block_words = 0usize;
        while i < b.len() {
            let c = b[i];
            if let Some(q) = quote {
                if c == b'\\' {
                    i += 1;
                } else if c == q {
                    quote = None;
                }
                i += 1;
                continue;
            }
            if b[i..].starts_with(close) {
                i += 2;
                break;
            }
            if c == b'"' || c == b'\'' {
                quote = Some(c);
                prev = c;
                i += 1;
                continue;
            }
            if c.is_ascii_alphabetic() || c == b'_' {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                let mut j = i;
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                let open = b.get(j) == Some(&b'(');
                let word = &src[start..i];
                let name = word.to_string();
                let attribute = prev == b'.';
                let before = if prev == b'a' { roles } else { ["", ""] };
                let operand_before = match prev {
                    b'a' => last_operand,
                    b')' | b']' | b'}' | b'"' | b'\'' => true,
                    d => d.is_ascii_digit(),
                };
                let role = match word {
                    _ if attribute => "",
                    "is" if operand_before => "is",
                    "not" => "not",
                    "filter" if close == b"%}" && block_words == 0 => "filter",
                    _ => "",
                };
                roles = [role, before[0]];
                last_operand = attribute
                    || !(OPERATORS.contains(&word)
                        || (TAG_WORDS.contains(&word) && block_words == 0 && close == b"%}"));
                block_words += 1;
                let test = (before[0] == "is" && word != "not") || before == ["not", "is"];
                let filter = prev == b'|' || before[0] == "filter";
                if test {
                    let args = if open {
                        call_args(b, j)
                    } else if bare_test_argument(b, j) {
                        CallArgs {
                            count: 1,
                            ..CallArgs::default()
                        }
                    } else {
                        CallArgs::default()
                    };
                    out.push(Call::new(name, args, Kind::Test));
                } else if !filter
                    && (OPERATORS.contains(&word)
                        || TAG_WORDS.contains(&word)
                        || CONSTANTS.contains(&word))
                {
                    // An operator or a tag (`and(`, `if(`): not a call of a function.
                } else if filter {
                    // A filter without parentheses passes nothing besides the piped value.
                    let args = if open {
                        call_args(b, j)
                    } else {
                        CallArgs::default()
                    };
                    let named = named_by(src, word, &args);
                    out.push(Call::new(name, args, Kind::Filter));
                    out.extend(named);
                } else if prev != b'.' && open {
                    out.push(Call::new(name, call_args(b, j), Kind::Function));
                }
                prev = b'a';
                continue;
            }
            if !c.is_ascii_whitespace() {
                prev = c;
            }
            i += 1;
        }
    }
    out
}

/// Operators of the template language's expressions: they stand between
/// values, never for one.
const OPERATORS: &[&str] = &["and", "or", "not", "in", "is", "if", "elif", "else"];

/// Words of the template language's tags (`{% for %}`, `{% set %}`, `as` in an
/// import). Only as a block's first word are they surely the tag; elsewhere
/// they may name a variable (`{% for filter in ... %}{{ filter is odd }}`).
const TAG_WORDS: &[&str] = &[
    "for",
    "set",
    "with",
    "filter",
    "macro",
    "call",
    "import",
    "from",
    "as",
    "include",
    "recursive",
    "do",
];

/// Whether a test's name is followed, at `at`, by one argument without
/// parentheses (`x is divisibleby 3`, `x is sameas none`): what minijinja's
/// parser takes for one is a name other than `and`, `or`, `else` and `is`, a
/// string, a number, a sign, or a list or map.
fn bare_test_argument(b: &[u8], at: usize) -> bool {
    let rest = &b[at.min(b.len())..];
    let Some(&c) = rest.first() else {
        return false;
    };
    if c.is_ascii_alphabetic() || c == b'_' {
        let word_end = rest
            .iter()
            .position(|x| !(x.is_ascii_alphanumeric() || *x == b'_'))
            .unwrap_or(rest.len());
        return !matches!(&rest[..word_end], b"and" | b"or" | b"else" | b"is");
    }
    if c == b'-' || c == b'+' {
        // `-}}` and `-%}` end the block (trimming the whitespace after it).
        let after = &rest[1..];
        return !(after.starts_with(b"}}") || after.starts_with(b"%}"));
    }
    c.is_ascii_digit() || matches!(c, b'"' | b'\'' | b'[' | b'{')
}

/// Constants of the template language: values, though a `(` after one is no call.
const CONSTANTS: &[&str] = &["true", "false", "none", "True", "False", "None"];

/// The test or filter that a call of `select`, `reject`, `selectattr`,
/// `rejectattr` or `map` names by a string (`select('odd')`,
/// `map('round', 1)`), as a call of its own with the arguments passed on to
/// it, so that the checks find a misspelt name or a wrong count there too.
fn named_by(src: &str, filter: &str, args: &CallArgs) -> Option<Call> {
    let (at, kind) = match filter {
        "select" | "reject" => (0, Kind::Test),
        "selectattr" | "rejectattr" => (1, Kind::Test),
        "map" if !args.keywords.iter().any(|k| k == "attribute") => (0, Kind::Filter),
        _ => return None,
    };
    if args.spread_args {
        return None;
    }
    let (from, to) = *args.pieces.get(at)?;
    let text = src.get(from..to)?.trim();
    let quote = text.chars().next().filter(|q| *q == '\'' || *q == '"')?;
    let name = text.strip_prefix(quote)?.strip_suffix(quote)?;
    let plain = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    // `'=='`-like names and escapes are left to minijinja.
    if !plain {
        return None;
    }
    // Keywords are `map`'s own (it refuses or drops them), not the named one's.
    let passed = args
        .pieces
        .len()
        .saturating_sub(at + 1)
        .saturating_sub(args.keywords.len() + usize::from(args.spread_keywords));
    Some(Call {
        name: name.to_string(),
        args: passed,
        keywords: Vec::new(),
        spread_args: false,
        spread_keywords: false,
        kind,
    })
}

/// Whether a `{%` tag whose text follows is `{% raw %}` (with any whitespace control).
fn is_raw_tag(after_open: &[u8]) -> bool {
    let start = after_open
        .iter()
        .position(|c| !(c.is_ascii_whitespace() || *c == b'-' || *c == b'+'))
        .unwrap_or(after_open.len());
    let rest = &after_open[start..];
    rest.starts_with(b"raw")
        && !rest
            .get(3)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// The arguments of the call whose `(` is at `open`: how many (the non-empty
/// pieces between commas at its own bracket depth), and the names of those
/// passed by keyword (`name=value`).
fn call_args(b: &[u8], open: usize) -> CallArgs {
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut args = 0;
    let mut piece = false;
    let mut out = CallArgs::default();
    let keywords = &mut out.keywords;
    let pieces = &mut out.pieces;
    let mut piece_start = open;
    let mut i = open;
    while i < b.len() {
        let c = b[i];
        let at = i;
        if depth == 1 && !piece && quote.is_none() && !c.is_ascii_whitespace() {
            piece_start = at;
        }
        if depth == 1 && !piece && quote.is_none() && c == b'*' {
            if b.get(i + 1) == Some(&b'*') {
                out.spread_keywords = true;
            } else {
                out.spread_args = true;
            }
        }
        if depth == 1 && !piece && quote.is_none() && (c.is_ascii_alphabetic() || c == b'_') {
            let start = i;
            let mut end = i;
            while end < b.len() && (b[end].is_ascii_alphanumeric() || b[end] == b'_') {
                end += 1;
            }
            let mut eq = end;
            while eq < b.len() && b[eq].is_ascii_whitespace() {
                eq += 1;
            }
            if b.get(eq) == Some(&b'=') && b.get(eq + 1) != Some(&b'=') {
                keywords.push(String::from_utf8_lossy(&b[start..end]).into_owned());
            }
        }
        i += 1;
        if let Some(q) = quote {
            if c == b'\\' {
                i += 1;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth == 1 {
                    continue;
                }
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    if piece {
                        pieces.push((piece_start, at));
                    }
                    break;
                }
            }
            b',' if depth == 1 => {
                if piece {
                    pieces.push((piece_start, at));
                }
                args += usize::from(piece);
                piece = false;
                continue;
            }
            b'"' | b'\'' => quote = Some(c),
            _ => {}
        }
        if !c.is_ascii_whitespace() {
            piece = true;
        }
    }
    out.count = args + usize::from(piece);
    out
}

/// What [`call_args`] finds of a call's arguments.
#[derive(Default)]
struct CallArgs {
    count: usize,
    /// Where each argument's text is (byte offsets, from its first character
    /// to the `,` or `)` after it).
    pieces: Vec<(usize, usize)>,
    keywords: Vec<String>,
    spread_args: bool,
    spread_keywords: bool,
}

/// A filter this project adds: everything about it in one row, so the
/// registration, the checks before a run and the docs cannot disagree.
pub struct Filter {
    pub name: &'static str,
    /// Fewest and most arguments a call may pass, not counting the piped value.
    pub min_args: usize,
    pub max_args: usize,
    /// What it gives, in one line (docs/templates.md says the same).
    pub doc: &'static str,
    /// Called with the piped value as text and arguments already counted
    /// against `min_args..=max_args`.
    pub call: fn(&str, &[String]) -> Result<String, Error>,
}

/// Filters this project adds to minijinja's built-in ones (`tojson` is
/// minijinja's own and stays in [`BUILTIN_FILTERS`]).
pub const FILTERS: &[Filter] = &[
    Filter {
        name: "b64encode",
        min_args: 0,
        max_args: 0,
        doc: "base64 of the text (standard alphabet, padded)",
        call: |s, _| Ok(base64::engine::general_purpose::STANDARD.encode(s.as_bytes())),
    },
    Filter {
        name: "b64decode",
        min_args: 0,
        max_args: 0,
        doc: "the text of a base64 string",
        call: |s, _| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s.trim().as_bytes())
                .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(s.trim().as_bytes()))
                .map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("b64decode: {e}")))?;
            String::from_utf8(bytes)
                .map_err(|_| Error::new(ErrorKind::InvalidOperation, "b64decode: not UTF-8 text"))
        },
    },
    Filter {
        name: "sha256",
        min_args: 0,
        max_args: 0,
        doc: "hex SHA-256 of the text",
        call: |s, _| Ok(hex::encode(Sha256::digest(s.as_bytes()))),
    },
    Filter {
        name: "hmac_sha256",
        min_args: 1,
        max_args: 1,
        doc: "hex HMAC-SHA256 of the text with the given key",
        call: |s, args| {
            let key = args.first().map_or("", String::as_str);
            let mut mac = hmac::Hmac::<Sha256>::new_from_slice(key.as_bytes()).map_err(|e| {
                Error::new(ErrorKind::InvalidOperation, format!("hmac_sha256: {e}"))
            })?;
            mac.update(s.as_bytes());
            Ok(hex::encode(mac.finalize().into_bytes()))
        },
    },
];

impl Filter {
    /// What `call` of this filter gets wrong (the message and a hint), or `None`.
    fn call_error(&self, call: &Call) -> Option<(String, String)> {
        let keyword = call
            .keywords
            .first()
            .map(|k| format!("`{k}=`"))
            .or_else(|| call.spread_keywords.then(|| "`**`".to_string()));
        // Its arguments are read as text: a keyword one cannot be.
        if let Some(k) = keyword {
            return Some((
                format!(
                    "the filter `{}` takes no keyword arguments, but this call passes {k}",
                    self.name
                ),
                format!("pass its arguments by position: `| {}(...)`", self.name),
            ));
        }
        if call.spread_args {
            // How many it passes is known only while rendering.
            return None;
        }
        let message = self.arity_error(call.args)?;
        let hint = if self.max_args == 0 {
            format!(
                "write `| {}` with no parentheses: it gives {}",
                self.name, self.doc
            )
        } else {
            format!(
                "see docs/templates.md for what the filter `{}` takes",
                self.name
            )
        };
        Some((message, hint))
    }

    /// What a call with `given` arguments (after the piped value) gets wrong, or
    /// `None` when the count is right.
    pub fn arity_error(&self, given: usize) -> Option<String> {
        if (self.min_args..=self.max_args).contains(&given) {
            return None;
        }
        Some(format!(
            "the filter `{}` takes {} besides the value piped into it, but this call passes {given}",
            self.name,
            takes(self.min_args, self.max_args)
        ))
    }
}

/// The filter of this project named `name`.
pub fn filter(name: &str) -> Option<&'static Filter> {
    FILTERS.iter().find(|f| f.name == name)
}

/// Which keyword arguments (`name=value`) a built-in takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keywords {
    /// None: minijinja refuses a call with one ("too many arguments"), or, for
    /// `default`, takes the keywords as its positional value, a silently
    /// different template.
    None,
    /// These, and no other (minijinja refuses an unknown one while rendering).
    Only(&'static [&'static str]),
    /// Any: they are passed on (to a test, to a format string, into a map).
    Any,
}

/// A filter or function of minijinja's own, with what a call may pass: the
/// checks before a run refuse what minijinja would refuse while rendering (or
/// read in a way the writer did not mean). The test
/// `builtins_take_what_their_rows_say` holds each row against minijinja itself.
#[derive(Debug)]
pub struct Builtin {
    pub name: &'static str,
    /// Most positional arguments (for a filter, besides the piped value);
    /// `None` when any number may follow.
    pub max_args: Option<usize>,
    pub keywords: Keywords,
    /// The positional parameters a keyword may also name, in order: that
    /// keyword after as many positional arguments names one given already.
    pub by_position: &'static [&'static str],
    /// Keywords only in a call without positional arguments: `map` (with a
    /// filter's name it drops them) and `namespace`.
    pub keywords_alone: bool,
    /// Fewest positional arguments.
    pub min_args: usize,
}

const fn builtin(name: &'static str, max_args: Option<usize>, keywords: Keywords) -> Builtin {
    Builtin {
        name,
        max_args,
        keywords,
        by_position: &[],
        keywords_alone: false,
        min_args: 0,
    }
}

impl Builtin {
    const fn by_position(self, names: &'static [&'static str]) -> Builtin {
        Builtin {
            by_position: names,
            ..self
        }
    }

    const fn min(self, min_args: usize) -> Builtin {
        Builtin { min_args, ..self }
    }

    const fn keywords_alone(self) -> Builtin {
        Builtin {
            keywords_alone: true,
            ..self
        }
    }
}

/// minijinja's built-in filters; used to tell a misspelt filter from a real one,
/// and a call it would refuse from one it runs, before anything runs.
pub const BUILTIN_FILTERS: &[Builtin] = {
    use Keywords::{Any, None as No, Only};
    const SORT: Keywords = Only(&["attribute", "case_sensitive", "reverse"]);
    const MIN_MAX: Keywords = Only(&["attribute", "case_sensitive"]);
    &[
        builtin("abs", Some(0), No),
        builtin("attr", Some(1), No).min(1),
        builtin("batch", Some(2), No).min(1),
        builtin("bool", Some(0), No),
        builtin("capitalize", Some(0), No),
        builtin("chain", None, No),
        builtin("count", Some(0), No),
        builtin("d", Some(2), No),
        builtin("default", Some(2), No),
        builtin(
            "dictsort",
            Some(0),
            Only(&["by", "case_sensitive", "reverse"]),
        ),
        builtin("e", Some(0), No),
        builtin("escape", Some(0), No),
        builtin("first", Some(0), No),
        builtin("float", Some(1), Only(&["default"])).by_position(&["default"]),
        builtin("format", None, Any),
        builtin(
            "groupby",
            Some(1),
            Only(&["attribute", "case_sensitive", "default"]),
        )
        .by_position(&["attribute"]),
        builtin("indent", Some(3), Only(&["blank", "first", "width"]))
            .by_position(&["width", "first", "blank"]),
        builtin("int", Some(2), Only(&["base", "default"])).by_position(&["default", "base"]),
        builtin("items", Some(0), No),
        builtin("join", Some(2), Only(&["attribute", "d"])).by_position(&["d", "attribute"]),
        builtin("last", Some(0), No),
        builtin("length", Some(0), No),
        builtin("lines", Some(0), No),
        builtin("list", Some(0), No),
        builtin("lower", Some(0), No),
        builtin("map", None, Only(&["attribute", "default"])).keywords_alone(),
        builtin("max", Some(0), MIN_MAX),
        builtin("min", Some(0), MIN_MAX),
        builtin("pprint", Some(0), No),
        builtin("reject", None, No),
        builtin("rejectattr", None, No).min(1),
        builtin("replace", Some(3), Only(&["count"]))
            .by_position(&["from", "to", "count"])
            .min(2),
        builtin("reverse", Some(0), No),
        builtin("round", Some(2), Only(&["method", "precision"]))
            .by_position(&["precision", "method"]),
        builtin("safe", Some(0), No),
        builtin("select", None, No),
        builtin("selectattr", None, No).min(1),
        builtin("slice", Some(2), No).min(1),
        builtin("sort", Some(0), SORT),
        builtin("split", Some(2), No),
        builtin("string", Some(0), No),
        builtin("sum", Some(2), Only(&["attribute", "start"])).by_position(&["attribute", "start"]),
        builtin("title", Some(0), No),
        builtin("tojson", Some(1), Only(&["indent"])).by_position(&["indent"]),
        builtin("trim", Some(1), No),
        builtin("unique", Some(0), MIN_MAX),
        builtin("upper", Some(0), No),
        builtin("urlencode", Some(0), No),
        builtin("zip", None, No),
    ]
};

/// minijinja's built-in global functions.
pub const BUILTIN_FUNCTIONS: &[Builtin] = &[
    builtin("range", Some(3), Keywords::None).min(1),
    builtin("dict", Some(1), Keywords::Any),
    builtin("debug", None, Keywords::None),
    builtin("namespace", Some(1), Keywords::Any).keywords_alone(),
];

impl Builtin {
    /// What `call` of this built-in gets wrong (the message and a hint), or
    /// `None`. Arguments spread from a list or a map (`*args`, `**kwargs`) are
    /// known only while rendering: what they could pass is not judged.
    fn call_error(&self, call: &Call) -> Option<(String, String)> {
        let name = self.name;
        // How to write a call that passes nothing, when it needs no parentheses.
        let bare = match call.kind {
            Kind::Filter => Some(format!("write `| {name}` with no parentheses")),
            Kind::Test => Some(format!("write `is {name}` with no parentheses")),
            Kind::Function => None,
        };
        let (what, form, besides) = match call.kind {
            Kind::Filter => (
                format!("the filter `{name}`"),
                format!("| {name}(...)"),
                " besides the value piped into it",
            ),
            Kind::Test => (
                format!("the test `{name}`"),
                format!("is {name}(...)"),
                " besides the value it tests",
            ),
            Kind::Function => (format!("`{name}()`"), format!("{name}(...)"), ""),
        };
        let docs = "see docs/templates.md and minijinja's documentation of its built-ins";
        let positional = call.positional();
        let known_list = |known: &[&str]| {
            known
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let refuse = |message: String, hint: String| Some((message, hint));
        if self.keywords == Keywords::None && call.spread_keywords {
            return refuse(
                format!("{what} takes no keyword arguments, but this call passes `**`"),
                format!("pass its arguments by position: `{form}`; {docs}"),
            );
        }
        for k in &call.keywords {
            match self.keywords {
                Keywords::Any => {}
                Keywords::None => {
                    let hint = match (self.max_args, &bare) {
                        (Some(0), Some(bare)) => bare.clone(),
                        _ => format!("pass its arguments by position: `{form}`; {docs}"),
                    };
                    return refuse(
                        format!("{what} takes no keyword arguments, but this call passes `{k}=`"),
                        hint,
                    );
                }
                Keywords::Only(known) if !known.contains(&k.as_str()) => {
                    // minijinja's `map` drops them rather than give them to the filter it names.
                    let map = if name == "map" {
                        "; pass the named filter's own arguments by position: `| map('round', 1)`"
                    } else {
                        ""
                    };
                    return refuse(
                        format!("{what} has no keyword argument `{k}`"),
                        format!("it takes the keyword arguments {}{map}", known_list(known)),
                    );
                }
                Keywords::Only(_) => {}
            }
            if let Some(at) = self.by_position.iter().position(|p| p == k)
                && positional > at
                && !call.spread_args
            {
                return refuse(
                    format!(
                        "{what} is passed `{k}` twice: as its argument number {} and as `{k}=`",
                        at + 1
                    ),
                    format!("pass `{k}` one way: by position or by keyword"),
                );
            }
        }
        if self.keywords_alone
            && (positional > 0 || call.spread_args)
            && (!call.keywords.is_empty() || call.spread_keywords)
        {
            let hint = if name == "map" {
                "`| map(attribute='a', default=0)` takes an attribute; `| map('round', 1)` applies a filter, with its arguments by position".to_string()
            } else {
                format!("pass either values by keyword or one value by position; {docs}")
            };
            return refuse(
                format!("{what} takes keyword arguments only without positional ones"),
                hint,
            );
        }
        if positional < self.min_args && !call.spread_args && !call.spread_keywords {
            let takes = match (self.min_args, self.max_args) {
                (n, Some(max)) if n == max => takes(n, n),
                (1, _) => "at least 1 argument".to_string(),
                (n, _) => format!("at least {n} arguments"),
            };
            return refuse(
                format!("{what} takes {takes}{besides}, but this call passes {positional}"),
                docs.to_string(),
            );
        }
        let max = self.max_args?;
        if call.spread_args || positional <= max {
            return None;
        }
        let takes = match max {
            0 => "no arguments".to_string(),
            1 => "at most 1 argument".to_string(),
            n => format!("at most {n} arguments"),
        };
        let hint = match bare {
            Some(bare) if max == 0 => bare,
            _ => docs.to_string(),
        };
        refuse(
            format!("{what} takes {takes}{besides}, but this call passes {positional}"),
            hint,
        )
    }
}

pub fn register(env: &mut Environment<'static>) {
    for f in FUNCTIONS {
        // The checker refuses a wrong count before anything is sent; counting again
        // here keeps a template compiled some other way from reaching `call` with it.
        env.add_function(f.name, move |args: Rest<Value>| {
            match f.arity_error(args.len()) {
                Some(why) => Err(Error::new(ErrorKind::InvalidOperation, why)),
                None => Ok((f.call)(&args)),
            }
        });
    }
    for f in FILTERS {
        // As for functions: the checker refuses a wrong count first, this is the
        // last line for a template that reached rendering some other way.
        env.add_filter(f.name, move |s: String, args: Rest<String>| {
            match f.arity_error(args.len()) {
                Some(why) => Err(Error::new(ErrorKind::InvalidOperation, why)),
                None => (f.call)(&s, &args),
            }
        });
    }
}

/// A test of minijinja's (`x is odd`, `x is divisibleby(3)`) takes exactly this
/// many arguments besides the tested value: none has optional ones, and none
/// takes keywords.
const fn test(name: &'static str, args: usize) -> Builtin {
    builtin(name, Some(args), Keywords::None).min(args)
}

/// minijinja's tests (`x is odd`, `x is divisibleby(3)`, `x is divisibleby 3`).
pub const BUILTIN_TESTS: &[Builtin] = &[
    test("boolean", 0),
    test("defined", 0),
    test("divisibleby", 1),
    test("endingwith", 1),
    test("eq", 1),
    test("equalto", 1),
    test("escaped", 0),
    test("even", 0),
    test("false", 0),
    test("filter", 0),
    test("float", 0),
    test("ge", 1),
    test("greaterthan", 1),
    test("gt", 1),
    test("in", 1),
    test("int", 0),
    test("integer", 0),
    test("iterable", 0),
    test("le", 1),
    test("lessthan", 1),
    test("lower", 0),
    test("lt", 1),
    test("mapping", 0),
    test("ne", 1),
    test("none", 0),
    test("number", 0),
    test("odd", 0),
    test("safe", 0),
    test("sameas", 1),
    test("sequence", 0),
    test("startingwith", 1),
    test("string", 0),
    test("test", 0),
    test("true", 0),
    test("undefined", 0),
    test("upper", 0),
];

/// Whether `name` is a function known to templates.
pub fn is_function(name: &str) -> bool {
    all_function_names().any(|n| n == name)
}

/// Whether `name` is a filter known to templates.
pub fn is_filter(name: &str) -> bool {
    all_filter_names().any(|n| n == name)
}

pub fn all_function_names() -> impl Iterator<Item = &'static str> {
    FUNCTIONS
        .iter()
        .map(|f| f.name)
        .chain(BUILTIN_FUNCTIONS.iter().map(|b| b.name))
}

/// Whether `name` is a test known to templates.
pub fn is_test(name: &str) -> bool {
    all_test_names().any(|n| n == name)
}

pub fn all_test_names() -> impl Iterator<Item = &'static str> {
    BUILTIN_TESTS.iter().map(|b| b.name)
}

pub fn all_filter_names() -> impl Iterator<Item = &'static str> {
    FILTERS
        .iter()
        .map(|f| f.name)
        .chain(BUILTIN_FILTERS.iter().map(|b| b.name))
}

fn builtin_of(table: &'static [Builtin], name: &str) -> Option<&'static Builtin> {
    table.iter().find(|b| b.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(src: &str) -> String {
        let mut env = Environment::new();
        register(&mut env);
        env.render_str(src, ())
            .unwrap_or_else(|e| format!("ERR {e}"))
    }

    #[test]
    fn filters_compute_what_their_names_say() {
        assert_eq!(render("{{ 'user:pass' | b64encode }}"), "dXNlcjpwYXNz");
        assert_eq!(render("{{ 'dXNlcjpwYXNz' | b64decode }}"), "user:pass");
        assert_eq!(
            render("{{ 'abc' | sha256 }}"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // RFC 4231 test case 2.
        assert_eq!(
            render("{{ 'what do ya want for nothing?' | hmac_sha256('Jefe') }}"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(render("{{ 'a b&c' | urlencode }}"), "a%20b%26c");
    }

    /// Argument lists of `n` arguments, for a call with that many.
    fn args(n: usize) -> String {
        (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
    }

    #[test]
    fn every_function_refuses_a_wrong_count_before_and_while_rendering() {
        let none = std::collections::HashSet::new();
        for f in FUNCTIONS {
            let mut wrong = vec![f.max_args + 1, f.max_args + 3];
            if let Some(below) = f.min_args.checked_sub(1) {
                wrong.push(below);
            }
            for n in wrong {
                let src = format!("{{{{ {}({}) }}}}", f.name, args(n));
                let errors = arity_errors(&src, &none);
                assert_eq!(errors.len(), 1, "{src}: {errors:?}");
                assert_eq!(errors[0].name, f.name);
                assert!(
                    errors[0].message.contains(&format!("passes {n}")),
                    "{src}: {}",
                    errors[0].message
                );
                assert!(render(&src).starts_with("ERR"), "{src} rendered");
            }
            for n in f.min_args..=f.max_args {
                let src = format!("{{{{ {}({}) }}}}", f.name, args(n));
                assert_eq!(arity_errors(&src, &none), vec![], "{src}");
                assert!(!render(&src).starts_with("ERR"), "{src}: {}", render(&src));
            }
        }
    }

    /// `| name` for no arguments, `| name(0, 1, ...)` otherwise.
    fn filter_call(name: &str, n: usize, parens: bool) -> String {
        if n == 0 && !parens {
            format!("{{{{ 'abc' | {name} }}}}")
        } else {
            format!("{{{{ 'abc' | {name}({}) }}}}", args(n))
        }
    }

    #[test]
    fn every_filter_refuses_a_wrong_count_before_and_while_rendering() {
        let none = std::collections::HashSet::new();
        for f in FILTERS {
            let mut wrong = vec![f.max_args + 1, f.max_args + 3];
            wrong.extend(f.min_args.checked_sub(1));
            for n in wrong {
                for src in [filter_call(f.name, n, false), filter_call(f.name, n, true)] {
                    let errors = arity_errors(&src, &none);
                    assert_eq!(errors.len(), 1, "{src}: {errors:?}");
                    assert_eq!(errors[0].name, f.name);
                    assert!(
                        errors[0].message.contains(&format!("passes {n}"))
                            && errors[0].message.contains("filter"),
                        "{src}: {}",
                        errors[0].message
                    );
                    assert!(render(&src).starts_with("ERR"), "{src} rendered");
                }
            }
            for n in f.min_args..=f.max_args {
                for src in [filter_call(f.name, n, false), filter_call(f.name, n, true)] {
                    assert_eq!(arity_errors(&src, &none), vec![], "{src}");
                    // b64decode of 'abc' is not valid base64: only the count is at stake.
                    let out = render(&src);
                    assert!(
                        !out.contains("takes") && !out.contains("argument"),
                        "{src}: {out}"
                    );
                }
            }
        }
    }

    #[test]
    fn filters_are_found_with_their_argument_counts() {
        let call = |name: &str, args: usize, filter: bool| Call {
            name: name.to_string(),
            args,
            keywords: Vec::new(),
            spread_args: false,
            spread_keywords: false,
            kind: if filter { Kind::Filter } else { Kind::Function },
        };
        let test = |name: &str, args: usize| Call {
            kind: Kind::Test,
            ..call(name, args, false)
        };
        let table: [(&str, Vec<Call>); 17] = [
            ("{{ x | sha256 }}", vec![call("sha256", 0, true)]),
            ("{{ x | sha256() }}", vec![call("sha256", 0, true)]),
            (
                "{{ x|hmac_sha256 ( 'a, b' ) }}",
                vec![call("hmac_sha256", 1, true)],
            ),
            (
                "{{ x | tojson | hmac_sha256(k, 2) | upper }}",
                vec![
                    call("tojson", 0, true),
                    call("hmac_sha256", 2, true),
                    call("upper", 0, true),
                ],
            ),
            (
                "{% set s = uuid() | b64encode %}",
                vec![call("uuid", 0, false), call("b64encode", 0, true)],
            ),
            ("{{ '| sha256(1)' }}{# x | sha256(1) #}", vec![]),
            (
                "{% filter upper %}a{% endfilter %}{% filter indent(2) %}b{% endfilter %}",
                vec![call("upper", 0, true), call("indent", 1, true)],
            ),
            // Operators and tags before `(` are not calls; tests are tests.
            (
                "{% if x is divisibleby(3) and(y) or not(z) %}{% elif(w) %}{% endif %}",
                vec![test("divisibleby", 1)],
            ),
            (
                "{{ x is not sameas(none) }}{{ 1 if(a) else 2 }}{{ 1 in([1]) }}{{ x is in [1] }}",
                vec![test("sameas", 1), test("in", 1)],
            ),
            (
                "{{ is_ok(1) }}{{ x | filter(1) }}",
                vec![call("is_ok", 1, false), call("filter", 1, true)],
            ),
            // `filter` is the tag only as a block's first word; `is` is the test
            // operator only after a value, and never as an attribute.
            (
                "{% for filter in ['a'] %}{% endfor %}{% if params.filter is defined or x.filter not in [1] %}{% endif %}",
                vec![test("defined", 0)],
            ),
            (
                "{% if 'upper' is filter and true %}{% endif %}",
                vec![test("filter", 0)],
            ),
            // A test or filter named by a string is checked as one.
            (
                "{{ x | select('odd') | selectattr('a', \"eq\", 1) | map('round', 1) | map(attribute='upper') | reject('==', 1) }}",
                vec![
                    call("select", 1, true),
                    test("odd", 0),
                    call("selectattr", 3, true),
                    test("eq", 1),
                    call("map", 2, true),
                    call("round", 1, true),
                    Call {
                        keywords: vec!["attribute".into()],
                        ..call("map", 1, true)
                    },
                    call("reject", 2, true),
                ],
            ),
            (
                "{% if x.is is number %}{% endif %}{{ x.is and 1 }}{% set is = 1 %}{{ is and 2 }}",
                vec![test("number", 0)],
            ),
            (
                "{% for filter in ['a'] %}{{ filter is startingwith('a') }}{% endfor %}{{ from is divisibleby(2) }}{% set with = 4 %}{{ with is odd }}",
                vec![
                    test("startingwith", 1),
                    test("divisibleby", 1),
                    test("odd", 0),
                ],
            ),
            (
                "{%- raw %}{{ x | sha256(1) }}{{ uuid(1) }}{% endraw -%}{{ x | sha256(1, 2) }}",
                vec![call("sha256", 2, true)],
            ),
            ("{% rawish | sha256 %}", vec![call("sha256", 0, true)]),
        ];
        for (src, want) in table {
            assert_eq!(scan_calls(src), want, "{src}");
        }
    }

    #[test]
    fn arguments_are_counted_the_way_the_template_reads_them() {
        let table: [(&str, &[(&str, usize)]); 11] = [
            ("{{ uuid() }}", &[("uuid", 0)]),
            ("{{ uuid( ) }}", &[("uuid", 0)]),
            ("{{ uuid(1) }}", &[("uuid", 1)]),
            ("{{ uuid(1, 2,) }}", &[("uuid", 2)]),
            ("{{ now(a=1) }}", &[("now", 1)]),
            ("{{ uuid('a, b)') }}", &[("uuid", 1)]),
            (
                "{{ range(len([1, 2]), dict(a=(1, 2))) }}",
                &[("range", 2), ("len", 1), ("dict", 1)],
            ),
            ("{{ x.uuid(1) }} {{ y | uuid(1) }}", &[]),
            ("{# uuid(1) #}{{ '}}' }} uuid(1)", &[]),
            ("{% set t = timestamp() %}{{ t }}", &[("timestamp", 0)]),
            ("{{ a }} {{ now ( 1 , [2, 3] ) }}", &[("now", 2)]),
        ];
        for (src, want) in table {
            let got = calls_with_arity(src);
            let want: Vec<(String, usize)> =
                want.iter().map(|(n, a)| (n.to_string(), *a)).collect();
            assert_eq!(got, want, "{src}");
        }
    }

    /// For each of minijinja's filters: a piped value and the most positional
    /// arguments it takes, which render; then a piped value and every keyword
    /// argument of its row, which render too.
    const FILTER_EXAMPLES: &[(&str, &str, &str, &str, &str)] = &[
        ("abs", "-1", "", "", ""),
        ("attr", "{'a': 1}", "'a'", "", ""),
        ("batch", "[1, 2, 3]", "2, 0", "", ""),
        ("bool", "1", "", "", ""),
        ("capitalize", "'ab'", "", "", ""),
        ("chain", "[1]", "[2], [3]", "", ""),
        ("count", "[1]", "", "", ""),
        ("d", "none", "1, true", "", ""),
        ("default", "none", "1, true", "", ""),
        (
            "dictsort",
            "{'b': 1}",
            "",
            "{'b': 1, 'A': 2}",
            "by='value', case_sensitive=true, reverse=true",
        ),
        ("e", "'<'", "", "", ""),
        ("escape", "'<'", "", "", ""),
        ("first", "[1]", "", "", ""),
        ("float", "'1.5'", "0.0", "'x'", "default=0.5"),
        ("format", "'%s'", "1", "'%(x)s'", "x=1"),
        (
            "groupby",
            "[{'a': 1}]",
            "'a'",
            "[{'a': 'x'}]",
            "attribute='a', case_sensitive=true, default='z'",
        ),
        (
            "indent",
            "'a\\nb'",
            "2, true, true",
            "'a\\nb'",
            "width=2, first=true, blank=true",
        ),
        ("int", "'10'", "0, 16", "'ff'", "default=0, base=16"),
        ("items", "{'a': 1}", "", "", ""),
        (
            "join",
            "[{'a': 1}]",
            "',', 'a'",
            "[{'a': 1}]",
            "attribute='a', d=','",
        ),
        ("last", "[1]", "", "", ""),
        ("length", "[1]", "", "", ""),
        ("lines", "'a\\nb'", "", "", ""),
        ("list", "'ab'", "", "", ""),
        ("lower", "'A'", "", "", ""),
        (
            "map",
            "['a']",
            "'upper'",
            "[{'a': 1}, {}]",
            "attribute='a', default=0",
        ),
        (
            "max",
            "[1, 2]",
            "",
            "[{'a': 'x'}]",
            "attribute='a', case_sensitive=true",
        ),
        (
            "min",
            "[1, 2]",
            "",
            "[{'a': 'x'}]",
            "attribute='a', case_sensitive=true",
        ),
        ("pprint", "[1]", "", "", ""),
        ("reject", "[1, 2]", "'odd'", "", ""),
        ("rejectattr", "[{'a': 1}]", "'a'", "", ""),
        (
            "replace",
            "'aaa'",
            "'a', 'b', 1",
            "'aaa'",
            "'a', 'b', count=1",
        ),
        ("reverse", "[1, 2]", "", "", ""),
        (
            "round",
            "2.567",
            "1, 'floor'",
            "2.567",
            "precision=1, method='ceil'",
        ),
        ("safe", "'a'", "", "", ""),
        ("select", "[1, 2]", "'odd'", "", ""),
        ("selectattr", "[{'a': 1}]", "'a'", "", ""),
        ("slice", "[1, 2, 3]", "2, 0", "", ""),
        (
            "sort",
            "[2, 1]",
            "",
            "[{'a': 'x'}, {'a': 'Y'}]",
            "attribute='a', case_sensitive=true, reverse=true",
        ),
        ("split", "'a b c'", "' ', 1", "", ""),
        ("string", "1", "", "", ""),
        (
            "sum",
            "[{'a': 1}]",
            "'a', 0",
            "[{'a': 1}]",
            "attribute='a', start=1",
        ),
        ("title", "'ab'", "", "", ""),
        ("tojson", "{'a': 1}", "2", "{'a': 1}", "indent=2"),
        ("trim", "'xax'", "'x'", "", ""),
        (
            "unique",
            "[1, 1]",
            "",
            "[{'a': 'x'}, {'a': 'X'}]",
            "attribute='a', case_sensitive=true",
        ),
        ("upper", "'a'", "", "", ""),
        ("urlencode", "'a b'", "", "", ""),
        ("zip", "[1]", "[2]", "", ""),
    ];

    fn with(args: &str, more: &str) -> String {
        [args, more]
            .into_iter()
            .filter(|a| !a.is_empty())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Each row of [`BUILTIN_FILTERS`] held against minijinja: what it takes
    /// renders, and what the checks refuse, minijinja refuses too (or, for
    /// `default`, reads as something else), so that a file the checks pass never
    /// fails for it while running, and one they refuse could not have run.
    #[test]
    fn builtins_take_what_their_rows_say() {
        let none = std::collections::HashSet::new();
        let names: Vec<&str> = FILTER_EXAMPLES.iter().map(|e| e.0).collect();
        let rows: Vec<&str> = BUILTIN_FILTERS.iter().map(|b| b.name).collect();
        assert_eq!(names, rows, "one example for each row, in the same order");
        let env = {
            let mut env = Environment::new();
            register(&mut env);
            env
        };
        let render = |src: &str| env.render_str(src, ()).map_err(|e| format!("{e:#}"));
        for (b, (name, piped, full, kw_piped, kw_args)) in
            BUILTIN_FILTERS.iter().zip(FILTER_EXAMPLES)
        {
            let call = |piped: &str, args: &str| format!("{{{{ {piped} | {name}({args}) }}}}");
            let ok = call(piped, full);
            assert!(render(&ok).is_ok(), "{ok}: {:?}", render(&ok));
            assert_eq!(arity_errors(&ok, &none), vec![], "{ok}");
            if b.min_args == 0 {
                // No positional argument at all (with the row's keywords, if any).
                let keywords: Vec<&str> = kw_args.split(", ").filter(|a| a.contains('=')).collect();
                let bare = if keywords.is_empty() {
                    call(piped, "")
                } else {
                    call(kw_piped, &keywords.join(", "))
                };
                assert!(render(&bare).is_ok(), "{bare}: {:?}", render(&bare));
            }
            if b.min_args > 0 {
                let at_least: Vec<&str> = full.split(", ").take(b.min_args).collect();
                let fewer = call(piped, &at_least[..b.min_args - 1].join(", "));
                let why = render(&fewer).expect_err(&fewer);
                assert!(why.contains("missing argument"), "{fewer}: {why}");
                assert_eq!(arity_errors(&fewer, &none).len(), 1, "{fewer}");
                let enough = call(piped, &at_least.join(", "));
                assert!(render(&enough).is_ok(), "{enough}: {:?}", render(&enough));
                assert_eq!(arity_errors(&enough, &none), vec![], "{enough}");
            }
            if let Some(max) = b.max_args {
                let given = if full.is_empty() {
                    0
                } else {
                    full.split(", ").count()
                };
                assert_eq!(given, max, "{name}: the example passes its most arguments");
                let over = call(piped, &with(full, "1"));
                let why = render(&over).expect_err(&over);
                assert!(why.contains("too many arguments"), "{over}: {why}");
                assert_eq!(arity_errors(&over, &none).len(), 1, "{over}");
            }
            if let Keywords::Only(known) = b.keywords {
                let src = call(kw_piped, kw_args);
                assert!(render(&src).is_ok(), "{src}: {:?}", render(&src));
                assert_eq!(arity_errors(&src, &none), vec![], "{src}");
                let mut passed: Vec<&str> = kw_args
                    .split(", ")
                    .filter(|a| a.contains('='))
                    .filter_map(|a| a.split('=').next())
                    .collect();
                passed.sort_unstable();
                assert_eq!(
                    passed, known,
                    "{name}: the example passes every keyword of its row"
                );
            }
            // A keyword that names a positional parameter given already.
            for (at, k) in b.by_position.iter().enumerate() {
                let Some(kw) = kw_args
                    .split(", ")
                    .find(|a| a.starts_with(&format!("{k}=")))
                else {
                    continue;
                };
                let before: Vec<&str> = full.split(", ").take(at + 1).collect();
                let twice = call(piped, &with(&before.join(", "), kw));
                assert!(render(&twice).is_err(), "{twice}: {:?}", render(&twice));
                let flagged = arity_errors(&twice, &none);
                assert!(
                    flagged.len() == 1 && flagged[0].message.contains("twice"),
                    "{twice}: {flagged:?}"
                );
            }
            // Every other keyword goes with every positional argument.
            if let (Keywords::Only(known), false) = (b.keywords, b.keywords_alone) {
                for k in known.iter().filter(|k| !b.by_position.contains(k)) {
                    let Some(kw) = kw_args
                        .split(", ")
                        .find(|a| a.starts_with(&format!("{k}=")))
                    else {
                        continue;
                    };
                    let both = call(piped, &with(full, kw));
                    assert!(render(&both).is_ok(), "{both}: {:?}", render(&both));
                    assert_eq!(arity_errors(&both, &none), vec![], "{both}");
                }
            }
            if b.keywords_alone {
                let mixed = call(piped, &with(full, kw_args));
                assert_eq!(arity_errors(&mixed, &none).len(), 1, "{mixed}");
                // Refused while rendering, or the keywords dropped.
                let out = render(&mixed);
                assert!(
                    out.is_err() || out == render(&call(piped, full)),
                    "{mixed}: {out:?}"
                );
            }
            let (base_piped, base_args) = if kw_args.is_empty() {
                (piped, full)
            } else {
                (kw_piped, kw_args)
            };
            let unknown = call(base_piped, &with(base_args, "zz_nope=1"));
            let flagged = arity_errors(&unknown, &none);
            match b.keywords {
                Keywords::Any => {
                    assert_eq!(flagged, vec![], "{unknown}");
                    // Any name: what it names is the writer's (`%(name)s`).
                    let src = call(kw_piped, kw_args);
                    assert!(
                        !kw_args.is_empty() && render(&src).is_ok(),
                        "{src}: {:?}",
                        render(&src)
                    );
                    assert_eq!(arity_errors(&src, &none), vec![], "{src}");
                }
                Keywords::None | Keywords::Only(_) => {
                    assert_eq!(flagged.len(), 1, "{unknown}");
                    assert!(
                        flagged[0].message.contains("keyword"),
                        "{unknown}: {flagged:?}"
                    );
                    // Refused while rendering, or (`default`) taken as a value.
                    let out = render(&unknown);
                    assert!(
                        out.is_err()
                            || out.as_deref() != render(&call(base_piped, base_args)).as_deref(),
                        "{unknown}: {out:?}"
                    );
                }
            }
        }
    }

    /// Every test the checks know, minijinja knows, and takes exactly the
    /// arguments its row says (in parentheses or, for one, without): one fewer
    /// or one more fails while rendering, and the checks refuse it before. A
    /// name minijinja does not know is an error while rendering, as it is
    /// before the run.
    #[test]
    fn the_known_tests_are_minijinja_s() {
        let none = std::collections::HashSet::new();
        for b in BUILTIN_TESTS {
            let name = b.name;
            // A value and an argument of the types the test reads.
            let (value, arg) = match name {
                "filter" => ("'upper'", "1"),
                "test" => ("'odd'", "1"),
                "startingwith" | "endingwith" => ("'abc'", "'a'"),
                "in" => ("1", "[1]"),
                _ => ("1", "1"),
            };
            let n = b.max_args.unwrap_or(usize::MAX);
            assert_eq!(
                Some(b.min_args),
                b.max_args,
                "{name}: a test's count is exact"
            );
            let with_args = |k: usize| {
                let args = vec![arg; k].join(", ");
                format!("{{{{ {value} is {name}({args}) }}}}")
            };
            let right = if n == 0 {
                format!("{{{{ {value} is {name} }}}}")
            } else {
                with_args(n)
            };
            for ok in [right, with_args(n)] {
                assert!(!render(&ok).starts_with("ERR"), "{ok}: {}", render(&ok));
                assert_eq!(arity_errors(&ok, &none), vec![], "{ok}");
            }
            let mut wrong = vec![with_args(n + 1)];
            if n == 1 {
                let bare = format!("{{{{ {value} is {name} {arg} }}}}");
                assert!(
                    !render(&bare).starts_with("ERR"),
                    "{bare}: {}",
                    render(&bare)
                );
                assert_eq!(arity_errors(&bare, &none), vec![], "{bare}");
                wrong.push(with_args(0));
                wrong.push(format!("{{{{ {value} is {name} }}}}"));
            }
            for bad in wrong {
                assert!(render(&bad).starts_with("ERR"), "{bad}: {}", render(&bad));
                assert_eq!(arity_errors(&bad, &none).len(), 1, "{bad}");
            }
        }
        assert!(render("{{ 1 is oddd }}").starts_with("ERR"));
    }

    /// A test's one argument may come without parentheses; what ends the
    /// test instead (`and`, `or`, `else`, the block's end) is no argument.
    #[test]
    fn a_test_s_argument_without_parentheses_is_counted() {
        let none = std::collections::HashSet::new();
        for (src, errors) in [
            ("{{ 6 is divisibleby 3 }}", 0),
            ("{{ 6 is divisibleby -3 }}", 0),
            ("{{ 6 is divisibleby x }}", 0),
            ("{{ 6 is sameas none }}", 0),
            ("{{ 'ab' is startingwith 'a' }}", 0),
            ("{{ 1 is in [1] }}", 0),
            ("{{ 6 is divisibleby }}", 1),
            ("{{ 6 is divisibleby -}}", 1),
            ("{% if 6 is divisibleby and true %}{% endif %}", 1),
            ("{{ 1 if 6 is divisibleby else 2 }}", 1),
            ("{{ 1 is odd and 2 is even }}", 0),
            ("{{ 1 if 1 is odd else 2 }}", 0),
            ("{{ 1 is odd -}}", 0),
            ("{{ 1 is odd 2 }}", 1),
            ("{{ 1 is not divisibleby 2 }}", 0),
            ("{{ [1, 2] | select('divisibleby', 2) | list }}", 0),
            ("{{ [1, 2] | select('divisibleby') | list }}", 1),
            ("{{ [1, 2] | select('odd', 2) | list }}", 1),
            ("{{ 6 is divisibleby(num=3) }}", 1),
        ] {
            assert_eq!(arity_errors(src, &none).len(), errors, "{src}");
            assert_eq!(
                render(src).starts_with("ERR"),
                errors > 0,
                "{src}: {}",
                render(src)
            );
        }
    }

    #[test]
    fn a_misspelt_keyword_argument_is_named_with_the_ones_there_are() {
        let none = std::collections::HashSet::new();
        let errors = arity_errors("{{ [3, 1] | sort(revers=true) | join(',') }}", &none);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(
            errors[0].message,
            "the filter `sort` has no keyword argument `revers`"
        );
        assert!(errors[0].hint.contains("`reverse`"), "{}", errors[0].hint);
        let errors = arity_errors("{{ 'a' | upper(x=1) }}{{ range(1, step=2) }}", &none);
        let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "the filter `upper` takes no keyword arguments, but this call passes `x=`",
                "`range()` takes no keyword arguments, but this call passes `step=`"
            ]
        );
        assert_eq!(
            arity_errors("{{ 'a' | upper(1) }}", &none)[0].message,
            "the filter `upper` takes no arguments besides the value piped into it, but this call passes 1"
        );
        // minijinja's `map` with a filter's name drops keyword arguments: it would
        // round to 0 places here, not 1.
        let errors = arity_errors("{{ [2.567] | map('round', precision=1) }}", &none);
        assert_eq!(
            errors[0].message,
            "the filter `map` has no keyword argument `precision`"
        );
        assert!(
            render("{{ [2.567] | map('round', precision=1) }}") == "[3.0]"
                && render("{{ [2.567] | map('round', 1) }}") == "[2.6]"
        );
        for (src, refused) in [
            ("{{ range(1, 2, 1, 4) }}", true),
            ("{{ range(1, step=2) }}", true),
            ("{{ dict(a=1) }}", false),
            ("{{ namespace(a=1).a }}", false),
            ("{{ debug(a=1) }}", true),
        ] {
            assert_eq!(
                arity_errors(src, &none).len(),
                usize::from(refused),
                "{src}"
            );
            assert_eq!(render(src).starts_with("ERR"), refused, "{src}");
        }
        // (template, refused before the run, refused while rendering)
        for (src, refused, fails) in [
            (
                "{% set o = {'reverse': true} %}{{ [3, 1, 2] | sort(**o) | list }}",
                false,
                false,
            ),
            ("{% set l = [1] %}{{ 2.567 | round(*l) }}", false, false),
            ("{% set l = [1, 2] %}{{ 'a' | upper(*l) }}", false, true),
            (
                "{% set o = {'x': 1} %}{{ none | default(**o) }}",
                true,
                true,
            ),
            ("{{ 2.567 | round(1, precision=2) }}", true, true),
            ("{{ [1] | join(',', d=';') }}", true, true),
            ("{{ namespace({'a': 1}, b=2) }}", true, true),
            ("{{ namespace(b=2).b }}", false, false),
            (
                "{{ ['a'] | map('upper', default='x') | list }}",
                true,
                false,
            ),
        ] {
            assert_eq!(
                arity_errors(src, &none).len(),
                usize::from(refused),
                "{src}"
            );
            assert_eq!(
                render(src).starts_with("ERR"),
                fails,
                "{src}: {}",
                render(src)
            );
        }
        // Comparisons and nested calls are not keyword arguments of the call.
        assert_eq!(
            arity_errors(
                "{{ [1] | select('eq', a == 1) | sort(attribute=dict(x=1)) }}",
                &none
            ),
            vec![]
        );
    }

    #[test]
    fn this_project_s_filters_take_no_keyword_arguments() {
        let none = std::collections::HashSet::new();
        for src in [
            "{{ 'a' | hmac_sha256(key='k') }}",
            "{% set o = {'key': 'k'} %}{{ 'a' | hmac_sha256(**o) }}",
            "{{ 'a' | hmac_sha256(*['k'], key='x') }}",
        ] {
            let errors = arity_errors(src, &none);
            assert_eq!(errors.len(), 1, "{src}: {errors:?}");
            assert!(
                errors[0].message.contains("no keyword arguments"),
                "{src}: {errors:?}"
            );
            assert!(render(src).starts_with("ERR"), "{src}: {}", render(src));
        }
    }

    #[test]
    fn a_template_s_own_macro_of_the_same_name_is_not_checked() {
        let own = std::collections::HashSet::from(["uuid".to_string()]);
        assert_eq!(arity_errors("{{ uuid(1) }}", &own), vec![]);
    }

    #[test]
    fn functions_produce_well_formed_values() {
        let id = render("{{ uuid() }}");
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
        let ts: i64 = render("{{ timestamp() }}").parse().unwrap_or(0);
        assert!(ts > 1_700_000_000);
        assert!(chrono::DateTime::parse_from_rfc3339(&render("{{ now() }}")).is_ok());
    }
}
