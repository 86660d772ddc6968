//! `runner import`: artefacts in the formats QA teams have (tests/data/import/),
//! imported, validated as written, and run green against a server the test starts
//! on 127.0.0.1; the secrets of the sources never reach the written files.

#[path = "support/http_server.rs"]
mod http_server;
#[path = "support/runner_cli.rs"]
mod runner_cli;

use std::path::{Path, PathBuf};

use http_server::{Recorded, Reply, TestServer};
use runner_cli::{Output, Workspace};
use serde_json::json;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/import")
        .join(name)
}

/// `runner import FORMAT SOURCES -o out` in `ws`.
fn import(ws: &Workspace, format: &str, sources: &[PathBuf]) -> Output {
    ws.runner()
        .arg("import")
        .arg(format)
        .args(sources)
        .arg("-o")
        .arg(ws.path("out"))
        .run()
}

/// Every written file's text.
fn written(ws: &Workspace) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(ws.path("out"))
        .expect("out dir")
        .flatten()
    {
        let name = e.file_name().to_string_lossy().to_string();
        if let Ok(text) = std::fs::read_to_string(e.path()) {
            out.push((name, text));
        }
    }
    out.sort();
    out
}

fn assert_no_secret(ws: &Workspace, secrets: &[&str]) {
    let files = written(ws);
    assert!(!files.is_empty());
    for (name, text) in files {
        for s in secrets {
            assert!(!text.contains(s), "{s} leaked into {name}:\n{text}");
        }
    }
}

/// The environment variables the imports name for their credentials: `validate`
/// refuses a file that reads one that is not set, so the user sets them first.
const IMPORTED_ENV: [&str; 11] = [
    "COOKIE_SID_TOKEN",
    "COOKIE_THEME_TOKEN",
    "X_API_KEY",
    "ALICE_PASSWORD",
    "COOKIE_SESSION_TOKEN",
    "CLIENT_SECRET",
    "COOKIE_CART_TOKEN",
    "BEARER_TOKEN",
    "PARTNERAPI_KEY",
    "API_TOKEN",
    "X_STORE_KEY",
];

fn validate(ws: &Workspace, extra: &[&str]) -> Output {
    let mut runner = ws.runner();
    for name in IMPORTED_ENV {
        runner = runner.env(name, "set-by-the-user-0123456789");
    }
    runner.arg("validate").arg(ws.path("out")).args(extra).run()
}

#[test]
fn curl_lines_with_every_flag_import_validate_and_run() {
    let ws = Workspace::new();
    let out = import(&ws, "curl", &[data("tickets.curl")]);
    assert_eq!(out.code, Some(0), "{}", out.all());
    for env in [
        "X_API_KEY",
        "ALICE_PASSWORD",
        "COOKIE_SESSION_TOKEN",
        "CLIENT_SECRET",
    ] {
        assert!(out.stdout.contains(env), "{env} not named:\n{}", out.stdout);
    }
    assert_no_secret(
        &ws,
        &[
            "key_live_4f9a8b7c6d5e",
            "s3cret-passw0rd",
            "sess_9f8e7d6c5b4a",
            "cs_1234567890",
        ],
    );
    ws.write("out/payload.json", "{\"raw\": true}");
    ws.write("out/avatar.png", "not really a png");
    let v = validate(&ws, &[]);
    assert_eq!(v.code, Some(0), "{}\n{}", v.all(), written(&ws)[0].1);

    let server = TestServer::echo();
    let run = ws
        .runner()
        .arg(ws.path("out/tickets.yaml"))
        .arg("--base-url")
        .arg(server.base_url())
        .env("X_API_KEY", "key_live_4f9a8b7c6d5e")
        .env("ALICE_PASSWORD", "s3cret-passw0rd")
        .env("COOKIE_SESSION_TOKEN", "sess_9f8e7d6c5b4a")
        .env("COOKIE_THEME_TOKEN", "dark")
        .env("CLIENT_SECRET", "cs_1234567890")
        .run();
    assert_eq!(run.code, Some(0), "{}\n{}", run.all(), written(&ws)[0].1);
    let reqs = server.requests();
    let find = |method: &str, path: &str| -> Recorded {
        reqs.iter()
            .find(|r| r.method == method && r.path == path)
            .unwrap_or_else(|| panic!("no {method} {path} in {reqs:?}"))
            .clone()
    };
    let items = find("GET", "/v1/items");
    assert_eq!(items.header("x-api-key"), Some("key_live_4f9a8b7c6d5e"));
    assert_eq!(items.query.as_deref(), Some("limit=2&tag=a&tag=b"));
    let posted = reqs
        .iter()
        .find(|r| r.method == "POST" && r.path == "/v1/items" && r.body_text().contains("it's new"))
        .expect("the --data-raw POST");
    assert_eq!(
        posted.body_json(),
        json!({"name": "it's new", "count": 2, "client_secret": "cs_1234567890"})
    );
    let form = find("POST", "/v1/forms");
    assert_eq!(form.body_text(), "name=form&size=big");
    assert_eq!(find("POST", "/v1/search").body_text(), "q=red+shoes");
    assert_eq!(find("POST", "/v1/raw").body_text(), "{\"raw\": true}");
    let upload = find("POST", "/v1/upload");
    assert!(upload.body_text().contains("not really a png"));
    assert!(upload.body_text().contains("my avatar"));
    // alice:s3cret-passw0rd
    assert_eq!(
        find("GET", "/v1/me").header("authorization"),
        Some("Basic YWxpY2U6czNjcmV0LXBhc3N3MHJk")
    );
    assert_eq!(
        find("GET", "/v1/cart").header("cookie"),
        Some("session=sess_9f8e7d6c5b4a; theme=dark")
    );
    assert!(reqs.iter().any(|r| r.method == "GET"
        && r.path == "/v1/items"
        && r.query.as_deref() == Some("page=2")));
    find("HEAD", "/v1/health");
    assert_eq!(
        find("DELETE", "/v1/items/42").header("user-agent"),
        Some("ticket-bot/1.0")
    );
}

#[test]
fn a_browser_har_imports_one_scenario_per_page_without_assets() {
    let ws = Workspace::new();
    let out = import(&ws, "har", &[data("shop.har")]);
    assert_eq!(out.code, Some(0), "{}", out.all());
    assert!(out.stdout.contains("2 static asset"), "{}", out.stdout);
    assert_no_secret(
        &ws,
        &[
            "sid_a1b2c3d4e5f6g7",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbm4ifQ.c2lnbmF0dXJl",
        ],
    );
    let (_, text) = &written(&ws)[0];
    assert!(
        !text.contains("logo.png") && !text.contains("analytics.js"),
        "{text}"
    );
    assert!(
        !text.contains("sec-fetch") && !text.contains(":authority"),
        "{text}"
    );
    let v = validate(&ws, &[]);
    assert_eq!(v.code, Some(0), "{}\n{text}", v.all());

    let server = TestServer::start(|r| match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/") => Reply::text(200, "<html></html>").header("set-cookie", "cart=c-1; Path=/"),
        ("GET", "/api/products") => Reply::json(200, json!([{"id": 1}, {"id": 2}])),
        ("POST", "/api/cart/items") if r.header("authorization").is_some() => {
            Reply::json(201, json!({"ok": true}))
        }
        _ => Reply::json(404, json!({})),
    });
    let run = ws
        .runner()
        .arg(ws.path("out"))
        .arg("--base-url")
        .arg(server.base_url())
        .env(
            "BEARER_TOKEN",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbm4ifQ.c2lnbmF0dXJl",
        )
        .env("COOKIE_SID_TOKEN", "sid_a1b2c3d4e5f6g7")
        .env("COOKIE_CART_TOKEN", "c-1")
        .run();
    assert_eq!(run.code, Some(0), "{}\n{text}", run.all());
    let products = server.requests_to("/api/products");
    assert_eq!(products[0].query.as_deref(), Some("limit=2&sort=price"));
    assert_eq!(
        products[0].header("cookie"),
        Some("cart=c-1; sid=sid_a1b2c3d4e5f6g7")
    );
    assert!(server.requests_to("/static/logo.png").is_empty());
}

/// The Postman collection's server: bearer auth for the pets, an API key for the store.
fn pet_server() -> TestServer {
    TestServer::start(|r| {
        let bearer = r.header("authorization") == Some("Bearer tok_staging_1a2b3c4d5e6f");
        let store = r.header("x-store-key") == Some("store_key_5e6f7a8b9c");
        match (r.method.as_str(), r.path.as_str()) {
            (_, p) if p.starts_with("/pets") && !bearer => Reply::json(401, json!({})),
            (_, p) if p.starts_with("/store") && !store => Reply::json(401, json!({})),
            ("POST", "/pets") if r.header("x-partner-key") == Some("pk_live_8d7c6b5a4f3e2d1c") => {
                let name = r.body_json()["name"].clone();
                Reply::json(201, json!({"id": 7, "name": name, "tag": "dog"}))
            }
            ("GET", "/pets/7") if r.query.as_deref() == Some("verbose=true") => {
                Reply::json(200, json!({"id": 7, "name": "Rex", "tag": "dog"}))
            }
            ("POST", "/pets/7/name") if r.body_text() == "name=Max" => Reply::json(200, json!({})),
            ("POST", "/pets/7/photos") if r.body_text().contains("a photo") => {
                Reply::json(201, json!({}))
            }
            ("GET", "/store/inventory") => Reply::json(200, json!({"available": 3})),
            ("POST", "/graphql") if r.body_json()["variables"]["tag"] == "dog" => {
                Reply::json(200, json!({"data": {"pets": []}}))
            }
            ("PUT", "/store/prices") if r.body_text() == "sku,price\n" => Reply::empty(204),
            _ => Reply::json(404, json!({"path": r.path})),
        }
    })
}

#[test]
fn a_postman_collection_imports_validates_and_runs() {
    let ws = Workspace::new();
    let out = import(
        &ws,
        "postman",
        &[
            data("petstore.postman_collection.json"),
            data("staging.postman_environment.json"),
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.all());
    for env in ["PARTNERAPI_KEY", "API_TOKEN", "X_STORE_KEY"] {
        assert!(out.stdout.contains(env), "{env} not named:\n{}", out.stdout);
    }
    assert!(
        out.stdout.contains("console.log"),
        "the untranslated script line is listed:\n{}",
        out.stdout
    );
    assert_no_secret(
        &ws,
        &[
            "pk_live_8d7c6b5a4f3e2d1c",
            "tok_staging_1a2b3c4d5e6f",
            "store_key_5e6f7a8b9c",
        ],
    );
    let files = written(&ws);
    let (_, text) = files
        .iter()
        .find(|(n, _)| n == "petstore-api.yaml")
        .unwrap_or_else(|| panic!("{files:?}"));
    assert!(text.contains("$.name: Rex"), "{text}");
    assert!(text.contains("petId: $.id"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with('#') && l.contains("console.log('created'")),
        "{text}"
    );
    assert!(files.iter().any(|(n, _)| n == "staging.vars"), "{files:?}");
    ws.write("out/photo.txt", "a photo");
    ws.write("out/prices.csv", "sku,price\n");
    let v = validate(&ws, &["--vars-file", "out/staging.vars"]);
    assert_eq!(v.code, Some(0), "{}\n{text}", v.all());
    let v = validate(&ws, &[]);
    assert_eq!(
        v.code,
        Some(0),
        "validates without the vars file too: {}",
        v.all()
    );

    let server = pet_server();
    let run = ws
        .runner()
        .arg(ws.path("out/petstore-api.yaml"))
        .arg("--vars-file")
        .arg(ws.path("out/staging.vars"))
        .arg("--base-url")
        .arg(server.base_url())
        .env("API_TOKEN", "tok_staging_1a2b3c4d5e6f")
        .env("PARTNERAPI_KEY", "pk_live_8d7c6b5a4f3e2d1c")
        .env("X_STORE_KEY", "store_key_5e6f7a8b9c")
        .run();
    assert_eq!(run.code, Some(0), "{}\n{text}", run.all());
    assert!(run.stdout.contains("2 passed"), "{}", run.stdout);
}

#[test]
fn what_cannot_be_imported_is_an_error_and_nothing_is_written() {
    let ws = Workspace::new();
    ws.write("bad.json", "{\"hello\": 1}");
    let out = import(&ws, "postman", &[ws.path("bad.json")]);
    assert_eq!(out.code, Some(2), "{}", out.all());
    assert!(
        out.stderr.contains("neither a Postman collection"),
        "{}",
        out.stderr
    );
    assert!(!ws.path("out").exists());
    // An existing file is not replaced without --force.
    let first = import(&ws, "curl", &[data("tickets.curl")]);
    assert_eq!(first.code, Some(0), "{}", first.all());
    let again = import(&ws, "curl", &[data("tickets.curl")]);
    assert_eq!(again.code, Some(2), "{}", again.all());
    assert!(again.stderr.contains("--force"), "{}", again.stderr);
}

/// A server that follows tests/data/import/petstore.yaml.
fn petstore_server() -> TestServer {
    TestServer::start(|r| match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/pets") => Reply::json(200, json!([{"id": 1, "name": "Rex", "tag": null}]))
            .header("x-next", "/pets?page=2"),
        ("POST", "/pets") if r.body_json()["name"] == "Rex" => Reply::empty(201),
        ("GET", "/pets/7") => Reply::json(200, json!({"id": 7, "name": "Rex"})),
        _ => Reply::json(404, json!({"code": 404, "message": "no such pet"})),
    })
}

#[test]
fn the_openapi_petstore_imports_validates_and_runs_with_its_contract() {
    let ws = Workspace::new();
    let spec = ws.write(
        "specs/petstore.yaml",
        &std::fs::read_to_string(data("petstore.yaml")).unwrap(),
    );
    let out = import(&ws, "openapi", &[spec]);
    assert_eq!(out.code, Some(0), "{}", out.all());
    let (_, text) = &written(&ws)[0];
    assert!(
        text.contains("openapi: \"../specs/petstore.yaml\""),
        "{text}"
    );
    assert!(text.contains("url: /pets/7"), "{text}");
    assert!(text.contains("status: 201"), "{text}");
    let v = validate(&ws, &[]);
    assert_eq!(v.code, Some(0), "{}\n{text}", v.all());
    let server = petstore_server();
    let run = ws
        .runner()
        .arg(ws.path("out"))
        .arg("--base-url")
        .arg(server.base_url())
        .arg("--openapi-coverage")
        .arg("--report-json")
        .arg(ws.path("run.json"))
        .run();
    assert_eq!(run.code, Some(0), "{}\n{text}", run.all());
    let report: serde_json::Value = serde_json::from_str(&ws.read("run.json")).unwrap();
    let cov = &report["summary"]["openapi_coverage"][0];
    assert!(
        cov["spec"].as_str().unwrap().ends_with("petstore.yaml"),
        "{report}"
    );
    assert_eq!(cov["operations"][2]["path"], "/pets/{petId}", "{report}");
    assert_eq!(
        cov["operations"][2]["exercised"],
        json!(["200"]),
        "{report}"
    );
    assert_eq!(cov["operations"][2]["missed"], json!(["404"]), "{report}");
    assert!(
        run.stdout
            .contains("3 of 3 operations, 3 of 6 documented responses"),
        "{}",
        run.stdout
    );
    assert_eq!(server.requests_to("/pets").len(), 2);
}

#[test]
fn the_contract_check_catches_what_breaks_the_document() {
    // (the URL, what the server does wrong, what the failure says)
    let cases: Vec<(&str, Reply, &str)> = vec![
        (
            "/pets?limit=2",
            Reply::json(200, json!([{"id": "one", "name": "Rex"}])).header("x-next", "n"),
            "body at /0/id",
        ),
        (
            "/pets?limit=2",
            Reply::json(200, json!([{"id": 1}])).header("x-next", "n"),
            "\"name\" is a required property",
        ),
        (
            "/pets/7",
            Reply::json(418, json!({"teapot": true})),
            "a documented status (200, 404)",
        ),
        (
            "/pets?limit=2",
            Reply::json(200, json!([])),
            "header x-next",
        ),
    ];
    for (url, reply, want) in cases {
        let ws = Workspace::new();
        ws.write(
            "pets.yaml",
            &format!("name: pets\nsteps:\n  - request: {{ url: \"{url}\" }}\n    expect: {{ status: [200, 418] }}\n"),
        );
        let reply = std::sync::Mutex::new(Some(reply));
        let server = TestServer::start(move |_| {
            reply
                .lock()
                .unwrap()
                .take()
                .unwrap_or_else(|| Reply::json(500, json!({})))
        });
        let run = ws
            .runner()
            .arg("pets.yaml")
            .arg("--base-url")
            .arg(server.base_url())
            .arg("--openapi")
            .arg(data("petstore.yaml"))
            .arg("--retries")
            .arg("0")
            .run();
        assert_eq!(run.code, Some(1), "{want}: {}", run.all());
        assert!(run.all().contains(want), "{want}: {}", run.all());
    }
    // An unknown path is a failure that says so; `openapi: false` opts a step out.
    let ws = Workspace::new();
    ws.write(
        "other.yaml",
        "name: other\nsteps:\n  - request: { url: /owners }\n  - request: { url: /health }\n    expect: { openapi: false }\n",
    );
    let server = TestServer::start(|_| Reply::json(200, json!({})));
    let run = ws
        .runner()
        .arg("other.yaml")
        .arg("--base-url")
        .arg(server.base_url())
        .arg("--openapi")
        .arg(data("petstore.yaml"))
        .run();
    assert_eq!(run.code, Some(1), "{}", run.all());
    assert!(
        run.all().contains("the path /owners is not in"),
        "{}",
        run.all()
    );
    assert!(!run.all().contains("/health is not"), "{}", run.all());
}

/// A document whose one operation documents typed response headers.
const LIMITED: &str = r#"openapi: 3.0.3
info: { title: limited, version: "1" }
paths:
  /quota:
    get:
      responses:
        "200":
          description: the quota
          headers:
            X-Rate-Limit: { required: true, schema: { type: integer, minimum: 1 } }
            X-Plan: { schema: { type: string, enum: [free, paid] } }
            X-Region: { schema: { type: string, pattern: "^[a-z]{2}-[a-z]+$" } }
"#;

#[test]
fn response_headers_are_checked_against_their_schema() {
    // (the headers the server sends, what the failures say; none: the run passes)
    type Case = (Vec<(&'static str, &'static str)>, Vec<&'static str>);
    let cases: Vec<Case> = vec![
        (
            vec![
                ("x-rate-limit", "100"),
                ("X-PLAN", "paid"),
                ("x-region", "eu-west"),
            ],
            vec![],
        ),
        (
            vec![("x-rate-limit", "lots")],
            vec![
                "header X-Rate-Limit",
                "to satisfy `type` of the header schema",
                "\"lots\" is not of type \"integer\"",
            ],
        ),
        (
            vec![("x-rate-limit", "0")],
            vec!["header X-Rate-Limit", "to satisfy `minimum`"],
        ),
        (
            vec![("x-plan", "free")],
            vec![
                "header X-Rate-Limit",
                "present (the document says it is required)",
            ],
        ),
        (
            vec![("x-rate-limit", "5"), ("x-plan", "gold")],
            vec!["header X-Plan", "to satisfy `enum`"],
        ),
        (
            vec![("x-rate-limit", "5"), ("x-region", "EU")],
            vec!["header X-Region", "to satisfy `pattern`"],
        ),
        // Each line of a repeated header must satisfy the schema.
        (
            vec![("x-rate-limit", "5"), ("X-Rate-Limit", "many")],
            vec![
                "header X-Rate-Limit (line 2 of 2)",
                "\"many\" is not of type",
            ],
        ),
    ];
    for (headers, want) in cases {
        let ws = Workspace::new();
        ws.write("limited.yaml", LIMITED);
        ws.write(
            "quota.yaml",
            "name: quota\nsteps:\n  - request: { url: /quota }\n",
        );
        let sent: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let server = TestServer::start(move |_| {
            let mut reply = Reply::empty(200);
            for (k, v) in &sent {
                reply = reply.header(k, v);
            }
            reply
        });
        let run = ws
            .runner()
            .arg("quota.yaml")
            .arg("--base-url")
            .arg(server.base_url())
            .arg("--openapi")
            .arg(ws.path("limited.yaml"))
            .run();
        let expected_code = if want.is_empty() { 0 } else { 1 };
        assert_eq!(run.code, Some(expected_code), "{headers:?}: {}", run.all());
        for w in want {
            assert!(
                run.all().contains(w),
                "{headers:?}: no `{w}` in\n{}",
                run.all()
            );
        }
    }
}

#[test]
fn openapi_true_without_a_document_is_a_file_error() {
    let ws = Workspace::new();
    ws.write(
        "t.yaml",
        "name: t\nsteps:\n  - request: { url: /pets }\n    expect: { openapi: true }\n",
    );
    let server = TestServer::start(|_| Reply::json(200, json!({})));
    let run = ws
        .runner()
        .arg("t.yaml")
        .arg("--base-url")
        .arg(server.base_url())
        .run();
    assert_eq!(run.code, Some(2), "{}", run.all());
    assert!(run.stderr.contains("--openapi SPEC"), "{}", run.stderr);
    assert!(server.requests().is_empty());
    // A document that cannot be read is a file error too.
    ws.write(
        "u.yaml",
        "name: u\nsteps:\n  - request: { url: /pets }\n    expect: { openapi: missing.yaml }\n",
    );
    let v = ws.runner().arg("validate").arg("u.yaml").run();
    assert_eq!(v.code, Some(2), "{}", v.all());
    assert!(v.stderr.contains("missing.yaml"), "{}", v.stderr);
}

/// docs/import.md shows what an import of a curl command writes: it is.
#[test]
fn the_curl_example_of_the_docs_is_what_the_import_writes() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/import.md"))
        .unwrap();
    let command = doc
        .split("An import of `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .expect("the command in docs/import.md");
    let block = doc
        .split("# example: import-curl-result\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the example in docs/import.md");
    let shown: serde_json::Value = serde_saphyr::from_str(block).expect("the example is YAML");
    let ws = Workspace::new();
    let out = ws
        .runner()
        .arg("import")
        .arg("curl")
        .arg(command)
        .arg("-o")
        .arg(ws.path("out"))
        .run();
    assert_eq!(out.code, Some(0), "{}", out.all());
    let text = ws.read("out/curl.yaml");
    let imported: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    assert_eq!(imported, shown, "{text}");
}

/// Newman's iteration data: each row of a `data:` file is its own testcase, with a
/// stable, unique name in JUnit (two rows that render the same name keep their numbers).
#[test]
fn data_rows_are_testcases_with_unique_names() {
    let ws = Workspace::new();
    ws.write("rows.csv", "user,plan\nann,pro\nbob,free\nann,pro\n");
    ws.write("rows.json", r#"[{"n": 1}, {"n": 2}]"#);
    ws.write(
        "s.yaml",
        "scenarios:\n  - name: \"{{ user }} {{ plan }}\"\n    data: rows.csv\n    steps:\n      - request: { url: \"/u/{{ user }}\" }\n  - name: numbered\n    data: rows.json\n    steps:\n      - request: { url: /n, json: { n: \"{{ n }}\" } }\n",
    );
    let server = TestServer::echo();
    let run = ws
        .runner()
        .arg("s.yaml")
        .arg("--base-url")
        .arg(server.base_url())
        .arg("--junit")
        .arg("report.xml")
        .run();
    assert_eq!(run.code, Some(0), "{}", run.all());
    let junit = ws.read("report.xml");
    for name in [
        "ann pro [row 1]",
        "bob free",
        "ann pro [row 3]",
        "numbered [row 1]",
        "numbered [row 2]",
    ] {
        assert!(
            junit.contains(&format!("name=\"{name}\"")),
            "{name}: {junit}"
        );
    }
    assert_eq!(server.requests_to("/u/ann").len(), 2);
    let bodies: Vec<serde_json::Value> = server
        .requests_to("/n")
        .iter()
        .map(|r| r.body_json())
        .collect();
    assert!(
        bodies.contains(&json!({"n": 1})) && bodies.contains(&json!({"n": 2})),
        "{bodies:?}"
    );
    // `data` and `matrix` together is a file error.
    ws.write(
        "both.yaml",
        "name: x\ndata: rows.csv\nmatrix: { a: [1] }\nsteps:\n  - request: { url: /x }\n",
    );
    let v = ws.runner().arg("validate").arg("both.yaml").run();
    assert_eq!(v.code, Some(2), "{}", v.all());
    assert!(v.stderr.contains("not both"), "{}", v.stderr);
}

/// `openapi:` at the top of a file checks every step of its scenarios.
#[test]
fn a_file_level_openapi_checks_every_step() {
    let ws = Workspace::new();
    ws.write(
        "spec/petstore.yaml",
        &std::fs::read_to_string(data("petstore.yaml")).unwrap(),
    );
    ws.write(
        "suite/pets.yaml",
        "openapi: ../spec/petstore.yaml\nscenarios:\n  - name: good\n    steps:\n      - request: { url: /pets/7 }\n  - name: bad\n    steps:\n      - request: { url: /health }\n        expect: { openapi: false }\n      - request: { url: /pets/8 }\n",
    );
    let server = TestServer::start(|r| match r.path.as_str() {
        "/pets/7" => Reply::json(200, json!({"id": 7, "name": "Rex"})),
        "/pets/8" => Reply::json(200, json!({"id": 8})),
        _ => Reply::json(200, json!({"up": true})),
    });
    let run = ws
        .runner()
        .arg("suite")
        .arg("--base-url")
        .arg(server.base_url())
        .run();
    assert_eq!(run.code, Some(1), "{}", run.all());
    assert!(run.stdout.contains("PASS  good"), "{}", run.stdout);
    assert!(
        run.stdout.contains("\"name\" is a required property"),
        "{}",
        run.stdout
    );
    assert_eq!(server.requests_to("/health").len(), 1, "{}", run.all());
}

/// An imported request to an endpoint of the cost catalog is written commented
/// out, with what it needs; the file still validates and nothing costly runs.
#[test]
fn imported_costly_endpoints_are_left_commented_out() {
    let ws = Workspace::new();
    ws.write(
        "costly.curl",
        "curl https://api.layers.com/v1/whoami -H 'X-Api-Key: lp_test_01JMOCKDEM0KEY00_c2VjcmV0c2VjcmV0'\ncurl -X POST https://api.layers.com/v1/projects/p1/content --json '{\"kind\": \"video_remix\"}'\n",
    );
    let out = import(&ws, "curl", &[ws.path("costly.curl")]);
    assert_eq!(out.code, Some(0), "{}", out.all());
    assert!(
        out.stdout.contains("needs allow_cost: [credits]"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("POST /v1/jobs/{jobId}/cancel"),
        "{}",
        out.stdout
    );
    let text = ws.read("out/costly.yaml");
    assert!(
        text.contains("# - request:") || text.contains("#   request:"),
        "{text}"
    );
    assert_no_secret(&ws, &["c2VjcmV0c2VjcmV0"]);
    let v = validate(&ws, &[]);
    assert_eq!(v.code, Some(0), "{}\n{text}", v.all());
    let listed = ws
        .runner()
        .arg("run")
        .arg("--dry-run")
        .arg(ws.path("out"))
        .run();
    assert!(!listed.all().contains("/content"), "{}", listed.all());
}

/// A HAR request that sent a header on two lines (two `cookie` lines, as HTTP/2
/// browsers record them) is imported with both: the cookies arrive as one line,
/// the other header as two.
#[test]
fn a_har_header_on_two_lines_keeps_both() {
    let ws = Workspace::new();
    let har = json!({"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": [{
        "startedDateTime": "2026-01-01T00:00:00Z", "time": 1,
        "request": {"method": "GET", "url": "https://api.example.com/v1/me", "httpVersion": "h2",
            "headers": [
                {"name": "cookie", "value": "theme=dark"},
                {"name": "x-tag", "value": "a"},
                {"name": "cookie", "value": "lang=en"},
                {"name": "x-tag", "value": "b"}
            ],
            "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0},
        "response": {"status": 200, "statusText": "OK", "httpVersion": "h2", "headers": [],
            "content": {"size": 2, "mimeType": "application/json", "text": "{}"},
            "redirectURL": "", "headersSize": -1, "bodySize": 2},
        "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0}
    }]}});
    ws.write("h.har", &har.to_string());
    let out = import(&ws, "har", &[ws.path("h.har")]);
    assert_eq!(out.code, Some(0), "{}", out.all());
    let (_, text) = &written(&ws)[0];
    assert!(text.contains("COOKIE_LANG_TOKEN"), "{text}");
    assert_no_secret(&ws, &["dark", "=en"]);

    let server = TestServer::start(|_| Reply::json(200, json!({})));
    let run = ws
        .runner()
        .arg(ws.path("out"))
        .arg("--base-url")
        .arg(server.base_url())
        .env("COOKIE_THEME_TOKEN", "dark")
        .env("COOKIE_LANG_TOKEN", "en")
        .run();
    assert_eq!(run.code, Some(0), "{}\n{text}", run.all());
    let sent = server.requests_to("/v1/me");
    assert_eq!(sent.len(), 1, "{text}");
    assert_eq!(
        sent[0].header("cookie"),
        Some("theme=dark; lang=en"),
        "{text}"
    );
    assert_eq!(sent[0].header_values("x-tag"), ["a", "b"], "{text}");
}
