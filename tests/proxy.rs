//! With `HTTP_PROXY` set (as on many company CI machines), requests to other hosts go
//! through the proxy, and requests to loopback addresses (the embedded mock, the
//! webhook receiver, a service on the CI machine) never do, whatever `NO_PROXY` says.

#[path = "support/http_server.rs"]
mod http_server;
#[path = "support/runner_cli.rs"]
mod runner_cli;

use http_server::{Reply, TestServer};
use runner_cli::Workspace;
use serde_json::json;

#[test]
fn loopback_goes_direct_and_other_hosts_through_the_proxy() {
    let proxy = TestServer::start(|_| Reply::json(200, json!({"via": "proxy"})));
    let local = TestServer::start(|_| Reply::json(200, json!({"via": "direct"})));
    let ws = Workspace::new();
    ws.write(
        "proxied.yaml",
        r#"name: proxied
steps:
  - name: a service on this machine
    request: { url: "{{ local }}/local" }
    expect:
      json:
        $.via: direct
  - name: a remote API
    request: { url: "http://api.example.test/remote" }
    expect:
      json:
        $.via: proxy
"#,
    );
    let local_base = local.base_url();
    ws.runner()
        .args([
            "proxied.yaml",
            "--var",
            &format!("local={local_base}"),
            "--base-url",
            &local_base,
        ])
        .env("HTTP_PROXY", &proxy.base_url())
        .run()
        .expect_code(0);
    assert_eq!(local.requests_to("/local").len(), 1);
    let via_proxy = proxy.requests_to("/remote");
    assert_eq!(via_proxy.len(), 1, "{:?}", proxy.requests());
    assert_eq!(via_proxy[0].header("host"), Some("api.example.test"));
    assert!(
        proxy.requests_to("/local").is_empty(),
        "a loopback request went through the proxy"
    );
}

#[test]
fn the_embedded_mock_is_reached_despite_a_proxy() {
    let proxy = TestServer::start(|_| Reply::json(502, json!({"error": "proxy"})));
    let ws = Workspace::new();
    let smoke = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/smoke.yaml"),
    )
    .expect("the shipped smoke scenario");
    ws.write("smoke.yaml", &smoke);
    ws.runner()
        .arg("smoke.yaml")
        .env("HTTP_PROXY", &proxy.base_url())
        .env("ALL_PROXY", &proxy.base_url())
        .run()
        .expect_code(0);
    assert!(proxy.requests().is_empty(), "{:?}", proxy.requests());
}
