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

/// A response: its head lines (without the status line) and its body as sent.
fn answer(path: &str) -> (String, Vec<u8>) {
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
    match path {
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
        _ => sized("text/plain", b"not found".to_vec()),
    }
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
        let (head, body) = answer(&path);
        let mut out = format!("HTTP/1.1 200 OK\r\nConnection: close\r\n{head}\r\n").into_bytes();
        out.extend_from_slice(&body);
        let _ = conn.stream.write_all(&out);
        let _ = conn.stream.shutdown(Shutdown::Both);
    })
}

/// One case: the step (`request` and `expect`/`capture`), what the run must say,
/// and, where one exists, a step the same answer does pass.
struct Case {
    what: &'static str,
    step: &'static str,
    says: &'static str,
    passing: Option<&'static str>,
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
        if out.code != Some(1) || !out.all().contains(case.says) {
            wrong.push(format!(
                "{}: must fail (exit 1) saying {:?}; exit {:?}\n{}",
                case.what,
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
