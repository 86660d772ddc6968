//! What is on the wire is what is asserted and reported: redirects followed by the
//! engine hop by hop (each hop recorded, cookie-jarred, guarded, stripped of
//! credentials across origins), response headers as the server sent them, bodies
//! decoded by the runner (content codings, charsets), default request headers shown.

#[path = "support/http_server.rs"]
mod http_server;
#[path = "support/runner_cli.rs"]
mod runner_cli;

use std::io::Write;

use http_server::{Reply, TestServer};
use runner_cli::Workspace;
use serde_json::{Value, json};

fn report(ws: &Workspace) -> Value {
    serde_json::from_str(&ws.read("report.json")).expect("the JSON report parses")
}

fn redirect(status: u16, to: &str) -> Reply {
    Reply::empty(status).header("Location", to)
}

/// A server with a two-hop chain `/start` → `/middle` → `/final`.
fn chain_server() -> TestServer {
    TestServer::start(|r| match r.path.as_str() {
        "/start" => redirect(302, "/middle"),
        "/middle" => redirect(301, "final"),
        "/final" => Reply::json(200, json!({"arrived": true})),
        _ => Reply::empty(404),
    })
}

#[test]
fn a_redirect_is_the_response_unless_the_step_follows_it() {
    let server = chain_server();
    let ws = Workspace::new();
    ws.write(
        "r.yaml",
        r#"name: not followed
steps:
  - request: { url: /start }
    expect:
      status: 302
      headers: { Location: /middle }
      redirects: 0
"#,
    );
    ws.run_against("r.yaml", &server.base_url(), &[])
        .expect_code(0);
    assert_eq!(server.requests().len(), 1, "only the first URL is asked");

    // A step that says nothing about the status fails on a redirect it did not follow.
    ws.write(
        "bare.yaml",
        "name: bare\nsteps:\n  - request: { url: /start }\n",
    );
    let out = ws.run_against("bare.yaml", &server.base_url(), &[]);
    out.expect_code(1);
    assert!(out.all().contains("302"), "{}", out.all());
}

#[test]
fn followed_hops_are_each_recorded_and_assertable() {
    let server = chain_server();
    let ws = Workspace::new();
    ws.write(
        "r.yaml",
        r#"name: followed
follow_redirects: true
steps:
  - name: walk the chain
    request: { url: /start }
    expect:
      status: 200
      redirects: 2
      url: { matches: "/final$" }
      json: { $.arrived: true }
"#,
    );
    let out = ws.run_against(
        "r.yaml",
        &server.base_url(),
        &["-v", "--report-json", "report.json"],
    );
    out.expect_code(0);
    for hop in ["/start", "/middle", "/final"] {
        assert!(out.stdout.contains(hop), "-v shows {hop}:\n{}", out.stdout);
    }
    out.stdout_has("redirect 1 of 2");
    let j = report(&ws);
    let step = &j["scenarios"][0]["steps"][0];
    let hops = step["redirects"]
        .as_array()
        .expect("hops in the JSON report");
    assert_eq!(hops.len(), 2, "{step:#}");
    assert_eq!(hops[0]["response"]["status"], 302);
    assert!(
        hops[0]["request"]["url"]
            .as_str()
            .unwrap_or("")
            .ends_with("/start")
    );
    assert_eq!(hops[1]["response"]["status"], 301);
    assert!(
        step["request"]["url"]
            .as_str()
            .unwrap_or("")
            .ends_with("/final")
    );

    // The same assertions fail with a clear message when the chain differs.
    ws.write(
        "wrong.yaml",
        r#"name: wrong chain
steps:
  - request: { url: /start, follow_redirects: true }
    expect:
      redirects: 1
      url: { matches: "/elsewhere$" }
"#,
    );
    let out = ws.run_against("wrong.yaml", &server.base_url(), &[]);
    out.expect_code(1);
    assert!(out.all().contains("redirects"), "{}", out.all());
    assert!(out.all().contains("/elsewhere"), "{}", out.all());
}

#[test]
fn the_command_line_sets_the_default_and_a_request_overrides_it() {
    let server = chain_server();
    let ws = Workspace::new();
    ws.write(
        "r.yaml",
        r#"name: defaults
steps:
  - request: { url: /start }
    expect: { status: 200, redirects: 2 }
  - request: { url: /start, follow_redirects: false }
    expect: { status: 302 }
"#,
    );
    ws.run_against("r.yaml", &server.base_url(), &["--follow-redirects"])
        .expect_code(0);
    ws.run_against("r.yaml", &server.base_url(), &["-L"])
        .expect_code(0);
    ws.run_against("r.yaml", &server.base_url(), &[])
        .expect_code(1);
}

#[test]
fn a_cookie_set_by_a_redirect_hop_goes_into_the_jar() {
    // Like httpbin's /cookies/set?k=v, which answers 302 with a Set-Cookie.
    let server = TestServer::start(|r| match r.path.as_str() {
        "/cookies/set" => redirect(302, "/cookies")
            .header("Set-Cookie", "flavour=oat; Path=/")
            .header(
                "Set-Cookie",
                "shape=round; Path=/; Expires=Wed, 21 Oct 2037 07:28:00 GMT",
            ),
        "/cookies" => Reply::json(200, json!({"cookie": r.header("cookie").unwrap_or("")})),
        _ => Reply::empty(404),
    });
    let ws = Workspace::new();
    ws.write(
        "c.yaml",
        r#"name: cookies
follow_redirects: true
steps:
  - request: { url: /cookies/set }
  - name: the jar keeps them, and a step adds one on top
    request:
      url: /cookies
      cookies: { extra: "more" }
"#,
    );
    ws.run_against("c.yaml", &server.base_url(), &[])
        .expect_code(0);
    let sent: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/cookies")
        .map(|r| r.header("cookie").unwrap_or("").to_string())
        .collect();
    assert_eq!(sent.len(), 2, "{sent:?}");
    for c in ["flavour=oat", "shape=round"] {
        assert!(
            sent[0].contains(c),
            "the hop's Set-Cookie reached the next hop: {sent:?}"
        );
        assert!(sent[1].contains(c), "and the next step: {sent:?}");
    }
    assert!(sent[1].contains("extra=more"), "{sent:?}");
    assert!(!sent[0].contains("extra"), "{sent:?}");
}

#[test]
fn a_hop_to_another_origin_carries_no_credential() {
    let elsewhere = TestServer::start(Reply::echo);
    let target = format!("{}/landing", elsewhere.base_url());
    let server = TestServer::start(move |r| match r.path.as_str() {
        "/away" => redirect(307, &target),
        "/here" => redirect(307, "/landing"),
        _ => Reply::echo(r),
    });
    let ws = Workspace::new();
    ws.write(
        "x.yaml",
        r#"name: cross origin
follow_redirects: true
headers:
  X-Api-Key: lp_test_0123456789abcdef
  Authorization: Bearer tok-secret-1
  X-Tenant-Token: tenant-secret-2
  Cookie: sid=cookie-secret-3
  Accept-Language: fr
steps:
  - request: { method: POST, url: /away, json: { n: 1 } }
  - request: { method: POST, url: /here, json: { n: 2 } }
"#,
    );
    ws.run_against("x.yaml", &server.base_url(), &[])
        .expect_code(0);
    let seen = elsewhere.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let hop = &seen[0];
    for secret in ["X-Api-Key", "Authorization", "X-Tenant-Token", "Cookie"] {
        assert!(
            hop.header(secret).is_none(),
            "{secret} crossed origins: {hop:?}"
        );
    }
    assert_eq!(
        hop.header("accept-language"),
        Some("fr"),
        "plain headers go along"
    );
    assert_eq!(hop.method, "POST", "307 keeps the method");
    assert_eq!(hop.body_json(), json!({"n": 1}), "307 keeps the body");
    // On the same origin the headers stay.
    let here: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/landing")
        .collect();
    assert_eq!(here.len(), 1);
    assert_eq!(
        here[0].header("x-api-key"),
        Some("lp_test_0123456789abcdef")
    );
}

#[test]
fn methods_change_on_a_redirect_as_browsers_and_curl_change_them() {
    let server = TestServer::start(|r| match r.path.as_str() {
        "/303" => redirect(303, "/landing"),
        "/302" => redirect(302, "/landing"),
        "/301" => redirect(301, "/landing"),
        "/307" => redirect(307, "/landing"),
        "/308" => redirect(308, "/landing"),
        _ => Reply::echo(r),
    });
    let ws = Workspace::new();
    let mut steps = String::new();
    for (code, method) in [
        ("303", "POST"),
        ("303", "PUT"),
        ("302", "POST"),
        ("301", "POST"),
        ("302", "PUT"),
        ("307", "POST"),
        ("308", "PATCH"),
    ] {
        steps.push_str(&format!(
            "  - request: {{ method: {method}, url: /{code}, json: {{ a: 1 }} }}\n"
        ));
    }
    ws.write(
        "m.yaml",
        &format!("name: methods\nfollow_redirects: true\nsteps:\n{steps}"),
    );
    ws.run_against("m.yaml", &server.base_url(), &[])
        .expect_code(0);
    let landed: Vec<(String, String, bool)> = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/landing")
        .map(|r| {
            (
                r.method.clone(),
                r.body_text(),
                r.header("content-type").is_some(),
            )
        })
        .collect();
    let expected: Vec<(String, String, bool)> = [
        ("GET", "", false),
        ("GET", "", false),
        ("GET", "", false),
        ("GET", "", false),
        ("PUT", r#"{"a":1}"#, true),
        ("POST", r#"{"a":1}"#, true),
        ("PATCH", r#"{"a":1}"#, true),
    ]
    .iter()
    .map(|(m, b, ct)| (m.to_string(), b.to_string(), *ct))
    .collect();
    assert_eq!(landed, expected);
}

#[test]
fn the_cost_guard_sees_every_hop_and_refuses_before_sending_it() {
    let server = TestServer::start(|r| match r.path.as_str() {
        "/harmless" => redirect(307, "/v1/projects/p1/ingest/appstore"),
        _ => Reply::json(200, json!({"jobId": "job_1"})),
    });
    let ws = Workspace::new();
    ws.write(
        "g.yaml",
        r#"name: sneaky redirect
follow_redirects: true
steps:
  - request: { method: POST, url: /harmless, json: { appId: "1" } }
"#,
    );
    let out = ws.run_against("g.yaml", &server.base_url(), &[]);
    out.expect_code(1);
    assert!(out.all().contains("refused"), "{}", out.all());
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        vec!["/harmless".to_string()],
        "the costly hop was never sent"
    );
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("zlib");
    e.finish().expect("zlib")
}

fn raw_deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("deflate");
    e.finish().expect("deflate")
}

fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        w.write_all(data).expect("brotli");
    }
    out
}

fn zstd(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}

#[test]
fn coded_bodies_are_decoded_and_the_wire_headers_kept() {
    const BODY: &[u8] = br#"{"greeting": "hello, wire", "n": 7}"#;
    let server = TestServer::start(|r| {
        let (coding, data) = match r.path.as_str() {
            "/gzip" => ("gzip", gzip(BODY)),
            "/deflate-zlib" => ("deflate", zlib(BODY)),
            "/deflate-raw" => ("deflate", raw_deflate(BODY)),
            "/br" => ("br", brotli(BODY)),
            "/zstd" => ("zstd", zstd(BODY)),
            "/twice" => ("gzip, br", brotli(&gzip(BODY))),
            "/unknown" => ("compress", BODY.to_vec()),
            "/empty" => ("gzip", Vec::new()),
            _ => return Reply::empty(404),
        };
        let len = data.len().to_string();
        Reply::bytes(200, "application/json", data)
            .header("Content-Encoding", coding)
            .header("X-Wire-Length", &len)
    });
    let ws = Workspace::new();
    let mut steps = String::new();
    for (path, coding) in [
        ("gzip", "gzip"),
        ("deflate-zlib", "deflate"),
        ("deflate-raw", "deflate"),
        ("br", "br"),
        ("zstd", "zstd"),
        ("twice", "gzip, br"),
    ] {
        steps.push_str(&format!(
            "  - request: {{ url: /{path} }}\n    expect:\n      headers: {{ Content-Encoding: \"{coding}\" }}\n      json: {{ $.greeting: \"hello, wire\", $.n: 7 }}\n    capture:\n      wire: {{ header: Content-Length }}\n      said: {{ header: X-Wire-Length }}\n  - request: {{ url: \"/echo/{{{{ wire }}}}/{{{{ said }}}}\" }}\n    expect: {{ status: 404 }}\n"
        ));
    }
    steps.push_str("  - name: a coded response without a body\n    request: { method: HEAD, url: /empty }\n    expect: { body: { equals: \"\" } }\n");
    ws.write("e.yaml", &format!("name: codings\nsteps:\n{steps}"));
    let out = ws.run_against("e.yaml", &server.base_url(), &["-v"]);
    out.expect_code(0);
    assert!(
        out.stdout
            .contains("Accept-Encoding: gzip, deflate, br, zstd"),
        "the default request headers show in -v:\n{}",
        out.stdout
    );
    out.stdout_has("User-Agent: runner/");
    // Content-Length is the coded length the server sent, not the decoded one.
    for r in server
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/echo/"))
    {
        let parts: Vec<&str> = r.path.split('/').collect();
        assert_eq!(
            parts[2], parts[3],
            "Content-Length as on the wire: {}",
            r.path
        );
    }

    ws.write(
        "u.yaml",
        "name: unknown coding\nsteps:\n  - request: { url: /unknown }\n    expect:\n      json: { $.n: 7 }\n",
    );
    let out = ws.run_against("u.yaml", &server.base_url(), &[]);
    out.expect_code(1);
    assert!(
        out.all().contains("cannot decode"),
        "an unknown coding is named in the failure:\n{}",
        out.all()
    );
}

#[test]
fn text_bodies_are_read_in_their_declared_charset() {
    let server = TestServer::start(|r| match r.path.as_str() {
        "/latin1" => Reply::bytes(
            200,
            "text/plain; charset=ISO-8859-1",
            b"caf\xe9 cr\xe8me".to_vec(),
        ),
        "/gb2312" => Reply::bytes(
            200,
            "text/plain; charset=gb2312",
            vec![0xc4, 0xe3, 0xba, 0xc3],
        ),
        "/cp1256" => Reply::bytes(
            200,
            "text/html; charset=windows-1256",
            vec![0xe3, 0xd1, 0xcd, 0xc8, 0xc7],
        ),
        "/undeclared" => Reply::bytes(200, "text/plain", b"caf\xe9".to_vec()),
        _ => Reply::empty(404),
    });
    let ws = Workspace::new();
    ws.write(
        "c.yaml",
        r#"name: charsets
steps:
  - request: { url: /latin1 }
    expect: { body: { equals: "café crème" } }
  - request: { url: /gb2312 }
    expect: { body: { equals: "你好" } }
  - request: { url: /cp1256 }
    expect: { body: { equals: "مرحبا" } }
"#,
    );
    ws.run_against("c.yaml", &server.base_url(), &[])
        .expect_code(0);

    // Bytes that are not valid in the charset fail the body assertion, saying so,
    // even where a U+FFFD comparison would have held.
    ws.write(
        "bad.yaml",
        "name: undecodable\nsteps:\n  - request: { url: /undeclared }\n    expect: { body: { not: { contains: \"é\" } } }\n",
    );
    let out = ws.run_against("bad.yaml", &server.base_url(), &[]);
    out.expect_code(1);
    assert!(out.all().contains("not valid UTF-8"), "{}", out.all());
}
