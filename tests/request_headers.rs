//! Request headers that repeat (issue 11): `X-Tag: [a, b]` sends two header lines
//! of that name, in order, as on the wire. A raw TCP server on 127.0.0.1 records
//! each request's header block byte for byte, so a joined `a, b` line or a reordered
//! pair would show.

#[path = "support/runner_cli.rs"]
mod runner_cli;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use runner_cli::Workspace;

/// Answers every request `200 {}` and keeps the header block of each, as sent.
struct RawServer {
    url: String,
    heads: Arc<Mutex<Vec<String>>>,
}

impl RawServer {
    fn start() -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let heads = Arc::new(Mutex::new(Vec::new()));
        let log = heads.clone();
        // The thread ends with the test process; each connection is short-lived.
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(stream) = conn else { continue };
                let log = log.clone();
                thread::spawn(move || serve(stream, &log));
            }
        });
        RawServer { url, heads }
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().map(|h| h.clone()).unwrap_or_default()
    }
}

fn serve(mut stream: TcpStream, log: &Mutex<Vec<String>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(0);
    if let Ok(mut l) = log.lock() {
        l.push(String::from_utf8_lossy(&buf[..end]).into_owned());
    }
    let _ = stream.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    );
}

/// The values of every line of header `name` (any case), in the order sent.
fn lines_of(head: &str, name: &str) -> Vec<String> {
    head.split("\r\n")
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().to_string())
        .collect()
}

#[test]
fn a_list_is_sent_as_one_header_line_per_value_in_order() {
    let server = RawServer::start();
    let ws = Workspace::new();
    ws.write(
        "t.yaml",
        r#"name: repeated
vars:
  second: "b, with a comma"
headers:
  X-Env: [e1, e2]
  X-Tag: from-the-scenario
steps:
  - name: list
    request:
      url: /one
      headers:
        X-Tag: [a, "{{ second }}", c]
        X-One: [only]
        X-Plain: plain
  - name: scenario list
    request:
      url: /two
"#,
    );
    let out = ws.run_against("t.yaml", &server.url, &["-v"]);
    out.expect_code(0);
    let heads = server.heads();
    assert_eq!(heads.len(), 2, "{heads:?}");
    // (request, header, the lines expected, in order)
    let table: [(usize, &str, &[&str]); 6] = [
        (0, "X-Tag", &["a", "b, with a comma", "c"]),
        (0, "X-One", &["only"]),
        (0, "X-Plain", &["plain"]),
        (0, "X-Env", &["e1", "e2"]),
        (1, "X-Env", &["e1", "e2"]),
        (1, "X-Tag", &["from-the-scenario"]),
    ];
    for (i, name, want) in table {
        assert_eq!(lines_of(&heads[i], name), want, "{name} in:\n{}", heads[i]);
    }
    // `-v` shows each line as sent.
    let all = out.all();
    for line in [
        "X-Tag: a",
        "X-Tag: b, with a comma",
        "X-Tag: c",
        "X-Env: e2",
    ] {
        assert!(all.contains(line), "`{line}` in -v output:\n{all}");
    }
}

#[test]
fn the_curl_reproducer_has_one_h_per_line() {
    let server = RawServer::start();
    let ws = Workspace::new();
    ws.write(
        "t.yaml",
        "name: n\nsteps:\n  - request:\n      url: /x\n      headers:\n        X-Tag: [a, b]\n    expect:\n      status: 201\n",
    );
    let out = ws.run_against("t.yaml", &server.url, &["--report-json", "r.json"]);
    out.expect_code(1);
    let report = ws.read("r.json");
    assert!(
        report.contains(r"-H 'X-Tag: a' \\\n  -H 'X-Tag: b'"),
        "{report}"
    );
}

const SECOND: &str = "second-key-s3cr3t-0123456789";
const TOKEN: &str = "tok-var-s3cr3t-9876543210";

#[test]
fn a_secret_in_a_later_value_is_masked_in_every_sink() {
    let server = RawServer::start();
    let ws = Workspace::new();
    ws.write(
        "t.yaml",
        &format!(
            r#"name: secrets
secrets: [token]
vars:
  token: {TOKEN}
steps:
  - request:
      url: /x
      headers:
        X-Api-Key: [first-key-aaaaaaaaaaaa, {SECOND}]
        X-Trace: [public, "{{{{ token }}}}"]
    expect:
      status: 201
"#
        ),
    );
    let out = ws.run_against(
        "t.yaml",
        &server.url,
        &[
            "-v",
            "--junit",
            "junit.xml",
            "--report-json",
            "report.json",
            "--report-html",
            "report.html",
        ],
    );
    out.expect_code(1);
    // Sent as written: masking is for what the runner writes, not what it sends.
    let heads = server.heads();
    assert_eq!(
        lines_of(&heads[0], "X-Api-Key"),
        ["first-key-aaaaaaaaaaaa", SECOND]
    );
    assert_eq!(lines_of(&heads[0], "X-Trace"), ["public", TOKEN]);
    let sinks = [
        ("console", out.all()),
        ("JUnit", ws.read("junit.xml")),
        ("JSON report", ws.read("report.json")),
        ("HTML report", ws.read("report.html")),
    ];
    for (sink, text) in sinks {
        for secret in [SECOND, TOKEN, &SECOND[..16], &TOKEN[..16]] {
            assert!(!text.contains(secret), "`{secret}` in the {sink}:\n{text}");
        }
    }
    // The failure still shows the request: the public value is there.
    assert!(out.all().contains("X-Trace: public"), "{}", out.all());
}

#[test]
fn a_bad_header_list_is_a_file_error_and_nothing_is_sent() {
    // (headers mapping, what the message says)
    let table = [
        ("X-Tag: []", "at least one value"),
        ("X-Tag: [a, {b: c}]", "a header value is text"),
        ("X-Tag: [a, \"b\\nc\"]", "header"),
        ("\"X Tag\": [a, b]", "header"),
        ("X-Tag: [a, \"{{ nope }}\"]", "nope"),
        // Not a number a header could send as written: quoting it is asked for.
        ("X-Tag: .inf", "quote `.nan` or `.inf`"),
        ("X-Tag: [a, 1e999]", "quote `.nan` or `.inf`"),
    ];
    for (headers, says) in table {
        let server = RawServer::start();
        let ws = Workspace::new();
        ws.write(
            "t.yaml",
            &format!(
                "name: n\nsteps:\n  - request:\n      url: /x\n      headers:\n        {headers}\n"
            ),
        );
        let out = ws.run_against("t.yaml", &server.url, &[]);
        out.expect_code(2);
        assert!(out.all().contains(says), "{headers}: {}", out.all());
        assert!(server.heads().is_empty(), "{headers}: a request was sent");
        let out = ws.runner().arg("validate").arg("t.yaml").run();
        out.expect_code(2);
    }
}

#[test]
fn an_imported_curl_command_with_a_header_twice_sends_it_twice() {
    let server = RawServer::start();
    let ws = Workspace::new();
    let command = format!(
        "curl {}/x -H 'X-Tag: a' -H 'Accept: text/plain' -H 'x-tag: b'",
        server.url
    );
    let out = ws
        .runner()
        .arg("import")
        .arg("curl")
        .arg(&command)
        .arg("-o")
        .arg(ws.path("out"))
        .run();
    out.expect_code(0);
    let text = ws.read("out/curl.yaml");
    assert!(text.contains("X-Tag:\n"), "a list under one key:\n{text}");
    let out = ws.run_against("out/curl.yaml", &server.url, &[]);
    out.expect_code(0);
    let heads = server.heads();
    assert_eq!(heads.len(), 1, "{heads:?}\n{text}");
    assert_eq!(lines_of(&heads[0], "X-Tag"), ["a", "b"], "{text}");
}

#[test]
fn a_header_written_as_a_yaml_number_or_boolean_is_sent_as_written() {
    let server = RawServer::start();
    let ws = Workspace::new();
    ws.write(
        "t.yaml",
        r#"name: as written
steps:
  - request:
      url: /x
      headers:
        X-Dec: 2.10
        X-Exp: 1e3
        X-Oct: 0o17
        X-Bool: True
        X-Big: 123456789012345678901234567890
        X-List: [2.10, False, 007]
        X-Alias: &v 3.50
        X-Again: *v
"#,
    );
    let out = ws.run_against("t.yaml", &server.url, &[]);
    out.expect_code(0);
    let heads = server.heads();
    assert_eq!(heads.len(), 1, "{heads:?}");
    // (header, the lines expected)
    let table: [(&str, &[&str]); 8] = [
        ("X-Dec", &["2.10"]),
        ("X-Exp", &["1e3"]),
        ("X-Oct", &["0o17"]),
        ("X-Bool", &["True"]),
        ("X-Big", &["123456789012345678901234567890"]),
        ("X-List", &["2.10", "False", "007"]),
        ("X-Alias", &["3.50"]),
        ("X-Again", &["3.50"]),
    ];
    for (name, want) in table {
        assert_eq!(lines_of(&heads[0], name), want, "{name} in:\n{}", heads[0]);
    }
}

#[test]
fn a_cookie_list_is_sent_as_one_cookie_line_with_every_value() {
    let server = RawServer::start();
    let ws = Workspace::new();
    ws.write(
        "t.yaml",
        r#"name: cookies
steps:
  - request:
      url: /x
      headers:
        Cookie: ["a=1", "b=2"]
  - request:
      url: /y
      headers:
        cookie: one=1
"#,
    );
    let out = ws.run_against("t.yaml", &server.url, &["-vv"]);
    out.expect_code(0);
    let heads = server.heads();
    assert_eq!(heads.len(), 2, "{heads:?}");
    assert_eq!(lines_of(&heads[0], "Cookie"), ["a=1; b=2"], "{}", heads[0]);
    assert_eq!(lines_of(&heads[1], "Cookie"), ["one=1"], "{}", heads[1]);
    assert!(out.all().contains("Cookie: a=1; b=2"), "{}", out.all());
}

/// A multipart body goes out with one Content-Type, the one naming its boundary:
/// the scenario's own Content-Type (for its JSON steps) does not go with it, and a
/// step's own is a file error (both went out, and the report showed the wrong one).
#[test]
fn a_multipart_request_carries_one_content_type_with_its_boundary() {
    let server = RawServer::start();
    let ws = Workspace::new();
    ws.write(
        "m.yaml",
        "name: multipart\nheaders:\n  Content-Type: application/json\nsteps:\n  - request:\n      method: POST\n      url: /upload\n      multipart: { title: logo }\n",
    );
    let _ = ws.run_against("m.yaml", &server.url, &[]);
    let heads = server.heads();
    let head = heads.first().unwrap_or_else(|| panic!("no request came"));
    let types = lines_of(head, "content-type");
    assert_eq!(types.len(), 1, "{head}");
    assert!(
        types[0].starts_with("multipart/form-data; boundary="),
        "{head}"
    );

    ws.write(
        "own.yaml",
        "name: multipart\nsteps:\n  - request:\n      method: POST\n      url: /upload\n      headers: { Content-Type: \"multipart/form-data; boundary=XYZ\" }\n      multipart: { title: logo }\n",
    );
    let out = ws.run_against("own.yaml", &server.url, &[]);
    out.expect_code(2);
    assert!(out.all().contains("written by the runner"), "{}", out.all());
    assert_eq!(server.heads().len(), 1, "nothing more was sent");
}

/// A POST, PUT or PATCH without a body says so: `Content-Length: 0` (a scenario
/// may not write its own), once, and `-v` shows it.
#[test]
fn a_request_with_no_content_says_content_length_0() {
    let server = RawServer::start();
    let ws = Workspace::new();
    ws.write(
        "c.yaml",
        "name: empty\nsteps:\n  - request: { method: POST, url: /cancel }\n  - request: { method: PUT, url: /p, body: \"\" }\n  - request: { url: /get }\n",
    );
    let out = ws.run_against("c.yaml", &server.url, &["-v"]);
    out.expect_code(0);
    assert!(out.stdout.contains("> Content-Length: 0"), "{}", out.stdout);
    let heads = server.heads();
    assert_eq!(heads.len(), 3, "{heads:?}");
    for head in &heads[..2] {
        assert_eq!(lines_of(head, "content-length"), vec!["0"], "{head}");
    }
    assert!(
        lines_of(&heads[2], "content-length").is_empty(),
        "{}",
        heads[2]
    );
}
