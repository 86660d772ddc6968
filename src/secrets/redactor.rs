//! The registry of secrets and the search that masks them.
//!
//! One registry derives, once per secret, the few forms that cannot be decoded
//! back in passing (base64 at each of its three alignments, hex in both cases);
//! everything a server or the runner escapes (percent-encoding, `+` for a space,
//! JSON and XML escapes, line breaks in base64, the URL-safe alphabet) is undone on the text being
//! masked instead, in a handful of "views" of it that remember where each byte
//! came from. Masking is then one search of each view, and the post-write scan of
//! a report is the same search.
//!
//! Cost, whatever a file or a server sends: adding a secret of L bytes stores
//! O(L) entries (every 12-byte run of each form, in hash maps, and the forms
//! shorter than that in Aho-Corasick automata that are merged like a binary
//! counter, so each short form is compiled O(log n) times); masking a text looks
//! at each byte of each view a bounded number of times.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher as _;
use std::sync::{Arc, RwLock};

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use base64::Engine as _;

use super::MASK;
use super::forms::{Kind, forms_of};
use super::views::{ByteChange, View};

/// Values the runner picks up by itself (header values, cookies) shorter than this
/// are not masked: masking "1" would garble every report. Secrets named by the
/// user (`secrets:`, `--secret`, a URL password) are masked whatever their length.
const MIN_SECRET_LEN: usize = 4;

/// Values of secret-looking environment variables shorter than this are not taken as
/// secrets (`DEBUG_KEY=true`): too short to be a credential, too likely to match
/// ordinary report text. Name the variable with `--secret` to mask it anyway.
const MIN_ENV_SECRET_LEN: usize = 6;

/// Every run of this many bytes of a form of a secret is masked wherever it shows,
/// whatever surrounds it; forms shorter than this are matched whole.
const WINDOW: usize = 12;

/// A form cut short (a body cut by `--max-body`, a text shortened by a report) is
/// masked when at least this many bytes of it show before the cut.
const MIN_CUT: usize = 4;

/// Short forms adding up to fewer bytes than this are searched without an
/// automaton: building one costs more than the search it saves.
const PLAIN_BELOW: usize = 64;

/// Escapes undone on top of each other (a JSON body inside a JSON string inside a
/// URL-encoded query, say).
const DECODE_PASSES: usize = 3;

/// The scan of written reports looks for secrets of at least this many bytes:
/// shorter ones (a PIN, a one-letter `--secret`) match the report's own words
/// (`<?xml`, `"name"`). They are masked all the same before anything is written.
const MIN_SCAN_LEN: usize = 8;

/// Reports larger than this are scanned in pieces, overlapping by `SCAN_OVERLAP`.
const SCAN_CHUNK: usize = 1 << 20;
const SCAN_OVERLAP: usize = 64 << 10;

/// What `events::excerpt` puts where it cuts a text: `… (N bytes in all)`.
const CUT_MARK: &[u8] = "… (".as_bytes();
const CUT_MARK_END: &[u8] = b" bytes in all)";

/// Words that start an `Authorization` value (RFC 9110 auth-schemes in use): a
/// secret that starts with one of them also hides the credential after it.
const AUTH_SCHEMES: [&str; 8] = [
    "basic",
    "bearer",
    "token",
    "digest",
    "negotiate",
    "apikey",
    "api-key",
    "hoba",
];

type Key = [u8; WINDOW];

/// How the text family reads a view: `+` is a space (form encoding).
const PLUS_AS_SPACE: ByteChange = ByteChange {
    replace: &[(b'+', b' ')],
    drop: &[],
};
/// How the base64 family reads a view: line breaks skipped, the URL-safe alphabet
/// read as the standard one.
const BASE64_STANDARD: ByteChange = ByteChange {
    replace: &[(b'-', b'+'), (b'_', b'/')],
    drop: b"\r\n",
};

/// Every pair of bytes.
const PAIRS: usize = 1 << 16;

fn pair_at(bytes: &[u8], i: usize) -> usize {
    (usize::from(bytes[i]) << 8) | usize::from(bytes[i + 1])
}
type Hasher = foldhash::fast::RandomState;

/// Where a form came from, for the leak report.
struct Info {
    label: u32,
    how: &'static str,
    /// The length of the secret it is a form of.
    secret_len: usize,
}

/// Short forms, matched whole by one automaton.
struct Tier {
    patterns: Vec<Vec<u8>>,
    infos: Vec<u32>,
    bytes: usize,
    ac: Option<AhoCorasick>,
}

impl Tier {
    fn build(patterns: Vec<Vec<u8>>, infos: Vec<u32>) -> Tier {
        let bytes = patterns.iter().map(Vec::len).sum();
        if bytes < PLAIN_BELOW {
            return Tier {
                patterns,
                infos,
                bytes,
                ac: None,
            };
        }
        // A contiguous NFA: cheap to build (a DFA is not, and tiers are rebuilt as
        // they merge), and fast enough on texts of reports.
        let ac = AhoCorasick::builder()
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .ok();
        Tier {
            patterns,
            infos,
            bytes,
            ac,
        }
    }
}

/// The forms searched in one kind of view.
struct Family {
    kind: Kind,
    /// Forms shorter than `WINDOW`, in automata of decreasing size.
    tiers: Vec<Tier>,
    /// Every `WINDOW`-byte run of the longer forms.
    windows: HashMap<Key, u32, Hasher>,
    /// A bit for each pair of bytes a window starts with: most positions of a
    /// text are ruled out by one lookup here.
    pairs: Vec<u64>,
    /// A bit per hash of the windows: most positions left are ruled out without
    /// a lookup.
    bloom: Vec<u64>,
    bloom_shift: u32,
    /// Each form's starts (`MIN_CUT` bytes up to a window), and how many of their
    /// first bytes may show (a Layers key's public part).
    prefixes: HashMap<Box<[u8]>, (u32, usize), Hasher>,
    max_prefix: usize,
}

impl Family {
    fn new(kind: Kind) -> Self {
        Family {
            kind,
            tiers: Vec::new(),
            windows: HashMap::default(),
            pairs: vec![0; PAIRS / 64],
            bloom: Vec::new(),
            bloom_shift: 64,
            prefixes: HashMap::default(),
            max_prefix: 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.tiers.is_empty() && self.windows.is_empty() && self.prefixes.is_empty()
    }
}

/// The hash of windows for the bloom filter, with a base chosen per process.
#[derive(Clone, Copy)]
struct Roll {
    base: u64,
}

impl Roll {
    fn new() -> Self {
        Roll {
            base: Hasher::default().hash_one(0x5eed_u64) | 1,
        }
    }

    fn hash(&self, w: &[u8]) -> u64 {
        w.iter().fold(0u64, |h, &b| {
            h.wrapping_mul(self.base).wrapping_add(u64::from(b))
        })
    }
}

fn bloom_slot(h: u64, shift: u32) -> usize {
    // The multiplication spreads the low bits that a polynomial hash keeps poor.
    let mixed = h.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    usize::try_from(mixed.checked_shr(shift).unwrap_or(0)).unwrap_or(0)
}

struct State {
    generation: u64,
    seen: HashSet<String, Hasher>,
    labels: Vec<String>,
    infos: Vec<Info>,
    families: [Family; 2],
    roll: Roll,
    /// Bytes of forms compiled into automata so far (merges included), and bytes
    /// of forms added: what adding secrets has cost, for the test that keeps it
    /// linear.
    compiled: usize,
    added: usize,
    /// Credentials learnt from responses by their shape ([`Redactor::add_learnt`]).
    learnt: usize,
}

/// Most credentials a run learns from responses by their shape: each one makes
/// every later mask search larger, and a server listing thousands of key-shaped
/// words (a fixture, a log) across many responses would make the run crawl.
pub const MAX_LEARNT_PER_RUN: usize = 1024;

impl Default for State {
    fn default() -> Self {
        State {
            generation: 0,
            seen: HashSet::default(),
            labels: Vec::new(),
            infos: Vec::new(),
            families: [Family::new(Kind::Text), Family::new(Kind::Base64)],
            roll: Roll::new(),
            compiled: 0,
            added: 0,
            learnt: 0,
        }
    }
}

/// The set of secret values known so far, and how to mask them.
#[derive(Default, Clone)]
pub struct Redactor {
    inner: Arc<RwLock<State>>,
}

/// Where a form of a secret shows in a text (byte offsets of the original).
#[derive(Clone, Copy, Debug)]
pub(super) struct Hit {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) info: u32,
}

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Add a secret value the user named (see [`Redactor::add_labeled`]).
    pub fn add(&self, secret: &str) {
        self.add_labeled(secret, "a secret");
    }

    /// Add a secret value the user named, whatever its length; `label` says where it
    /// came from (`env LAYERS_API_KEY`). A value that starts with an auth scheme
    /// (`Bearer x`, `Basic x`) also hides the credential on its own.
    pub fn add_labeled(&self, secret: &str, label: &str) {
        self.insert(secret, label, 1);
        if let Some((scheme, cred)) = secret.trim().split_once(' ')
            && AUTH_SCHEMES.contains(&scheme.to_ascii_lowercase().as_str())
        {
            self.add_credential(scheme, cred, label);
        }
    }

    /// Add every string and number inside a value (`secrets:` may name a number or
    /// a mapping); flags and nulls are no secret.
    pub fn add_value(&self, value: &serde_json::Value, label: &str) {
        self.add_value_min(value, label, 1);
    }

    fn add_value_min(&self, value: &serde_json::Value, label: &str, min: usize) {
        let text = match value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Array(items) => {
                for v in items {
                    self.add_value_min(v, label, min);
                }
                return;
            }
            serde_json::Value::Object(map) => {
                for v in map.values() {
                    self.add_value_min(v, label, min);
                }
                return;
            }
            serde_json::Value::Bool(_) | serde_json::Value::Null => return,
        };
        if text.trim().len() >= min {
            self.add_labeled(&text, label);
        }
    }

    /// Add the value of variable, capture or parameter `name` if it is a secret:
    /// listed under `secrets:` (whatever its length), or found by the checks to
    /// flow into a secret header or such a variable (when it is long enough to be
    /// a credential, as for the environment).
    pub fn add_named(
        &self,
        name: &str,
        value: &serde_json::Value,
        declared: &[String],
        inferred: &[String],
    ) {
        let label = format!("secret `{name}`");
        if declared.iter().any(|d| d == name) {
            self.add_value_min(value, &label, 1);
        } else if inferred.iter().any(|d| d == name) {
            self.add_value_min(value, &label, MIN_ENV_SECRET_LEN);
        }
    }

    /// The credential of `scheme cred`; for Basic, also its decoded `user:password`
    /// and the password.
    fn add_credential(&self, scheme: &str, cred: &str, label: &str) {
        let cred = cred.trim();
        self.insert(cred, label, MIN_SECRET_LEN);
        if scheme.eq_ignore_ascii_case("basic")
            && let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(cred)
            && let Ok(text) = String::from_utf8(bytes)
        {
            if let Some((_, password)) = text.split_once(':') {
                self.insert(password, label, MIN_SECRET_LEN);
            }
            self.insert(&text, label, MIN_SECRET_LEN);
        }
    }

    /// Add the secret in a header value, read the way that header is written:
    /// `Authorization: Basic ...`, `Cookie: a=1; b=2`, `Set-Cookie: s=1; Path=/`.
    pub fn add_header(&self, name: &str, value: &str) {
        let label = format!("header {name}");
        let lower = name.to_ascii_lowercase();
        // A Set-Cookie's attributes (`Path=/; HttpOnly`) are no secret and show up in
        // every other cookie: only its `name=value` is.
        let pairs: Vec<&str> = match lower.as_str() {
            "cookie" => {
                let pairs: Vec<&str> = value.split(';').collect();
                if pairs.iter().any(|p| cookie_value_is_secret(p)) {
                    self.insert(value, &label, MIN_SECRET_LEN);
                }
                pairs
            }
            "set-cookie" => value.split(';').take(1).collect(),
            "authorization" | "proxy-authorization" => {
                // The first word of these is the scheme, and no secret.
                match value.trim().split_once(' ') {
                    Some((scheme, cred)) if is_auth_scheme(scheme) => {
                        self.add_credential(scheme, cred, &label)
                    }
                    _ => self.insert(value, &label, MIN_SECRET_LEN),
                }
                Vec::new()
            }
            _ => {
                self.insert(value, &label, MIN_SECRET_LEN);
                Vec::new()
            }
        };
        for pair in pairs {
            if !cookie_value_is_secret(pair) {
                continue;
            }
            self.insert(pair, &label, MIN_SECRET_LEN);
            // Each cookie's value alone, unless it is too short to tell from text.
            if let Some((_, v)) = pair.split_once('=') {
                let v = v.trim().trim_matches('"');
                if v.len() >= MIN_ENV_SECRET_LEN {
                    self.insert(v, &label, MIN_SECRET_LEN);
                }
            }
        }
    }

    /// Add every variable of the process environment that names a secret.
    pub fn add_env_secrets(&self) {
        for (k, v) in std::env::vars() {
            self.add_if_secret_name(&k, &v, &format!("env {k}"));
        }
    }

    /// Add `value` when `name` reads like a secret's (`*_KEY`, `*_TOKEN`, `*_SECRET`,
    /// `*_PASSWORD`) and the value looks like one (not a flag or a number).
    pub fn add_if_secret_name(&self, name: &str, value: &str, label: &str) {
        if super::is_secret_var_name(name) && looks_secret(value) {
            self.add_labeled(value, label);
        }
    }

    /// Add what a template made of a secret (`{{ key | upper }}`, `{{ key[8:20] }}`),
    /// when it looks like one: long enough, and not a flag or a number (`{{ key |
    /// length }}` gives no secret).
    ///
    /// A value that is a known secret with punctuation around it (`{{ key |
    /// tojson }}` gives it in quotes) adds nothing: adding it would mask the
    /// quotes too, where the secret alone is masked already.
    pub fn add_derived(&self, value: &str, label: &str) {
        if !looks_secret(value) {
            return;
        }
        let rest = self.scrub(value).replace(super::MASK, "");
        if rest.chars().any(char::is_alphanumeric) || rest.len() == value.len() {
            self.insert(value, label, MIN_ENV_SECRET_LEN);
        }
    }

    /// Add a credential a response showed (its shape gave it away), at most
    /// [`MAX_LEARNT_PER_RUN`] a run.
    pub fn add_learnt(&self, value: &str, label: &str) {
        {
            let mut st = self.write();
            if st.seen.contains(value.trim()) || st.learnt >= MAX_LEARNT_PER_RUN {
                return;
            }
            st.learnt += 1;
        }
        self.insert(value, label, MIN_SECRET_LEN);
    }

    /// Changes whenever a secret is added.
    pub fn generation(&self) -> u64 {
        self.read().generation
    }

    pub fn is_empty(&self) -> bool {
        self.read().seen.is_empty()
    }

    /// Bytes of forms added, and bytes compiled into automata (for the cost test).
    #[doc(hidden)]
    pub fn cost(&self) -> (usize, usize) {
        let st = self.read();
        (st.added, st.compiled)
    }

    fn insert(&self, value: &str, label: &str, min_len: usize) {
        let value = value.trim();
        if value.is_empty() || value.len() < min_len {
            return;
        }
        let mut st = self.write();
        if st.seen.contains(value) {
            return;
        }
        st.seen.insert(value.to_string());
        st.generation += 1;
        let label_id = u32::try_from(st.labels.len()).unwrap_or(u32::MAX);
        st.labels.push(label.to_string());
        let mut short: [Vec<(Vec<u8>, u32)>; 2] = Default::default();
        for (kind, form, how) in forms_of(value) {
            let info = u32::try_from(st.infos.len()).unwrap_or(u32::MAX);
            st.infos.push(Info {
                label: label_id,
                how,
                secret_len: value.len(),
            });
            st.added += form.len();
            let roll = st.roll;
            add_form(
                &mut st.families[kind as usize],
                roll,
                &mut short[kind as usize],
                form,
                info,
            );
        }
        let State {
            families, compiled, ..
        } = &mut *st;
        for (fam, forms) in families.iter_mut().zip(short) {
            push_tier(fam, forms, compiled);
        }
    }

    /// `text` with every form of every secret masked, including a secret cut short
    /// where an excerpt ends (`lp_test_01HX…_4QZp… (900 bytes in all)`).
    pub fn scrub(&self, text: &str) -> String {
        self.scrub_cut(text, false)
    }

    /// [`Redactor::scrub`]; with `cut_at_end`, the text is also taken as cut at its
    /// end (a body cut by `--max-body`), so the start of a secret there is masked.
    pub fn scrub_cut(&self, text: &str, cut_at_end: bool) -> String {
        let hits = self.hits(text.as_bytes(), true, cut_at_end);
        if hits.is_empty() {
            return text.to_string();
        }
        mask(text, hits)
    }

    /// [`Redactor::scrub`], each secret replaced by as many `*` as it has
    /// characters: a line quoted under a caret keeps its columns, and is masked
    /// whole before it is cut to fit the terminal (a cut could leave a piece of a
    /// secret too short to be known for one).
    pub fn scrub_same_width(&self, text: &str) -> String {
        let hits = self.hits(text.as_bytes(), true, false);
        if hits.is_empty() {
            return text.to_string();
        }
        mask_with(text, hits, true)
    }

    pub fn scrub_in_place(&self, text: &mut String) {
        self.scrub_in_place_cut(text, false);
    }

    /// [`Redactor::scrub_cut`], in place, copying only when something is masked.
    pub fn scrub_in_place_cut(&self, text: &mut String, cut_at_end: bool) {
        let hits = self.hits(text.as_bytes(), true, cut_at_end);
        if !hits.is_empty() {
            *text = mask(text, hits);
        }
    }

    /// The first secret form found in `bytes`, described without revealing it.
    /// A large text is scanned on every core, in overlapping slices.
    pub fn find_leak(&self, bytes: &[u8]) -> Option<String> {
        let slices: Vec<(usize, usize)> = {
            let mut out = Vec::new();
            let mut at = 0;
            loop {
                let end = (at + SCAN_CHUNK).min(bytes.len());
                out.push((at, end));
                if end == bytes.len() {
                    break out;
                }
                at = end.saturating_sub(SCAN_OVERLAP).max(at + 1);
            }
        };
        let scan = |&(at, end): &(usize, usize)| {
            let st = self.read();
            let long_enough = |info: u32| {
                st.infos
                    .get(info as usize)
                    .is_some_and(|i| i.secret_len >= MIN_SCAN_LEN)
            };
            hits_where(&st, &bytes[at..end], false, false, &long_enough)
                .into_iter()
                .min_by_key(|h| h.start)
                .map(|h| Hit {
                    start: at + h.start,
                    end: at + h.end,
                    info: h.info,
                })
        };
        let first = if slices.len() < 2 {
            slices.iter().find_map(scan)
        } else {
            let threads = crate::cores::cores().min(slices.len());
            let next = std::sync::atomic::AtomicUsize::new(0);
            let work = || {
                let mut found: Vec<Hit> = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(slice) = slices.get(i) else { break };
                    found.extend(scan(slice));
                }
                found
            };
            let scanned = std::thread::scope(|s| {
                let helpers: Vec<_> = (1..threads)
                    .filter_map(|_| std::thread::Builder::new().spawn_scoped(s, work).ok())
                    .collect();
                let mut found = work();
                for h in helpers {
                    // A slice taken by a thread that panicked was not scanned:
                    // the text cannot be called clean.
                    found.extend(h.join().map_err(|_| ())?);
                }
                Ok(found.into_iter().min_by_key(|h| h.start))
            });
            match scanned {
                Ok(first) => first,
                Err(()) => {
                    return Some("a secret, maybe: the scan of part of the text failed".into());
                }
            }
        }?;
        let st = self.read();
        let info = st.infos.get(first.info as usize);
        let label = info
            .and_then(|i| st.labels.get(i.label as usize))
            .map_or("a secret", String::as_str);
        let how = info.map_or("", |i| i.how);
        Some(format!(
            "{label}{how} ({} bytes) at byte {}",
            first.end - first.start,
            first.start
        ))
    }

    /// Every place a form of a known secret shows in `bytes`.
    fn hits(&self, bytes: &[u8], cuts: bool, cut_at_end: bool) -> Vec<Hit> {
        let st = self.read();
        hits_where(&st, bytes, cuts, cut_at_end, &|_| true)
    }
}

/// The hits of the forms `keep` accepts. Most texts hold no secret: they are
/// searched first without the views' maps back to the original, which are
/// built only when something shows.
fn hits_where(
    st: &State,
    bytes: &[u8],
    cuts: bool,
    cut_at_end: bool,
    keep: &dyn Fn(u32) -> bool,
) -> Vec<Hit> {
    if st.seen.is_empty() {
        return Vec::new();
    }
    let any = if cuts {
        !search_views(st, bytes, cuts, cut_at_end, false, keep).is_empty()
    } else {
        shows_whole(st, bytes, keep)
    };
    if !any {
        return Vec::new();
    }
    search_views(st, bytes, cuts, cut_at_end, true, keep)
}

/// Whether a whole form `keep` accepts shows in any view of `bytes`: the same
/// answer as searching every view whole, for less. The text itself is searched
/// whole; a view with escapes undone only near the bytes the escapes stood for,
/// because a match anywhere else in it is a match in the view it was made from,
/// byte for byte, and was found there.
fn shows_whole(st: &State, bytes: &[u8], keep: &dyn Fn(u32) -> bool) -> bool {
    let mut out = Vec::new();
    let found = |view: &View<'_>, out: &mut Vec<Hit>| {
        out.clear();
        search_families(st, view, false, false, false, out);
        out.iter().any(|h| keep(h.info))
    };
    let raw = View::raw(bytes);
    if found(&raw, &mut out) {
        return true;
    }
    let mut view = raw;
    for _ in 0..DECODE_PASSES {
        let Some(next) = view.decoded(false) else {
            break;
        };
        for (s, e) in near(&next.bytes, &next.changed) {
            if found(&View::raw(&next.bytes[s..e]), &mut out) {
                return true;
            }
        }
        view = next;
    }
    false
}

/// The stretches of `bytes` a form can show in while touching one of the
/// `changed` ranges: each range and a window less one byte on either side. Line
/// breaks do not count towards that margin, since the base64 family skips them.
fn near(bytes: &[u8], changed: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let margin = WINDOW - 1;
    let counts = |b: u8| !matches!(b, b'\r' | b'\n');
    let mut out: Vec<(usize, usize)> = Vec::new();
    for &(a, b) in changed {
        let mut s = a;
        let mut kept = 0;
        while s > 0 && kept < margin {
            s -= 1;
            kept += usize::from(counts(bytes[s]));
        }
        let mut e = b.min(bytes.len());
        kept = 0;
        while e < bytes.len() && kept < margin {
            kept += usize::from(counts(bytes[e]));
            e += 1;
        }
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// Search one view for every family, each in the view as that family reads it.
fn search_families(
    st: &State,
    v: &View<'_>,
    cuts: bool,
    cut_at_end: bool,
    mapped: bool,
    out: &mut Vec<Hit>,
) {
    for fam in &st.families {
        if fam.is_empty() {
            continue;
        }
        let derived = match fam.kind {
            Kind::Text => v.derive(&PLUS_AS_SPACE, mapped),
            Kind::Base64 => v.derive(&BASE64_STANDARD, mapped),
        };
        let view = derived.as_ref().unwrap_or(v);
        search(fam, st.roll, view, cuts, cut_at_end, out);
    }
}

/// Search every view of `bytes` for every family; with `mapped`, the hits are
/// placed in `bytes`, else only their number counts.
fn search_views(
    st: &State,
    bytes: &[u8],
    cuts: bool,
    cut_at_end: bool,
    mapped: bool,
    keep: &dyn Fn(u32) -> bool,
) -> Vec<Hit> {
    let mut out = Vec::new();
    let mut views = vec![View::raw(bytes)];
    while views.len() <= DECODE_PASSES {
        match views.last().and_then(|v| v.decoded(mapped)) {
            Some(v) => views.push(v),
            None => break,
        }
    }
    for v in &views {
        search_families(st, v, cuts, cut_at_end, mapped, &mut out);
    }
    out.retain(|h| keep(h.info));
    out
}

/// Put one form into its family: whole when short, as its windows when long, and
/// its starts for cuts.
fn add_form(
    fam: &mut Family,
    roll: Roll,
    short: &mut Vec<(Vec<u8>, u32)>,
    form: Vec<u8>,
    info: u32,
) {
    let n = form.len();
    // A Layers key keeps its log-safe public part readable: no window covers it,
    // and a key cut after it still shows it.
    let publics = if fam.kind == Kind::Text {
        public_parts(&form)
    } else {
        Vec::new()
    };
    let keep = publics
        .first()
        .filter(|(s, _)| *s == 0)
        .map_or(0, |(_, e)| *e);
    let max_cut = n.saturating_sub(1).min(keep + WINDOW - 1);
    for k in MIN_CUT.max(keep + 1)..=max_cut {
        fam.prefixes.entry(form[..k].into()).or_insert((info, keep));
    }
    fam.max_prefix = fam.max_prefix.max(max_cut);
    if n < WINDOW {
        short.push((form, info));
        return;
    }
    let public = |a: usize| publics.iter().any(|(s, e)| a < *e && *s < a + WINDOW);
    let mut starts: Vec<usize> = (0..=n - WINDOW).filter(|a| !public(*a)).collect();
    if starts.is_empty() {
        // Nothing but public parts and a few bytes: masked whole.
        starts = (0..=n - WINDOW).collect();
    }
    for start in starts {
        let mut key = [0u8; WINDOW];
        key.copy_from_slice(&form[start..start + WINDOW]);
        if fam.windows.insert(key, info).is_none() {
            let pair = pair_at(&key, 0);
            fam.pairs[pair / 64] |= 1 << (pair % 64);
            let slots = fam.windows.len() * 16;
            if slots > fam.bloom.len() * 64 {
                rebuild_bloom(fam, roll, slots);
            } else {
                let slot = bloom_slot(roll.hash(&key), fam.bloom_shift);
                fam.bloom[slot / 64] |= 1 << (slot % 64);
            }
        }
    }
}

/// Add the short forms of one secret as one automaton, merged like a binary
/// counter: an automaton is rebuilt only when the one before it is no more than
/// twice its size, so each form is compiled O(log n) times in all.
fn push_tier(fam: &mut Family, short: Vec<(Vec<u8>, u32)>, compiled: &mut usize) {
    if short.is_empty() {
        return;
    }
    let (patterns, infos): (Vec<Vec<u8>>, Vec<u32>) = short.into_iter().unzip();
    let mut tier = Tier::build(patterns, infos);
    *compiled += tier.bytes;
    while let Some(prev) = fam.tiers.last() {
        if prev.bytes > 2 * tier.bytes {
            break;
        }
        let Some(prev) = fam.tiers.pop() else { break };
        let mut patterns = prev.patterns;
        let mut infos = prev.infos;
        patterns.extend(tier.patterns);
        infos.extend(tier.infos);
        tier = Tier::build(patterns, infos);
        *compiled += tier.bytes;
    }
    fam.tiers.push(tier);
}

/// A bloom filter of about 16 bits per window: doubled (and filled again) when the
/// windows outgrow it, which keeps adding linear.
fn rebuild_bloom(fam: &mut Family, roll: Roll, slots: usize) {
    let bits = slots.next_power_of_two().max(4096);
    fam.bloom = vec![0u64; bits / 64];
    fam.bloom_shift = 64 - bits.trailing_zeros();
    for key in fam.windows.keys() {
        let slot = bloom_slot(roll.hash(key), fam.bloom_shift);
        fam.bloom[slot / 64] |= 1 << (slot % 64);
    }
}

/// The hits of one family in one view.
fn search(
    fam: &Family,
    roll: Roll,
    v: &View<'_>,
    cuts: bool,
    cut_at_end: bool,
    out: &mut Vec<Hit>,
) {
    let bytes: &[u8] = &v.bytes;
    for tier in &fam.tiers {
        match &tier.ac {
            Some(ac) => {
                for m in ac.find_overlapping_iter(bytes) {
                    if let Some(&info) = tier.infos.get(m.pattern().as_usize()) {
                        out.push(v.hit(m.start(), m.end(), info));
                    }
                }
            }
            // A few bytes of forms (or an automaton that could not be built: a
            // failure must not mean no masking): searched plainly.
            None => {
                for (p, &info) in tier.patterns.iter().zip(&tier.infos) {
                    for (i, w) in bytes.windows(p.len()).enumerate() {
                        if w == p.as_slice() {
                            out.push(v.hit(i, i + p.len(), info));
                        }
                    }
                }
            }
        }
    }
    if !fam.windows.is_empty() && bytes.len() >= WINDOW {
        // The pair of bytes a window starts with rules out most positions; only
        // there is the window hashed for the bloom filter, and looked up.
        for i in 0..=bytes.len() - WINDOW {
            let pair = pair_at(bytes, i);
            if fam.pairs[pair / 64] & (1 << (pair % 64)) == 0 {
                continue;
            }
            let mut key = [0u8; WINDOW];
            key.copy_from_slice(&bytes[i..i + WINDOW]);
            let slot = bloom_slot(roll.hash(&key), fam.bloom_shift);
            if fam.bloom[slot / 64] & (1 << (slot % 64)) == 0 {
                continue;
            }
            if let Some(&info) = fam.windows.get(&key) {
                out.push(v.hit(i, i + WINDOW, info));
            }
        }
    }
    if cuts && !fam.prefixes.is_empty() {
        for c in cut_points(bytes, cut_at_end) {
            for e in cut_ends(bytes, c) {
                for k in (MIN_CUT..=fam.max_prefix.min(e)).rev() {
                    if let Some(&(info, keep)) = fam.prefixes.get(&bytes[e - k..e]) {
                        out.push(v.hit(e - k + keep, e, info));
                        break;
                    }
                }
            }
        }
    }
}

/// Where a text was cut: before each `… (N bytes in all)`, and at its end when the
/// text was cut there.
fn cut_points(bytes: &[u8], at_end: bool) -> Vec<usize> {
    let mut out = Vec::new();
    let mut from = if bytes.contains(&CUT_MARK[0]) {
        0
    } else {
        bytes.len()
    };
    while let Some(i) = find(&bytes[from..], CUT_MARK) {
        let at = from + i;
        let rest = &bytes[at + CUT_MARK.len()..];
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits > 0 && rest[digits..].starts_with(CUT_MARK_END) {
            out.push(at);
        }
        from = at + CUT_MARK.len();
    }
    if at_end {
        out.push(bytes.len());
    }
    out
}

/// The ends a cut secret may have before cut point `c`: the cut itself, before
/// the replacement characters of a character cut in two, and before an escape cut
/// in two (`%2`, `\u00`, `\ud83d\udd1`, `&am`).
fn cut_ends(bytes: &[u8], c: usize) -> Vec<usize> {
    let mut out = vec![c];
    let mut e = c;
    while e >= 3 && bytes[e - 3..e] == [0xEF, 0xBF, 0xBD] {
        e -= 3;
    }
    if e != c {
        out.push(e);
    }
    for p in (e.saturating_sub(12)..e).rev() {
        if matches!(bytes[p], b'%' | b'\\' | b'&')
            && bytes[p + 1..e]
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'#' | b'\\'))
        {
            out.push(p);
        }
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `text` with the spans of `hits` (merged, widened to whole characters) replaced
/// by `***`.
fn mask(text: &str, hits: Vec<Hit>) -> String {
    mask_with(text, hits, false)
}

/// `text` with the spans of `hits` replaced by [`MASK`], or, `same_width`, by as
/// many `*` as the span has characters.
fn mask_with(text: &str, mut hits: Vec<Hit>, same_width: bool) -> String {
    hits.sort_unstable_by_key(|h| (h.start, h.end));
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for h in hits {
        let mut s = h.start.min(text.len());
        let mut e = h.end.min(text.len());
        while s > 0 && !text.is_char_boundary(s) {
            s -= 1;
        }
        while e < text.len() && !text.is_char_boundary(e) {
            e += 1;
        }
        if s >= e {
            continue;
        }
        match spans.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => spans.push((s, e)),
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (s, e) in spans {
        out.push_str(&text[at..s]);
        if same_width {
            out.extend(std::iter::repeat_n('*', text[s..e].chars().count()));
        } else {
            out.push_str(MASK);
        }
        at = e;
    }
    out.push_str(&text[at..]);
    out
}

/// Whether a cookie's `name=value` is worth masking. Not when its value is empty (a
/// cookie being deleted: its bare name would mask ordinary text, a URL naming it),
/// nor shorter than a header value the runner masks by itself: `flavour=rye` set by
/// `GET /cookies/set?flavour=rye` would mask that step's own name and URL, and a
/// 3-character value is no credential. A bare word (no `=`) is judged whole.
fn cookie_value_is_secret(pair: &str) -> bool {
    let value = pair.split_once('=').map_or(pair, |(_, v)| v);
    value.trim().trim_matches('"').chars().count() >= MIN_SECRET_LEN
}

/// `Bearer`, `Basic`, `Token`, `Digest`...: one word of letters (RFC 9110 auth-scheme).
fn is_auth_scheme(word: &str) -> bool {
    (2..=16).contains(&word.len()) && word.chars().all(|c| c.is_ascii_alphabetic() || c == '-')
}

/// Whether an environment value is worth masking: long enough, and not a flag or number.
fn looks_secret(v: &str) -> bool {
    let v = v.trim();
    let lower = v.to_ascii_lowercase();
    v.len() >= MIN_ENV_SECRET_LEN
        && !matches!(lower.as_str(), "true" | "false" | "enabled" | "disabled")
        && !v.chars().all(|c| c.is_ascii_digit())
}

/// Where Layers keys inside `text` show their log-safe part `lp_<env>_<key_id>_`.
fn public_parts(text: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for env in [b"lp_test_", b"lp_live_"] {
        let mut from = 0;
        while let Some(i) = find(&text[from..], env) {
            let at = from + i;
            let id = at + env.len();
            if text.len() > id + 16
                && text[id..id + 16].iter().all(u8::is_ascii_alphanumeric)
                && text[id + 16] == b'_'
            {
                out.push((at, id + 17));
            }
            from = at + 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::forms::html_safe_json;
    use super::*;

    const KEY: &str = "lp_test_01HX9Y6K7EJ4T2AB_4QZpNbT0w5yqL9cVf3sXo2hR8mJd6kEaUuWiZgPnBtC";

    /// The scan that looks near the escapes only answers as searching every view
    /// whole does, on texts dense with escapes, line breaks and pieces of secrets.
    #[test]
    fn credentials_learnt_from_responses_stop_at_the_run_s_cap() {
        let r = Redactor::new();
        // Keys that share no long run of bytes, as real ones do not.
        let key = |i: usize| {
            format!(
                "AKIA{:016X}",
                (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            )
        };
        for i in 0..MAX_LEARNT_PER_RUN + 10 {
            r.add_learnt(&key(i), "a credential in a response");
        }
        let first = key(0);
        let past = key(MAX_LEARNT_PER_RUN + 5);
        assert_eq!(r.scrub(&first), MASK);
        assert_eq!(r.scrub(&past), past, "past the cap, nothing more is learnt");
        // A secret named by the user is added whatever the cap.
        r.add("user-named-secret-1");
        assert_eq!(r.scrub("user-named-secret-1"), MASK);
    }

    #[test]
    fn searching_near_escapes_answers_as_searching_everything() {
        use proptest::prelude::*;
        // One window long: a form found only through an escape at its very edge.
        let secret = "k3y+Val/ue_9";
        let r = Redactor::new();
        r.add(secret);
        let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
        // Each character of a form written as itself or as one of the escapes the
        // views undo (some needing two passes), line breaks anywhere in base64,
        // between noise that looks like escapes.
        fn escaped(c: char, how: u8) -> String {
            let n = c as u32;
            match how {
                1 => format!("%{n:02X}"),
                2 => format!("\\u{n:04x}"),
                3 => format!("%25{n:02x}"),
                4 => format!("&#x{n:X};"),
                5 => format!("\\\\u{n:04X}"),
                _ => c.to_string(),
            }
        }
        let noise = prop::sample::select(vec![
            "%", "\\", "&", "&amp;", "\\n", "\r\n", " ", "+", "x", "%4",
        ]);
        let form = (
            any::<bool>(),
            prop::collection::vec((0u8..9, 0usize..4), 64),
        )
            .prop_map(move |(text, choices)| {
                let (chars, breaks): (Vec<char>, bool) = if text {
                    (secret.chars().collect(), false)
                } else {
                    (b64.chars().collect(), true)
                };
                let mut out = String::new();
                for (c, (how, crlf)) in chars.into_iter().zip(choices) {
                    out.push_str(&escaped(c, how));
                    if breaks {
                        out.push_str(&"\r\n".repeat(crlf / 2));
                    }
                }
                out
            });
        let text = (
            prop::collection::vec(noise.clone(), 0..6),
            form,
            prop::collection::vec(noise, 0..6),
        )
            .prop_map(|(a, f, b)| format!("{}{f}{}", a.concat(), b.concat()));
        let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
            cases: 2000,
            failure_persistence: None,
            rng_seed: proptest::test_runner::RngSeed::Fixed(5),
            ..Default::default()
        });
        let result = runner.run(&text, |text| {
            let st = r.read();
            let whole =
                !search_views(&st, text.as_bytes(), false, false, false, &|_| true).is_empty();
            let near = shows_whole(&st, text.as_bytes(), &|_| true);
            prop_assert_eq!(whole, near, "{:?}", text);
            Ok(())
        });
        if let Err(e) = result {
            panic!("{e}");
        }
    }

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn a_deleted_cookie_is_no_secret() {
        let r = Redactor::new();
        r.add_header(
            "set-cookie",
            "flavour=; Expires=Thu, 01-Jan-1970 00:00:00 GMT; Max-Age=0; Path=/",
        );
        r.add_header("set-cookie", "shape=\"\"; Path=/");
        let text = "GET http://127.0.0.1/cookies/delete?flavour= and shape=\"\"";
        assert_eq!(r.find_leak(text.as_bytes()), None);
        assert_eq!(r.scrub(text), text);
        r.add_header("set-cookie", "flavour=oatmeal-raisin; Path=/");
        assert!(!r.scrub("flavour=oatmeal-raisin").contains("oatmeal"));
    }

    /// A cookie with a value too short to be a credential masks neither the URL that
    /// set it nor the name of the step; a longer one is masked, pair and value.
    #[test]
    fn a_short_cookie_value_does_not_mask_the_url_that_set_it() {
        let cases: [(&str, &str, &str, &str); 5] = [
            // (header, value, text, masked text)
            (
                "set-cookie",
                "flavour=rye; Path=/",
                "GET /cookies/set?flavour=rye",
                "GET /cookies/set?flavour=rye",
            ),
            (
                "cookie",
                "flavour=rye",
                "GET /cookies/set?flavour=rye",
                "GET /cookies/set?flavour=rye",
            ),
            (
                "set-cookie",
                "theme=dark; Path=/",
                "GET /cookies/set?theme=dark",
                "GET /cookies/set?***",
            ),
            (
                "cookie",
                "flavour=rye; session=abc123",
                "Cookie: flavour=rye; session=abc123",
                "Cookie: ***",
            ),
            (
                "set-cookie",
                "sid=\"zyxwvu98765\"; HttpOnly",
                "sid was zyxwvu98765",
                "sid was ***",
            ),
        ];
        for (name, value, text, want) in cases {
            let r = Redactor::new();
            r.add_header(name, value);
            assert_eq!(r.scrub(text), want, "{name}: {value}");
        }
    }

    #[test]
    fn layers_key_shows_its_public_part() {
        let r = Redactor::new();
        r.add(KEY);
        assert_eq!(
            r.scrub(&format!("key={KEY}.")),
            "key=lp_test_01HX9Y6K7EJ4T2AB_***."
        );
    }

    #[test]
    fn derived_forms_are_masked() {
        let r = Redactor::new();
        let secret = "s3cr3t/p@ss word+\"x\"";
        r.add(secret);
        let url = percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
        let json = serde_json::to_string(secret).unwrap_or_default();
        for form in [url, json] {
            assert!(!r.scrub(&form).contains("s3cr3t"), "{form}");
        }
        for prefix in ["", "a", "ab", "user:"] {
            let b64 = b64(&format!("{prefix}{secret}"));
            let scrubbed = r.scrub(&b64);
            assert!(scrubbed.contains(MASK), "{prefix:?} {b64} -> {scrubbed}");
            assert!(
                r.find_leak(scrubbed.as_bytes()).is_none(),
                "{prefix:?} {scrubbed}"
            );
        }
    }

    #[test]
    fn basic_credentials_are_masked_in_every_form() {
        let r = Redactor::new();
        let basic = b64("alice:hunter2-long");
        r.add_header("Authorization", &format!("Basic {basic}"));
        assert_eq!(r.scrub(&basic), MASK);
        assert!(!r.scrub("pw=hunter2-long").contains("hunter2"));
    }

    /// A JSON string's content, without its quotes.
    fn inner_json(s: &str) -> String {
        let q = serde_json::to_string(s).unwrap();
        q[1..q.len() - 1].to_string()
    }

    fn utf8_percent(s: &str) -> String {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    }

    #[test]
    fn xml_escaped_and_url_set_forms_are_masked() {
        let r = Redactor::new();
        let secret = "p<a>ss&w\"o'rd/x y?z";
        r.add(secret);
        for form in [
            "p&lt;a&gt;ss&amp;w&quot;o&apos;rd/x y?z".to_string(),
            "p&#60;a&#x3E;ss&amp;w\"o'rd/x y?z".to_string(),
            "p<a>ss&w\"o'rd/x%20y%3Fz".to_string(),
            "p%3ca%3ess%26w%22o%27rd%2fx+y%3fz".to_string(),
            // Escaped twice: a JSON body inside a URL-encoded JSON string.
            "p%5Cu003ca%5Cu003ess%5Cu0026w%5C%22o'rd/x y?z".to_string(),
            // Three times: `tojson` of `tojson`, URL-encoded.
            utf8_percent(&html_safe_json(&inner_json(&html_safe_json(&inner_json(
                secret,
            ))))),
        ] {
            assert_eq!(r.scrub(&form), MASK, "{form}");
        }
    }

    /// Issue 12, item 2: `\uXXXX` escapes (minijinja's `tojson`, httpbin's echo of
    /// non-ASCII text and of emoji as surrogate pairs) are masked, in the scan too.
    #[test]
    fn json_unicode_escapes_are_masked() {
        for (secret, written) in [
            ("pa<ss>wo&rd", r#""pa\u003css\u003ewo\u0026rd""#),
            ("caf\u{e9}-secret", r#""caf\u00e9-secret""#),
            ("key\u{1F511}key", r#""key\ud83d\udd11key""#),
            ("key\u{1F511}key", r#""key\uD83D\uDD11key""#),
        ] {
            let r = Redactor::new();
            r.add(secret);
            assert_eq!(r.scrub(written), format!("\"{MASK}\""), "{written}");
            assert!(r.find_leak(written.as_bytes()).is_some(), "{written}");
        }
    }

    #[test]
    fn a_secret_cut_by_an_excerpt_is_masked() {
        let r = Redactor::new();
        r.add(KEY);
        let text = format!("{}{}", "a".repeat(20), KEY);
        let cut = crate::events::excerpt(&text, 20 + 30);
        let scrubbed = r.scrub(&cut);
        assert!(!scrubbed.contains(&KEY[25..30]), "{scrubbed}");
        assert!(
            scrubbed.contains("lp_test_01HX9Y6K7EJ4T2AB_***…"),
            "{scrubbed}"
        );
        let r = Redactor::new();
        r.add("hunter2-very-secret");
        let short =
            crate::events::excerpt(&format!("{}hunter2-very-secret", "a".repeat(20)), 20 + 6);
        assert!(
            r.scrub(&short)
                .starts_with(&format!("{}***…", "a".repeat(20))),
            "{}",
            r.scrub(&short)
        );
    }

    /// Issue 12, item 7: a body cut by `--max-body` in the middle of a secret, in
    /// the middle of an escape, or of a character.
    #[test]
    fn a_secret_cut_at_the_end_of_a_body_is_masked() {
        let r = Redactor::new();
        r.add("pa<ss>wo&rd-long-enough");
        for body in [
            "{\"k\":\"pa<ss>w",
            "{\"k\":\"pa\\u003css\\u003ew",
            "{\"k\":\"pa\\u003css\\u00",
            "k=pa%3Css%3",
        ] {
            let scrubbed = r.scrub_cut(body, true);
            assert!(!scrubbed.contains("ss"), "{body} -> {scrubbed}");
            assert!(
                scrubbed.starts_with("{\"k\":\"***") || scrubbed.starts_with("k=***"),
                "{body} -> {scrubbed}"
            );
            // Not at the end of a text that was not cut.
            assert_eq!(r.scrub(body), body);
        }
        let r = Redactor::new();
        r.add("h\u{e9}llo-w\u{f6}rld");
        let cut = &"x h\u{e9}llo-w\u{f6}rld".as_bytes()[..11];
        let lossy = String::from_utf8_lossy(cut).into_owned();
        assert_eq!(r.scrub_cut(&lossy, true), format!("x {MASK}\u{FFFD}"));
    }

    #[test]
    fn runs_of_a_secret_are_masked_whatever_surrounds_them() {
        let r = Redactor::new();
        let secret = "s3cr3t/p@ss word+&\"<x>\"=long-enough";
        r.add(secret);
        // A JSON body echoed inside a JSON string: escaped twice.
        let twice = serde_json::to_string(&serde_json::to_string(secret).unwrap()).unwrap();
        let scrubbed = r.scrub(&twice);
        assert!(!scrubbed.contains("s3cr3t/p@ss"), "{scrubbed}");
        assert!(!scrubbed.contains("=long-enough"), "{scrubbed}");
        assert!(r.find_leak(twice.as_bytes()).is_some());
        assert!(r.find_leak(scrubbed.as_bytes()).is_none(), "{scrubbed}");
        // The public part of a Layers key stays readable.
        let r = Redactor::new();
        r.add(KEY);
        assert_eq!(
            r.scrub(&format!("x{}y", &KEY[..40])),
            "xlp_test_01HX9Y6K7EJ4T2AB_***y"
        );
    }

    #[test]
    fn cookie_values_and_auth_schemes() {
        let r = Redactor::new();
        r.add_header("Cookie", "theme=dark; session=abcdef123456");
        assert_eq!(r.scrub("echo abcdef123456"), "echo ***");
        r.add_header("Set-Cookie", "sid=zyxwvu98765; Path=/; HttpOnly");
        assert_eq!(r.scrub("sid was zyxwvu98765"), "sid was ***");
        assert_eq!(r.scrub("Path=/; HttpOnly"), "Path=/; HttpOnly");
        r.add_header("Authorization", &format!("Bearer {KEY}"));
        assert_eq!(
            r.scrub(&format!("Authorization: Bearer {KEY}")),
            "Authorization: Bearer lp_test_01HX9Y6K7EJ4T2AB_***"
        );
    }

    /// Issue 12, item 5: a secret with spaces is one secret, not a scheme and a
    /// credential; its base64 is masked too.
    #[test]
    fn a_secret_with_spaces_is_masked_whole() {
        let r = Redactor::new();
        r.add_labeled("correct horse battery staple", "env DB_PASSWORD");
        assert_eq!(
            r.scrub("{\"pw\":\"correct horse battery staple\"}"),
            "{\"pw\":\"***\"}"
        );
        assert_eq!(r.scrub("pw=correct+horse+battery+staple"), "pw=***");
        let encoded = b64("correct horse battery staple");
        assert_eq!(r.scrub(&format!("b={encoded}")), "b=***");
        assert_eq!(r.scrub("correct"), "correct");
        // A real scheme still hides the credential on its own.
        r.add_labeled("Bearer tok-1234567890", "env API_TOKEN");
        assert!(!r.scrub("got tok-1234567890").contains("tok"));
    }

    /// Issue 12, item 8: base64 of 6- and 7-character secrets at every offset.
    #[test]
    fn base64_of_short_secrets_at_every_offset() {
        let r = Redactor::new();
        r.add_header("Authorization", &format!("Basic {}", b64("ann:hunt3r")));
        for secret in ["hunt3r", "hunt3r7"] {
            let r2 = Redactor::new();
            r2.add(secret);
            for prefix in ["", "a", "ab", "ann:"] {
                for engine in [
                    &base64::engine::general_purpose::STANDARD,
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                ] {
                    let enc = engine.encode(format!("{prefix}{secret}"));
                    let scrubbed = r2.scrub(&enc);
                    assert!(scrubbed.contains(MASK), "{prefix:?}{secret} {enc}");
                    assert!(scrubbed.len() <= enc.len() - 4 + MASK.len(), "{scrubbed}");
                }
            }
        }
        assert_eq!(r.scrub(&b64("user ann:hunt3r x")).matches(MASK).count(), 1);
    }

    /// Issue 12, item 9: a secret the user names is masked whatever its length.
    #[test]
    fn named_secrets_of_any_length() {
        let r = Redactor::new();
        r.add_labeled("42", "--secret PIN");
        assert_eq!(r.scrub("pin=42;"), "pin=***;");
        // Picked up from traffic, a short value is left alone.
        let r = Redactor::new();
        r.add_header("X-Api-Key", "abc");
        assert_eq!(r.scrub("abc"), "abc");
    }

    /// Issue 12, item 3: numbers and mappings under `secrets:`.
    #[test]
    fn numbers_and_mappings_are_secrets() {
        let r = Redactor::new();
        r.add_value(
            &serde_json::json!({"pin": 4711, "inner": {"pw": "pw-9x8y7z"}, "on": true}),
            "a secret",
        );
        assert_eq!(r.scrub("4711 pw-9x8y7z true"), "*** *** true");
    }

    /// Issue 12, item 10: MIME-wrapped base64, upper- and lower-case hex.
    #[test]
    fn wrapped_base64_and_hex_in_either_case() {
        let secret = "a-long-secret-value-that-wraps-over-the-line-".repeat(3);
        let r = Redactor::new();
        r.add(&secret);
        let enc = b64(&format!("xx{secret}yy"));
        let wrapped: Vec<String> = enc
            .as_bytes()
            .chunks(76)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        let scrubbed = r.scrub(&wrapped.join("\r\n"));
        assert!(scrubbed.contains(MASK), "{scrubbed}");
        assert!(scrubbed.len() < 30, "{scrubbed}");
        let json = serde_json::to_string(&wrapped.join("\n")).unwrap();
        assert!(r.scrub(&json).len() < 30, "{}", r.scrub(&json));
        let hex = hex::encode(&secret);
        assert_eq!(r.scrub(&hex), MASK);
        assert_eq!(r.scrub(&hex.to_uppercase()), MASK);
    }

    #[test]
    fn flags_and_short_values_in_the_environment_are_no_secrets() {
        assert!(!looks_secret("true"));
        assert!(!looks_secret("12345678"));
        assert!(!looks_secret("abc"));
        assert!(looks_secret("hunter2-long"));
    }

    /// Issue 12, item 17: adding a secret costs linear time in its length. What is
    /// compiled into automata (merges included) stays within a log factor of what
    /// was added, and large cookies go to hash maps, not automata.
    #[test]
    fn adding_secrets_costs_linear_work() {
        let r = Redactor::new();
        for i in 0..22 {
            let value = format!("{}{i}", "x".repeat(3000));
            r.add_header("Set-Cookie", &format!("c{i}={value}; Path=/"));
        }
        let (added, compiled) = r.cost();
        assert!(added > 22 * 3000, "{added}");
        assert_eq!(compiled, 0, "long forms are kept as runs, not compiled");
        assert_eq!(r.scrub(&format!("x{}21 y", "x".repeat(2999))), "*** y");
        let r = Redactor::new();
        let n: usize = 300;
        for i in 0..n {
            r.add(&format!("s{i:05}"));
        }
        let (added, compiled) = r.cost();
        let log = (usize::BITS - n.leading_zeros()) as usize;
        assert!(compiled <= added * (log + 1), "{compiled} for {added}");
        assert_eq!(r.scrub("a s00299 b s00000"), "a *** b ***");
    }

    /// Found by the property test's longer run: a one-character secret `?` made the
    /// JUnit report (`<?xml ...?>`) look like a leak.
    #[test]
    fn the_report_scan_ignores_secrets_shorter_than_its_words() {
        let r = Redactor::new();
        r.add_labeled("?", "--secret Q");
        r.add_labeled("name", "--secret N");
        assert!(
            r.find_leak(b"<?xml version=\"1.0\"?>{\"name\": 1}")
                .is_none()
        );
        assert_eq!(r.scrub("a?b name"), "a***b ***");
        r.add_labeled("longer-secret", "--secret L");
        assert!(r.find_leak(b"<?xml?> longer-secret").is_some());
    }

    #[test]
    fn a_big_report_is_scanned_in_pieces() {
        let r = Redactor::new();
        r.add("hunter2-very-secret");
        let mut text = "a".repeat(SCAN_CHUNK - 5).into_bytes();
        text.extend_from_slice(b"hunter2-very-secret");
        let leak = r.find_leak(&text).unwrap_or_default();
        assert!(
            leak.contains(&format!("at byte {}", SCAN_CHUNK - 5)),
            "{leak}"
        );
    }
}
