//! No false pass: answers that differ from what a scenario says, each of which
//! once passed. A raw TCP server on 127.0.0.1 sends each answer byte for byte
//! (by path), so no HTTP library tidies it first; every case is run twice, as
//! written (it must fail, or be refused as a file error) and with the expectation
//! the answer does meet where there is one (it must pass), so a case cannot fail
//! for a reason of its own.

#[path = "support/raw_server.rs"]
mod raw_server;
#[path = "support/runner_cli.rs"]
mod runner_cli;

use std::io::Write;
use std::net::Shutdown;

use raw_server::{Incoming, RawServer};
use runner_cli::Workspace;

/// A response: its status line, its head lines and its body as sent.
fn answer(path: &str) -> (&'static str, String, Vec<u8>) {
    let gzip = |d: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let _ = e.write_all(d);
        e.finish().unwrap_or_default()
    };
    let chunked = |d: &[u8]| {
        let mut out = format!("{:x}\r\n", d.len()).into_bytes();
        out.extend_from_slice(d);
        out.extend_from_slice(b"\r\n0\r\n\r\n");
        out
    };
    let utf32 = |s: &str| -> Vec<u8> { s.chars().flat_map(|c| (c as u32).to_le_bytes()).collect() };
    let sized = |ct: &str, body: Vec<u8>| {
        (
            format!("Content-Type: {ct}\r\nContent-Length: {}\r\n", body.len()),
            body,
        )
    };
    if path == "/latin1-location" {
        return (
            "HTTP/1.1 302 Found",
            "Location: /caf\u{e9}\r\nX-Name: caf\u{e9}\r\nContent-Length: 0\r\n".to_string(),
            Vec::new(),
        );
    }
    if path == "/caf%E9" {
        let (head, body) = sized("text/plain", b"the right page".to_vec());
        return ("HTTP/1.1 200 OK", head, body);
    }
    if path == "/same-two-locations" {
        let (head, body) = sized("text/plain", b"moved".to_vec());
        return (
            "HTTP/1.1 302 Found",
            format!("{head}Location: ./json\r\nLocation: /json\r\n"),
            body,
        );
    }
    if path == "/two-locations" {
        let (head, body) = sized("text/plain", b"moved".to_vec());
        return (
            "HTTP/1.1 302 Found",
            format!("{head}Location: /json\r\nLocation: /utf32\r\n"),
            body,
        );
    }
    let (head, body) = match path {
        "/compress" => {
            let (head, body) = sized("text/plain", b"hello world".to_vec());
            (format!("{head}Content-Encoding: compress\r\n"), body)
        }
        "/not-gzip" => {
            let (head, body) = sized("text/plain", b"token=abc hello".to_vec());
            (format!("{head}Content-Encoding: gzip\r\n"), body)
        }
        "/te-gzip" => (
            "Content-Type: text/plain; charset=iso-8859-1\r\nTransfer-Encoding: gzip, chunked\r\n"
                .to_string(),
            chunked(&gzip(b"fatal error")),
        ),
        "/utf32" => sized("text/plain; charset=utf-32", utf32("error here")),
        "/binary-charset" => sized("text/plain; charset=binary", b"hello token=abc123".to_vec()),
        "/csrf" => sized(
            "text/html",
            b"<p>\xa9 2020</p><input name=\"csrf\" value=\"abc123\">".to_vec(),
        ),
        "/decimal" => sized("text/plain", b"1.50\n".to_vec()),
        "/utf7" => sized(
            "text/html; charset=utf-7",
            b"+ADw-script+AD4-alert(1)".to_vec(),
        ),
        "/dup-same" => sized(
            "application/json",
            br#"{"id":1,"meta":{"x":1,"x":1}}"#.to_vec(),
        ),
        "/dup-keys" => sized(
            "application/json",
            br#"{"role":"admin","role":"user"}"#.to_vec(),
        ),
        "/te-identity" => (
            "Content-Type: application/json\r\nTransfer-Encoding: identity\r\n".to_string(),
            br#"{"a":1}"#.to_vec(),
        ),
        "/json" => {
            let body = br#"{"items":[],"list":[{"s":"active"},{"s":"archived"}],"n":5,"nul":null,"price":"0.5 EUR","big":12345678901234567890123,"f":0.1,"na":"N/A","obj":{"a":5}}"#;
            let (head, body) = sized("application/json", body.to_vec());
            (
                format!(
                    "{head}X-Real: a\r\nSet-Cookie: session=1; Path=/\r\nX-Version: 1.15\r\nX-Exact: 1.10\r\nX-E: 1e3\r\n"
                ),
                body,
            )
        }
        _ => sized("text/plain", b"not found".to_vec()),
    };
    ("HTTP/1.1 200 OK", head, body)
}

fn server() -> RawServer {
    RawServer::start(|conn| {
        let Incoming::Request(r) = conn.read_request() else {
            return;
        };
        let path = r
            .request_line()
            .split(' ')
            .nth(1)
            .unwrap_or("/")
            .to_string();
        let (status, head, body) = answer(path.split('?').next().unwrap_or("/"));
        // The head as bytes: a char below U+0100 stands for the byte of its value
        // (`\u{e9}` is the byte 0xE9, not UTF-8), so a test can send any byte.
        let mut out: Vec<u8> = format!("{status}\r\nConnection: close\r\n{head}\r\n")
            .chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
            .collect();
        out.extend_from_slice(&body);
        let _ = conn.stream.write_all(&out);
        let _ = conn.stream.shutdown(Shutdown::Both);
    })
}

/// One case: the step (`request` and `expect`/`capture`), how the run must end
/// (1: the step fails; 2: the file is refused) and what it must say, and, where
/// one exists, a step the same answer does pass.
struct Case {
    what: &'static str,
    step: &'static str,
    says: &'static str,
    passing: Option<&'static str>,
}

impl Case {
    const fn code(&self) -> i32 {
        if self.what.as_bytes()[0] == b'!' {
            2
        } else {
            1
        }
    }
}

/// A step checking the body of `/json` with `expect` (flow YAML).
macro_rules! on_json {
    ($expect:literal) => {
        concat!("request: { url: /json }\n    expect: ", $expect)
    };
}

const CASES: &[Case] = &[
    Case {
        what: "bytes of a body whose coding could not be undone",
        step: "request: { url: /compress }\n    expect: { bytes: { length: 11 } }",
        says: "compress",
        passing: Some("request: { url: /compress }\n    expect: { status: 200 }"),
    },
    Case {
        what: "a digest of a body that is not the gzip it says",
        step: "request: { url: /not-gzip }\n    expect: { bytes: { sha256: 0a4060036a616eec08e9a438d405456b2452ce787dd9cc100425bd67f252440a } }",
        says: "not valid gzip",
        passing: None,
    },
    Case {
        what: "a regex capture from a body that is not the gzip it says",
        step: "request: { url: /not-gzip }\n    capture: { t: { regex: \"token=(\\\\w+)\" } }",
        says: "capture t",
        passing: None,
    },
    Case {
        what: "a body capture from a body that is not the gzip it says",
        step: "request: { url: /not-gzip }\n    capture: { all: { body: true } }",
        says: "capture all",
        passing: None,
    },
    Case {
        what: "a body in a transfer coding other than chunked",
        step: "request: { url: /te-gzip }\n    expect: { body: { not: { contains: error } } }",
        says: "Transfer-Encoding `gzip`",
        passing: Some("request: { url: /te-gzip }\n    expect: { status: 200 }"),
    },
    Case {
        what: "a body in a charset the runner cannot read",
        step: "request: { url: /utf32 }\n    expect: { body: { not: { contains: error } } }",
        says: "`utf-32`",
        passing: Some("request: { url: /utf32 }\n    expect: { status: 200 }"),
    },
    Case {
        what: "`exists` on a filter that selects nothing",
        step: on_json!("{ json: { \"$.list[?@.s=='deleted']\": { exists: true } } }"),
        says: "to exist",
        passing: Some(on_json!(
            "{ json: { \"$.list[?@.s=='deleted']\": { exists: false } } }"
        )),
    },
    Case {
        what: "`exists` on a wildcard over a misspelt key",
        step: on_json!("{ json: { \"$.itmes[*]\": { exists: true } } }"),
        says: "to exist",
        passing: Some(on_json!("{ json: { \"$.list[*]\": { exists: true } } }")),
    },
    Case {
        what: "`exists` on a descendant search that finds nothing",
        step: on_json!("{ json: { \"$..nosuchkey\": { exists: true } } }"),
        says: "to exist",
        passing: Some(on_json!("{ json: { \"$..s\": { exists: true } } }")),
    },
    Case {
        what: "`not` on a misspelt JSON key",
        step: on_json!("{ json: { $.nmae: { not: Acme } } }"),
        says: "not found",
        passing: Some(on_json!("{ json: { $.n: { not: 6 } } }")),
    },
    Case {
        what: "`not` twice on a misspelt JSON key",
        step: on_json!("{ json: { $.nmae: { not: { not: Acme } } } }"),
        says: "not found",
        passing: Some(on_json!("{ json: { $.n: { not: { not: 5 } } } }")),
    },
    Case {
        what: "`not` on a missing header",
        step: on_json!("{ headers: { X-Tpyo: { not: a } } }"),
        says: "not found",
        passing: Some(on_json!("{ headers: { X-Real: { not: b } } }")),
    },
    Case {
        what: "`not` on a missing cookie",
        step: on_json!("{ cookies: { sesion: { not: \"2\" } } }"),
        says: "not",
        passing: Some(on_json!("{ cookies: { session: { not: \"2\" } } }")),
    },
    Case {
        what: "`not: {length: 0}` on null",
        step: on_json!("{ json: { $.nul: { not: { length: 0 } } } }"),
        says: "has no length",
        passing: Some(on_json!("{ json: { $.list: { not: { length: 0 } } } }")),
    },
    Case {
        what: "`each` over a wildcard on a misspelt key",
        step: on_json!("{ json: { \"$.itmes[*].s\": { each: { equals: active } } } }"),
        says: "expected each",
        passing: Some(on_json!(
            "{ json: { \"$.list[*].s\": { each: { matches: ^a } } } }"
        )),
    },
    Case {
        what: "`each` over an empty list",
        step: on_json!("{ json: { $.items: { each: { equals: active } } } }"),
        says: "at least one item",
        passing: Some(on_json!("{ json: { $.items: { length: 0 } } }")),
    },
    Case {
        what: "`each` over a missing header",
        step: on_json!("{ headers: { X-Taag: { each: { equals: zzz } } } }"),
        says: "no such header",
        passing: Some(on_json!("{ headers: { X-Real: { each: { equals: a } } } }")),
    },
    Case {
        what: "a regex capture whose group took no part in the match",
        step: "request: { url: /json }\n    capture: { t: { regex: \"nomatch=(\\\\w+)|items\" } }",
        says: "capture t",
        passing: Some("request: { url: /json }\n    capture: { t: { regex: \"(act)ive|zzz\" } }"),
    },
    Case {
        what: "a redirect naming two different targets",
        step: "request: { url: /two-locations, follow_redirects: true }\n    expect: { status: 200 }",
        says: "2 different redirect targets",
        passing: Some("request: { url: /two-locations }\n    expect: { status: 302 }"),
    },
    Case {
        what: "! a Content-Length of the scenario's (it cut the body sent)",
        step: "request: { method: POST, url: /json, body: hello, headers: { Content-Length: \"3\" } }",
        says: "written by the runner",
        passing: None,
    },
    Case {
        what: "a schema's `format` (draft 2020-12, where it is an annotation by default)",
        step: on_json!(
            "{ schema: { type: object, properties: { list: { type: array, items: { properties: { s: { type: string, format: uuid } } } } } } }"
        ),
        says: "uuid",
        passing: Some(on_json!(
            "{ schema: { type: object, properties: { list: { type: array, items: { properties: { s: { type: string, format: hostname } } } } } } }"
        )),
    },
    Case {
        what: "a number the file writes `1.10`, in a header's `contains`",
        step: on_json!("{ headers: { X-Version: { contains: 1.10 } } }"),
        says: "1.10",
        passing: Some(on_json!("{ headers: { X-Version: { contains: 1.15 } } }")),
    },
    Case {
        what: "a number the file writes `1.10`, under `not` on a header that is `1.10`",
        step: on_json!("{ headers: { X-Exact: { not: 1.10 } } }"),
        says: "1.10",
        passing: Some(on_json!("{ headers: { X-Exact: 1.10 } }")),
    },
    Case {
        what: "a number the file writes `1e3`, under `not` on a header that is `1e3`",
        step: on_json!("{ headers: { X-E: { not: { one_of: [1e3, 2] } } } }"),
        says: "1e3",
        passing: Some(on_json!("{ headers: { X-E: { one_of: [1e3, 2] } } }")),
    },
    Case {
        what: "a number the file writes `0.50`, in the body's `contains`",
        step: on_json!("{ body: { contains: 0.50 } }"),
        says: "0.50",
        passing: Some(on_json!("{ json: { $.n: 5.00 } }")),
    },
    Case {
        what: "a capture of a number a float cannot hold (it went on rounded)",
        step: on_json!("{ status: 200 }\n    capture: { id: $.big }"),
        says: "12345678901234567890123",
        passing: Some(on_json!("{ status: 200 }\n    capture: { f: $.f, n: $.n }")),
    },
    Case {
        what: "a filter's capture is a list, even of one (as assertions read it)",
        step: on_json!(
            "{ status: 200 }\n    capture: { s: \"$.list[?@.s=='active'].s\" }\n  - request: { url: /json }\n    expect: { json: { \"$.list[0].s\": \"{{ s }}\" } }"
        ),
        says: "[\"active\"]",
        passing: Some(on_json!(
            "{ status: 200 }\n    capture: { s: \"$.list[?@.s=='active'].s\" }\n  - request: { url: /json }\n    expect: { json: { \"$.list[0].s\": \"{{ s[0] }}\" } }"
        )),
    },
    Case {
        what: "`not: {gt}` on a value that compares with nothing (null, text)",
        step: on_json!("{ json: { $.nul: { not: { gt: 100 } }, $.na: { not: { gt: 100 } } } }"),
        says: "does not compare",
        passing: Some(on_json!("{ json: { $.n: { not: { gt: 100 } } } }")),
    },
    Case {
        what: "`not: {any}` on an object",
        step: on_json!("{ json: { $.obj: { not: { any: { equals: 5 } } } } }"),
        says: "not a list",
        passing: Some(on_json!(
            "{ json: { $.items: { not: { any: { equals: 5 } } } } }"
        )),
    },
    Case {
        what: "`one_of` over an empty list a template gave (and under `not`, it holds)",
        step: "request: { url: /json }\n    capture: { empty: $.items }\n  - request: { url: /json }\n    expect: { json: { $.n: { one_of: \"{{ empty }}\" } } }",
        says: "one of []",
        passing: Some(
            "request: { url: /json }\n    capture: { empty: $.items }\n  - request: { url: /json }\n    expect: { json: { $.n: { not: { one_of: \"{{ empty }}\" } } } }",
        ),
    },
    Case {
        what: "a wildcard over a null (`length: 0` held)",
        step: on_json!("{ json: { \"$.nul[*]\": { length: 0 } } }"),
        says: "nothing (not found)",
        passing: Some(on_json!("{ json: { \"$.items[*]\": { length: 0 } } }")),
    },
    Case {
        what: "a UTF-7 body (ASCII bytes, other text)",
        step: "request: { url: /utf7 }\n    expect: { body: { not: { contains: \"<script>\" } } }",
        says: "`utf-7`",
        passing: None,
    },
    Case {
        what: "a wildcard under a misspelt parent (`length: 0` held)",
        step: on_json!(
            "{ json: { \"$.itmes[?@.s=='failed']\": { length: 0 }, \"$.lsit[*].s\": { not: { contains: failed } } } }"
        ),
        says: "nothing (not found)",
        passing: Some(on_json!(
            "{ json: { \"$.list[?@.s=='failed']\": { length: 0 }, \"$.itmes[*]\": { exists: false } } }"
        )),
    },
    Case {
        what: "a whole-body capture with a number a float cannot hold",
        step: on_json!("{ status: 200 }\n    capture: { doc: { body: true } }"),
        says: "12345678901234567890123",
        passing: None,
    },
    Case {
        what: "! a bound that compares with nothing, under `not`",
        step: on_json!("{ json: { $.n: { not: { lt: ~ } } } }"),
        says: "`lt` takes a number or a text",
        passing: None,
    },
    Case {
        what: "! a bound that is a list, under `not`",
        step: on_json!("{ json: { $.n: { not: { gte: [0, 5] } } } }"),
        says: "`gte` takes a number or a text",
        passing: None,
    },
    Case {
        what: "! an empty `one_of`, under `not`",
        step: on_json!("{ json: { $.n: { not: { one_of: [] } } } }"),
        says: "empty `one_of`",
        passing: None,
    },
    Case {
        what: "! a header name no response can carry (`exists: false` held for ever)",
        step: on_json!("{ headers: { \"Content-Type: application/json\": { exists: false } } }"),
        says: "is not a valid header name",
        passing: None,
    },
    Case {
        what: "a JSON object naming a key twice (a reader may take either)",
        step: "request: { url: /dup-keys }\n    expect: { json: { $.role: user } }",
        says: "`role` twice",
        passing: Some(
            "request: { url: /dup-keys }\n    expect: { status: 200, body: { contains: admin } }",
        ),
    },
    Case {
        what: "! an empty digest",
        step: on_json!("{ bytes: { sha256: \"\" } }"),
        says: "a digest is written in hex",
        passing: None,
    },
    Case {
        what: "! an empty list of statuses",
        step: on_json!("{ status: [] }"),
        says: "accepts none",
        passing: None,
    },
    Case {
        what: "! a null body expectation",
        step: on_json!("{ body: ~ }"),
        says: "would check nothing",
        passing: None,
    },
    Case {
        what: "! a null status expectation",
        step: on_json!("{ status: ~ }"),
        says: "would check nothing",
        passing: None,
    },
];

#[test]
fn answers_that_differ_from_the_scenario_fail_it() {
    let server = server();
    let base = format!("http://{}", server.addr);
    let ws = Workspace::new();
    let mut wrong = Vec::new();
    for (i, case) in CASES.iter().enumerate() {
        let file = format!("c{i}.yaml");
        ws.write(
            &file,
            &format!("name: case {i}\nsteps:\n  - {}\n", case.step),
        );
        let out = ws.run_against(&file, &base, &[]);
        if out.code != Some(case.code()) || !out.all().contains(case.says) {
            wrong.push(format!(
                "{}: must end with exit {} saying {:?}; exit {:?}\n{}",
                case.what,
                case.code(),
                case.says,
                out.code,
                out.all()
            ));
        }
        if let Some(passing) = case.passing {
            let file = format!("p{i}.yaml");
            ws.write(
                &file,
                &format!("name: passing {i}\nsteps:\n  - {passing}\n"),
            );
            let out = ws.run_against(&file, &base, &[]);
            if out.code != Some(0) {
                wrong.push(format!(
                    "{}: the control must pass\n{}",
                    case.what,
                    out.all()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

/// A `Location` with a byte that is not UTF-8 (`/caf\xE9`) is followed as curl and
/// browsers follow it (`/caf%E9`), not to the URL of a U+FFFD, and a header with
/// such a byte reads as its ISO-8859-1 character, not as a U+FFFD.
#[test]
fn header_bytes_that_are_not_utf8_are_kept() {
    let server = server();
    let base = format!("http://{}", server.addr);
    let ws = Workspace::new();
    ws.write(
        "l.yaml",
        "name: latin1\nsteps:\n  - request: { url: /latin1-location }\n    expect: { status: 302, headers: { X-Name: caf\u{e9}, Location: /caf%E9 } }\n  - request: { url: /latin1-location, follow_redirects: true }\n    expect: { body: { equals: the right page } }\n",
    );
    let out = ws.run_against("l.yaml", &base, &[]);
    assert_eq!(out.code, Some(0), "{}", out.all());
    let asked: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.method_and_target())
        .collect();
    assert!(asked.contains(&"GET /caf%E9".to_string()), "{asked:?}");
}

/// What the fixes above must not refuse: ordinary answers pass as before.
#[test]
fn ordinary_answers_still_pass() {
    let server = server();
    let base = format!("http://{}", server.addr);
    let ws = Workspace::new();
    ws.write(
        "o.yaml",
        r#"name: ordinary
steps:
  - request: { url: /te-identity }
    expect: { json: { $.a: 1 } }
  - request: { url: /binary-charset }
    expect: { body: { contains: hello } }
    capture: { t: { regex: "token=(\\w+)" } }
  - request: { url: /csrf }
    capture: { csrf: { regex: 'name="csrf" value="(\w+)"' } }
  - request: { url: "/json?t={{ t }}&c={{ csrf }}" }
    expect: { json: { $.n: 5 } }
  - request: { url: /same-two-locations, follow_redirects: true }
    expect: { json: { $.n: 5 } }
  - request: { url: /decimal }
    expect: { body: 1.50 }
  - request: { url: /dup-same }
    expect: { json: { $.id: 1 } }
  - request: { method: POST, url: /json, headers: { Content-Length: "0" } }
    expect: { json: { $.n: 5 } }
"#,
    );
    let out = ws.run_against("o.yaml", &base, &["-v"]);
    assert_eq!(out.code, Some(0), "{}", out.all());
    assert!(
        out.all().contains("/json?t=abc123&c=abc123"),
        "{}",
        out.all()
    );
}
