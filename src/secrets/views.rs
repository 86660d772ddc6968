//! A text with its escapes undone: percent-encoding, JSON and XML escapes, each
//! byte of the result knowing the bytes of the original it came from, so that a
//! secret found in the decoded text is masked in the text as written.

use std::borrow::Cow;

use super::redactor::Hit;

/// A text with its escapes undone (or some other change), each byte knowing the
/// bytes of the original it came from.
pub(super) struct View<'a> {
    pub(super) bytes: Cow<'a, [u8]>,
    /// `[start, end)` in the original for each byte; `None`: the original itself.
    map: Option<Vec<(usize, usize)>>,
}

impl<'a> View<'a> {
    pub(super) fn raw(bytes: &'a [u8]) -> Self {
        View {
            bytes: Cow::Borrowed(bytes),
            map: None,
        }
    }

    pub(super) fn orig(&self, i: usize) -> (usize, usize) {
        match &self.map {
            None => (i, i + 1),
            Some(m) => m[i],
        }
    }

    pub(super) fn hit(&self, start: usize, end: usize, info: u32) -> Hit {
        Hit {
            start: self.orig(start).0,
            end: self.orig(end.max(start + 1) - 1).1,
            info,
        }
    }

    /// This view with each byte changed or dropped by `f`; `None` when nothing changes.
    pub(super) fn derive(&self, f: impl Fn(u8) -> Option<u8>) -> Option<View<'static>> {
        if self.bytes.iter().all(|&b| f(b) == Some(b)) {
            return None;
        }
        let mut bytes = Vec::with_capacity(self.bytes.len());
        let mut map = Vec::with_capacity(self.bytes.len());
        for (i, &b) in self.bytes.iter().enumerate() {
            if let Some(c) = f(b) {
                bytes.push(c);
                map.push(self.orig(i));
            }
        }
        Some(View {
            bytes: Cow::Owned(bytes),
            map: Some(map),
        })
    }

    /// One pass of undoing escapes, left to right: `%XX` (either case), JSON's
    /// `\uXXXX` (surrogate pairs included) and `\"`-style escapes, `\xXX`, and XML's
    /// entities. `None` when there is nothing to undo.
    pub(super) fn decoded(&self) -> Option<View<'static>> {
        let b: &[u8] = &self.bytes;
        if !b.iter().any(|c| matches!(c, b'%' | b'\\' | b'&')) {
            return None;
        }
        let mut bytes = Vec::with_capacity(b.len());
        let mut map = Vec::with_capacity(b.len());
        let mut changed = false;
        let mut i = 0;
        while i < b.len() {
            let (out, len) = match unescape_at(b, i) {
                Some(x) => x,
                None => {
                    bytes.push(b[i]);
                    map.push(self.orig(i));
                    i += 1;
                    continue;
                }
            };
            changed = true;
            let span = (self.orig(i).0, self.orig(i + len - 1).1);
            for c in out.as_slice() {
                bytes.push(*c);
                map.push(span);
            }
            i += len;
        }
        changed.then_some(View {
            bytes: Cow::Owned(bytes),
            map: Some(map),
        })
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
