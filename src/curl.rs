//! A `curl` command that sends again the request of a step, for a person to paste
//! into a shell while debugging a failure. Built from the request as reported, so it
//! is masked like every report: a secret shows as `***` and must be put back by hand.
//!
//! Written here rather than taken from a crate: it is a few lines of POSIX shell
//! quoting, and the crates that export curl commands build them from a live request
//! (unmasked), which is exactly what a report must never hold.

/// The `excerpt` marker of a body cut for the report: such a body is not what was sent.
const CUT_MARK: &str = " bytes in all)";

/// `curl` with a request's method, URL, headers and body, one option per line
/// (joined with ` \` so that the whole text pastes as one command). Takes the
/// parts rather than the event's record so that this stays below the events.
pub fn reproducer(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Option<&str>,
) -> String {
    let mut parts: Vec<String> = vec!["curl".into()];
    match method {
        "GET" => {}
        "HEAD" => parts.push("--head".into()),
        m => parts.push(format!("-X {}", quote(m))),
    }
    parts.push(quote(url));
    let mut compressed = false;
    for (name, value) in headers {
        // curl sets these itself; an `Accept-Encoding` of ours would make it print
        // compressed bytes, where `--compressed` asks the same and decodes.
        if name.eq_ignore_ascii_case("accept-encoding") {
            compressed = true;
            continue;
        }
        if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("host") {
            continue;
        }
        parts.push(format!("-H {}", quote(&format!("{name}: {value}"))));
    }
    if compressed {
        parts.push("--compressed".into());
    }
    let mut note = None;
    if let Some(body) = body {
        if body.ends_with(CUT_MARK) && body.contains("… (") {
            note = Some(
                "# the body was shortened in the report: paste the full body in place of this one",
            );
        }
        parts.push(format!("--data-raw {}", quote(body)));
    }
    let mut out = parts.join(" \\\n  ");
    if let Some(n) = note {
        out = format!("{n}\n{out}");
    }
    out
}

/// One shell word: single quotes, with each `'` written as `'\''`.
fn quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c))
    {
        return text.to_string();
    }
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    struct RequestRecord {
        method: String,
        url: String,
        headers: Vec<(String, String)>,
        body: Option<String>,
    }

    fn reproducer(r: &RequestRecord) -> String {
        super::reproducer(&r.method, &r.url, &r.headers, r.body.as_deref())
    }

    fn req(method: &str, body: Option<&str>) -> RequestRecord {
        RequestRecord {
            method: method.into(),
            url: "http://127.0.0.1:8080/v1/projects?q=a b&x='y'".into(),
            headers: vec![
                ("X-Api-Key".into(), "lp_test_01J_***".into()),
                ("Content-Type".into(), "application/json".into()),
            ],
            body: body.map(str::to_string),
        }
    }

    #[test]
    fn reproducers_read_as_written() {
        let cases = [
            (
                req("GET", None),
                "curl \\\n  'http://127.0.0.1:8080/v1/projects?q=a b&x='\\''y'\\''' \\\n  -H 'X-Api-Key: lp_test_01J_***' \\\n  -H 'Content-Type: application/json'",
            ),
            (
                req("POST", Some(r#"{"name":"it's"}"#)),
                "curl \\\n  -X POST \\\n  'http://127.0.0.1:8080/v1/projects?q=a b&x='\\''y'\\''' \\\n  -H 'X-Api-Key: lp_test_01J_***' \\\n  -H 'Content-Type: application/json' \\\n  --data-raw '{\"name\":\"it'\\''s\"}'",
            ),
        ];
        for (r, want) in cases {
            assert_eq!(reproducer(&r), want);
        }
        assert!(reproducer(&req("HEAD", None)).starts_with("curl \\\n  --head "));
        let mut wire = req("GET", None);
        wire.headers = vec![
            ("Host".into(), "127.0.0.1:8080".into()),
            ("Accept-Encoding".into(), "gzip, br".into()),
            ("Content-Length".into(), "0".into()),
            ("User-Agent".into(), "runner/0.1.0".into()),
        ];
        assert_eq!(
            reproducer(&wire),
            "curl \\\n  'http://127.0.0.1:8080/v1/projects?q=a b&x='\\''y'\\''' \\\n  -H 'User-Agent: runner/0.1.0' \\\n  --compressed",
            "curl sets Host and Content-Length, and decodes with --compressed"
        );
        let cut = reproducer(&req("POST", Some("aaaa… (9000 bytes in all)")));
        assert!(cut.starts_with("# the body was shortened"), "{cut}");
    }

    /// The command a shell reads back is the request: every word comes out as it went in.
    #[test]
    fn a_shell_reads_back_every_word() {
        let r = req("PATCH", Some("a'b\"c $HOME `x` \\ \n end"));
        let text = reproducer(&r);
        let script = format!(
            "set -- {}\nprintf '%s\\0' \"$@\"",
            text.trim_start_matches("curl")
        );
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .output();
        let Ok(out) = out else {
            return; // no POSIX shell on this machine
        };
        let words: Vec<String> = out
            .stdout
            .split(|b| *b == 0)
            .filter(|w| !w.is_empty())
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect();
        assert_eq!(
            words,
            [
                "-X",
                "PATCH",
                "http://127.0.0.1:8080/v1/projects?q=a b&x='y'",
                "-H",
                "X-Api-Key: lp_test_01J_***",
                "-H",
                "Content-Type: application/json",
                "--data-raw",
                "a'b\"c $HOME `x` \\ \n end",
            ]
        );
    }
}
