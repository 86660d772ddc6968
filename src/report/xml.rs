//! A small XML writer for the JUnit report: elements indented by four spaces,
//! text and attributes escaped, characters XML 1.0 forbids replaced, straight
//! into one growing buffer.

use std::fmt::Write as _;

/// Whether XML 1.0 allows `c` in a document. C1 controls and U+FFFE/U+FFFF
/// are allowed by the letter of XML 1.0 but rejected by some CI parsers.
fn allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r')
        || (('\u{20}'..='\u{D7FF}').contains(&c) && !('\u{7F}'..='\u{9F}').contains(&c))
        || ('\u{E000}'..='\u{FFFD}').contains(&c)
        || c >= '\u{10000}'
}

/// What stands for a character XML 1.0 forbids. Replaced, not dropped: dropping
/// would join what it separated (a secret the server sent with NULs between its
/// bytes would come back whole, past the masking of each piece).
const FORBIDDEN: char = '\u{FFFD}';

/// Only characters XML 1.0 allows; the others become U+FFFD.
pub fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if allowed(c) { c } else { FORBIDDEN })
        .collect()
}

/// Append `text` escaped for element content or an attribute value.
fn escape_into(out: &mut String, text: &str) {
    // Most text (names, URLs, logs) is plain ASCII with nothing to escape.
    let plain = text.bytes().all(|b| {
        (0x20..0x7F).contains(&b) && !matches!(b, b'<' | b'>' | b'&' | b'"' | b'\'') || b == b'\n'
    });
    if plain {
        out.push_str(text);
        return;
    }
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if allowed(c) => out.push(c),
            _ => out.push(FORBIDDEN),
        }
    }
}

/// Writes elements into a string.
pub struct XmlWriter {
    buf: String,
    depth: usize,
}

impl XmlWriter {
    pub fn with_capacity(bytes: usize) -> Self {
        XmlWriter {
            buf: String::with_capacity(bytes),
            depth: 0,
        }
    }

    /// A writer for a fragment that will sit `depth` levels deep.
    pub fn with_depth(depth: usize) -> Self {
        XmlWriter {
            buf: String::new(),
            depth,
        }
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn declaration(&mut self) {
        self.buf
            .push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    }

    fn indent(&mut self) {
        self.buf.push('\n');
        for _ in 0..self.depth {
            self.buf.push_str("    ");
        }
    }

    fn start_tag(&mut self, tag: &str, attrs: &[(&str, &str)]) {
        self.indent();
        self.buf.push('<');
        self.buf.push_str(tag);
        for (k, v) in attrs {
            let _ = write!(self.buf, " {k}=\"");
            escape_into(&mut self.buf, v);
            self.buf.push('"');
        }
    }

    /// `<tag a="b">`, children follow.
    pub fn open(&mut self, tag: &str, attrs: &[(&str, &str)]) {
        self.start_tag(tag, attrs);
        self.buf.push('>');
        self.depth += 1;
    }

    /// `</tag>` on its own line.
    pub fn close(&mut self, tag: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        self.buf.push_str("</");
        self.buf.push_str(tag);
        self.buf.push('>');
    }

    /// `<tag a="b"/>`
    pub fn empty(&mut self, tag: &str, attrs: &[(&str, &str)]) {
        self.start_tag(tag, attrs);
        self.buf.push_str("/>");
    }

    /// `<tag a="b">text</tag>`
    pub fn text_element(&mut self, tag: &str, attrs: &[(&str, &str)], text: &str) {
        self.start_tag(tag, attrs);
        self.buf.push('>');
        escape_into(&mut self.buf, text);
        self.buf.push_str("</");
        self.buf.push_str(tag);
        self.buf.push('>');
    }

    /// A fragment written by another writer (at the right depth).
    /// Append text written by another writer (a testcase rendered earlier).
    pub fn raw_text(&mut self, fragment: &str) {
        self.buf.push_str(fragment);
    }

    /// The text so far, taken out; the writer goes on at the same depth (for a
    /// document written out piece by piece).
    pub fn take_text(&mut self) -> String {
        std::mem::take(&mut self.buf)
    }

    pub fn raw(&mut self, fragment: &XmlWriter) {
        self.buf.push_str(&fragment.buf);
    }

    /// The text, with the trailing newline quick-junit ends with.
    pub fn finish(mut self) -> String {
        self.buf.push('\n');
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_keeps_text_and_drops_what_xml_forbids() {
        assert_eq!(
            clean("a\u{1b}[31mb\u{0}c\u{FFFE}d\u{FFFF}é\n"),
            "a\u{FFFD}[31mb\u{FFFD}c\u{FFFD}d\u{FFFD}é\n"
        );
    }

    #[test]
    fn text_and_attributes_are_escaped_and_cleaned() {
        let mut w = XmlWriter::with_capacity(0);
        w.open("a", &[("m", "x<\"y\">&'z\u{0}")]);
        w.text_element("b", &[], "]]> <&> \u{1b}[0m é \u{FFFF}");
        w.empty("c", &[]);
        w.close("a");
        assert_eq!(
            w.finish(),
            "\n<a m=\"x&lt;&quot;y&quot;&gt;&amp;&apos;z\u{FFFD}\">\n    <b>]]&gt; &lt;&amp;&gt; \u{FFFD}[0m é \u{FFFD}</b>\n    <c/>\n</a>\n"
        );
    }
}
