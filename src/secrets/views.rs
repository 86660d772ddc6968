//! A text with its escapes undone: percent-encoding, JSON and XML escapes, each
//! byte of the result knowing the bytes of the original it came from, so that a
//! secret found in the decoded text is masked in the text as written.

use std::borrow::Cow;

use super::redactor::Hit;

/// A text with its escapes undone (or some other change), each byte knowing the
/// bytes of the original it came from.
pub(super) struct View<'a> {
    pub(super) bytes: Cow<'a, [u8]>,
    origin: Origin,
    /// For a view with escapes undone: the ranges of its bytes that escapes stood
    /// for (every other byte is a byte of the view it was made from).
    pub(super) changed: Vec<(usize, usize)>,
}

/// Where the bytes of a view came from in the original.
enum Origin {
    /// The view is the original.
    Itself,
    /// `[start, end)` in the original for each byte.
    Spans(Vec<(usize, usize)>),
    /// Not kept: the view is only searched for whether any secret shows. Its map
    /// would be 16 bytes for each byte of text, and most texts hold no secret.
    Unmapped,
}

impl<'a> View<'a> {
    pub(super) fn raw(bytes: &'a [u8]) -> Self {
        View {
            bytes: Cow::Borrowed(bytes),
            origin: Origin::Itself,
            changed: Vec::new(),
        }
    }

    /// Where byte `i` came from. A view made without its map answers "the whole
    /// text": were such a view ever used to mask, it would hide too much, never
    /// too little.
    pub(super) fn orig(&self, i: usize) -> (usize, usize) {
        match &self.origin {
            Origin::Itself => (i, i + 1),
            Origin::Spans(m) => m.get(i).copied().unwrap_or((0, usize::MAX)),
            Origin::Unmapped => (0, usize::MAX),
        }
    }

    fn mapped(&self) -> bool {
        !matches!(self.origin, Origin::Unmapped)
    }

    pub(super) fn hit(&self, start: usize, end: usize, info: u32) -> Hit {
        Hit {
            start: self.orig(start).0,
            end: self.orig(end.max(start + 1) - 1).1,
            info,
        }
    }

    /// This view with each byte changed or dropped as `change` says; `None` when
    /// nothing changes. With `mapped`, each byte remembers where it came from.
    pub(super) fn derive(&self, change: &ByteChange, mapped: bool) -> Option<View<'static>> {
        let b: &[u8] = &self.bytes;
        let drops_some = change.next_drop(b).is_some();
        if !drops_some
            && !change
                .replace
                .iter()
                .any(|&(f, _)| memchr::memchr(f, b).is_some())
        {
            return None;
        }
        let mapped = mapped && self.mapped();
        let mut bytes = Vec::with_capacity(b.len());
        if !mapped {
            // Whole runs between dropped bytes, then each replacement over all: the
            // same bytes as below, without a branch a byte.
            let mut from = 0;
            while from < b.len() {
                let end = change.next_drop(&b[from..]).map_or(b.len(), |p| from + p);
                bytes.extend_from_slice(&b[from..end]);
                from = end + 1;
            }
            for &(f, t) in change.replace {
                for c in bytes.iter_mut() {
                    if *c == f {
                        *c = t;
                    }
                }
            }
            return Some(View {
                bytes: Cow::Owned(bytes),
                origin: Origin::Unmapped,
                changed: Vec::new(),
            });
        }
        let mut map = Vec::with_capacity(b.len());
        for (i, &c) in b.iter().enumerate() {
            if change.drop.contains(&c) {
                continue;
            }
            let c = change
                .replace
                .iter()
                .find(|(f, _)| *f == c)
                .map_or(c, |&(_, t)| t);
            bytes.push(c);
            map.push(self.orig(i));
        }
        Some(View {
            bytes: Cow::Owned(bytes),
            origin: Origin::Spans(map),
            changed: Vec::new(),
        })
    }

    /// One pass of undoing escapes, left to right: `%XX` (either case), JSON's
    /// `\uXXXX` (surrogate pairs included) and `\"`-style escapes, `\xXX`, and XML's
    /// entities. `None` when there is nothing to undo. With `mapped`, each byte
    /// remembers where it came from.
    pub(super) fn decoded(&self, mapped: bool) -> Option<View<'static>> {
        let b: &[u8] = &self.bytes;
        if !b.iter().any(|c| matches!(c, b'%' | b'\\' | b'&')) {
            return None;
        }
        let mapped = mapped && self.mapped();
        let mut bytes = Vec::with_capacity(b.len());
        let mut map = Vec::with_capacity(if mapped { b.len() } else { 0 });
        let mut changed: Vec<(usize, usize)> = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if !mapped {
                // Copy up to the next byte that may start an escape in one go.
                let next = memchr::memchr3(b'%', b'\\', b'&', &b[i..]).map_or(b.len(), |p| i + p);
                bytes.extend_from_slice(&b[i..next]);
                i = next;
                if i == b.len() {
                    break;
                }
            }
            let (out, len) = match unescape_at(b, i) {
                Some(x) => x,
                None => {
                    bytes.push(b[i]);
                    if mapped {
                        map.push(self.orig(i));
                    }
                    i += 1;
                    continue;
                }
            };
            let at = bytes.len();
            bytes.extend_from_slice(out.as_slice());
            match changed.last_mut() {
                Some(last) if last.1 == at => last.1 = bytes.len(),
                _ => changed.push((at, bytes.len())),
            }
            if mapped {
                let span = (self.orig(i).0, self.orig(i + len - 1).1);
                map.extend(std::iter::repeat_n(span, out.as_slice().len()));
            }
            i += len;
        }
        (!changed.is_empty()).then_some(View {
            bytes: Cow::Owned(bytes),
            origin: if mapped {
                Origin::Spans(map)
            } else {
                Origin::Unmapped
            },
            changed,
        })
    }
}

/// A change of single bytes, for a view that reads some bytes as others (`+` as a
/// space) or skips them (line breaks in base64).
pub(super) struct ByteChange {
    /// Each byte read as another.
    pub(super) replace: &'static [(u8, u8)],
    /// Bytes skipped.
    pub(super) drop: &'static [u8],
}

impl ByteChange {
    /// Where the first byte to skip is in `b`.
    fn next_drop(&self, b: &[u8]) -> Option<usize> {
        match *self.drop {
            [] => None,
            [x] => memchr::memchr(x, b),
            [x, y] => memchr::memchr2(x, y, b),
            [x, y, z] => memchr::memchr3(x, y, z, b),
            _ => b.iter().position(|c| self.drop.contains(c)),
        }
    }
}

/// Small buffer for the bytes one escape stands for.
struct Unescaped {
    buf: [u8; 4],
    len: usize,
}

impl Unescaped {
    pub(super) fn byte(b: u8) -> Self {
        Unescaped {
            buf: [b, 0, 0, 0],
            len: 1,
        }
    }

    pub(super) fn char(c: char) -> Self {
        let mut buf = [0u8; 4];
        let len = c.encode_utf8(&mut buf).len();
        Unescaped { buf, len }
    }

    pub(super) fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

fn hex_at(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let s = b.get(at..at + n)?;
    if !s.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u32::from_str_radix(std::str::from_utf8(s).ok()?, 16).ok()
}

/// The escape starting at `b[i]`, if one does: what it stands for and its length.
fn unescape_at(b: &[u8], i: usize) -> Option<(Unescaped, usize)> {
    match b[i] {
        b'%' => {
            let v = hex_at(b, i + 1, 2)?;
            Some((Unescaped::byte(u8::try_from(v).ok()?), 3))
        }
        b'\\' => match *b.get(i + 1)? {
            b'u' => {
                let unit = hex_at(b, i + 2, 4)?;
                if (0xD800..0xDC00).contains(&unit) {
                    let low = (b.get(i + 6..i + 8) == Some(b"\\u"))
                        .then(|| hex_at(b, i + 8, 4))
                        .flatten()
                        .filter(|l| (0xDC00..0xE000).contains(l))?;
                    let c = char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))?;
                    Some((Unescaped::char(c), 12))
                } else {
                    Some((Unescaped::char(char::from_u32(unit)?), 6))
                }
            }
            b'x' => {
                let v = hex_at(b, i + 2, 2)?;
                Some((Unescaped::byte(u8::try_from(v).ok()?), 4))
            }
            c @ (b'"' | b'\\' | b'/' | b'\'') => Some((Unescaped::byte(c), 2)),
            b'b' => Some((Unescaped::byte(8), 2)),
            b'f' => Some((Unescaped::byte(12), 2)),
            b'n' => Some((Unescaped::byte(b'\n'), 2)),
            b'r' => Some((Unescaped::byte(b'\r'), 2)),
            b't' => Some((Unescaped::byte(b'\t'), 2)),
            _ => None,
        },
        b'&' => {
            let rest = b.get(i + 1..(i + 12).min(b.len()))?;
            let semi = rest.iter().position(|&c| c == b';')?;
            let name = std::str::from_utf8(&rest[..semi]).ok()?;
            let c = match name {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                _ => {
                    let num = name.strip_prefix('#')?;
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(h) => u32::from_str_radix(h, 16).ok()?,
                        None => num.parse().ok()?,
                    };
                    char::from_u32(code)?
                }
            };
            Some((Unescaped::char(c), semi + 2))
        }
        _ => None,
    }
}
