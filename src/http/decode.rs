//! Response bodies as the server meant them: content codings undone by the runner
//! (so the wire headers stay as sent), text read in its declared charset.

use std::io::Read;

/// The codings the runner undoes, in the order it offers them.
pub const ACCEPTED_CODINGS: &str = "gzip, deflate, br, zstd";

/// A body with its content codings undone.
pub struct Decoded {
    pub body: Vec<u8>,
    /// The decoded body was longer than the cap and was cut.
    pub truncated: bool,
}

/// Undo the codings of `Content-Encoding` (applied in order, so undone in reverse),
/// keeping at most `cap` decoded bytes. `wire_truncated`: the coded bytes were cut
/// at the cap, so a coding that ends early is expected rather than broken.
pub fn decode_body(
    content_encoding: &[&str],
    raw: &[u8],
    cap: usize,
    wire_truncated: bool,
) -> Result<Decoded, String> {
    let codings: Vec<String> = content_encoding
        .iter()
        .flat_map(|v| v.split(','))
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty() && c != "identity")
        .collect();
    let mut body = raw.to_vec();
    let mut truncated = false;
    for coding in codings.iter().rev() {
        let (next, cut) = undo(coding, &body, cap, wire_truncated || truncated)?;
        body = next;
        truncated |= cut;
    }
    Ok(Decoded { body, truncated })
}

fn undo(
    coding: &str,
    data: &[u8],
    cap: usize,
    may_end_early: bool,
) -> Result<(Vec<u8>, bool), String> {
    match coding {
        "gzip" | "x-gzip" => {
            read_capped(flate2::read::MultiGzDecoder::new(data), cap, may_end_early)
                .map_err(|e| broken("gzip", &e))
        }
        // `deflate` is the zlib format by the standard, but some servers send raw
        // deflate: the zlib header tells them apart.
        "deflate" => if looks_like_zlib(data) {
            read_capped(flate2::read::ZlibDecoder::new(data), cap, may_end_early)
        } else {
            read_capped(flate2::read::DeflateDecoder::new(data), cap, may_end_early)
        }
        .map_err(|e| broken("deflate", &e)),
        "br" => read_capped(
            brotli_decompressor::Decompressor::new(data, 4096),
            cap,
            may_end_early,
        )
        .map_err(|e| broken("br", &e)),
        "zstd" => {
            let decoder = ruzstd::decoding::StreamingDecoder::new(data)
                .map_err(|e| format!("the body is not valid zstd ({e})"))?;
            read_capped(decoder, cap, may_end_early).map_err(|e| broken("zstd", &e))
        }
        other => Err(format!(
            "the body has Content-Encoding `{other}`, which the runner cannot decode (it decodes {ACCEPTED_CODINGS})"
        )),
    }
}

fn broken(coding: &str, e: &std::io::Error) -> String {
    format!("the body is not valid {coding} ({e})")
}

/// A zlib stream starts with a method byte of 8 and a header checksum.
fn looks_like_zlib(data: &[u8]) -> bool {
    match data {
        [cmf, flg, ..] => cmf & 0x0f == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0,
        _ => false,
    }
}

/// Read at most `cap` bytes (a small body may decode to a huge one); a stream that
/// ends early is fine when its coded bytes were cut.
fn read_capped(
    mut r: impl Read,
    cap: usize,
    may_end_early: bool,
) -> std::io::Result<(Vec<u8>, bool)> {
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return Ok((out, false)),
            Ok(n) => {
                let room = cap.saturating_sub(out.len());
                if n > room {
                    out.extend_from_slice(&buf[..room]);
                    return Ok((out, true));
                }
                out.extend_from_slice(&buf[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) if may_end_early => return Ok((out, true)),
            Err(e) => return Err(e),
        }
    }
}

/// The charset a `Content-Type` declares, if any and if known.
fn charset_label(content_type: Option<&str>) -> Option<&str> {
    let ct = content_type?;
    ct.split(';').skip(1).find_map(|param| {
        let (k, v) = param.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"'))
    })
}

#[cfg(test)]
thread_local! {
    /// How many bodies this thread decoded to text: lets the engine's tests prove
    /// a response is decoded once, however many places read its text.
    pub static DECODES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// A body as text: in the declared charset (UTF-8 when none is declared), with a
/// note when some bytes are not valid in it (they read as U+FFFD).
pub fn text(body: &[u8], content_type: Option<&str>) -> (String, Option<String>) {
    #[cfg(test)]
    DECODES.with(|n| n.set(n.get() + 1));
    let label = charset_label(content_type);
    let declared = label.and_then(|l| encoding_rs::Encoding::for_label(l.as_bytes()));
    let encoding = declared.unwrap_or(encoding_rs::UTF_8);
    // A BOM is dropped when it is that of the charset in force, never taken as a
    // reason to read the body in another charset than the declared one.
    let (text, had_errors) = encoding.decode_with_bom_removal(body);
    let used = encoding;
    // A label the runner cannot read (`binary`, an empty one, `latin-1`) over
    // bytes that are plain UTF-8 text is read as that; over anything else (UTF-32
    // with its NULs, bytes not valid UTF-8) it could look right and be wrong.
    // UTF-7 alone writes non-ASCII text in plain ASCII (`+ADw-` is `<`).
    let utf7 = label.is_some_and(|l| {
        let l: String = l.chars().filter(char::is_ascii_alphanumeric).collect();
        l.eq_ignore_ascii_case("utf7")
    });
    let plain_utf8 = !had_errors && !body.contains(&0) && !utf7;
    if let Some(label) = label.filter(|_| declared.is_none() && !plain_utf8) {
        let note = format!(
            "the declared charset `{label}` is not one the runner can read (it reads the \
             WHATWG Encoding Standard's); the body was read as UTF-8"
        );
        return (text.into_owned(), Some(note));
    }
    let note = had_errors.then(|| {
        let how = if declared.is_some() {
            "declared"
        } else {
            "assumed, none being declared"
        };
        format!(
            "some bytes of the body are not valid {} (the charset {how}); they read as U+FFFD",
            used.name()
        )
    });
    (text.into_owned(), note)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let _ = e.write_all(data);
        e.finish().unwrap_or_default()
    }

    #[test]
    fn codings_are_undone_in_reverse_order_and_capped() {
        let once = gzip(b"hello hello hello");
        let d = decode_body(&["gzip"], &once, 1024, false).map(|d| d.body);
        assert_eq!(d.ok().as_deref(), Some(&b"hello hello hello"[..]));
        let twice = gzip(&once);
        let d = decode_body(&["gzip, gzip"], &twice, 1024, false).map(|d| d.body);
        assert_eq!(d.ok().as_deref(), Some(&b"hello hello hello"[..]));
        let big = gzip(&vec![b'a'; 100_000]);
        let d = decode_body(&["gzip"], &big, 10, false);
        assert!(d.as_ref().is_ok_and(|d| d.truncated && d.body.len() == 10));
        assert!(decode_body(&["compress"], b"x", 10, false).is_err());
        assert!(decode_body(&["gzip"], b"not gzip", 10, false).is_err());
    }

    #[test]
    fn charsets_are_read_from_the_content_type() {
        let (t, note) = text(b"caf\xe9", Some("text/plain; charset=ISO-8859-1"));
        assert_eq!(t, "café");
        assert!(note.is_none());
        let (t, note) = text(b"caf\xe9", Some("text/plain"));
        assert_eq!(t, "caf\u{fffd}");
        assert!(note.is_some_and(|n| n.contains("UTF-8")));
        // A charset it cannot read is named, even where the bytes are valid UTF-8.
        let (_, note) = text(b"e\0\0\0", Some("text/plain; charset=\"utf-32\""));
        assert!(note.is_some_and(|n| n.contains("`utf-32`")));
        let (_, note) = text(b"+ADw-script+AD4-", Some("text/html; charset=utf-7"));
        assert!(note.is_some_and(|n| n.contains("`utf-7`")));
        let (_, note) = text(b"caf\xe9", Some("text/plain; charset=latin-1"));
        assert!(note.is_some_and(|n| n.contains("`latin-1`")));
        for ct in ["text/plain; charset=binary", "text/plain; charset="] {
            let (t, note) = text(b"hello token=abc123", Some(ct));
            assert_eq!((t.as_str(), note), ("hello token=abc123", None), "{ct}");
        }
        let (_, note) = text(b"ok", Some("text/plain; charset=utf8"));
        assert!(note.is_none(), "a WHATWG label (utf8) is read");
    }
}
