//! `--insecure` and `--cacert` against an HTTPS server on 127.0.0.1 whose certificate
//! comes from a CA made for the test (so no system trusts it).

#[path = "support/runner_cli.rs"]
mod runner_cli;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use runner_cli::Workspace;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

struct TlsServer {
    port: u16,
    /// Requests answered (after a completed handshake).
    served: Arc<AtomicUsize>,
    ca_pem: String,
}

/// A CA, a certificate for 127.0.0.1 signed by it, and a server answering every
/// request with `{"ok":true}` over TLS.
fn tls_server() -> TlsServer {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "runner test CA");
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
    let ca_pem = ca_cert.pem();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().expect("server key");
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .expect("server params")
        .signed_by(&leaf_key, &issuer)
        .expect("server certificate");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(leaf.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .expect("server config");
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let served = Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let config = config.clone();
            let count = count.clone();
            std::thread::spawn(move || {
                let Ok(conn) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let mut stream = rustls::StreamOwned::new(conn, tcp);
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let body = br#"{"ok":true}"#;
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                if stream.write_all(head.as_bytes()).is_ok() && stream.write_all(body).is_ok() {
                    count.fetch_add(1, Ordering::SeqCst);
                }
                stream.conn.send_close_notify();
                let _ = stream.flush();
            });
        }
    });
    TlsServer {
        port,
        served,
        ca_pem,
    }
}

const SCENARIO: &str = r#"name: over https
steps:
  - name: read
    request: { url: /ok }
    expect:
      status: 200
      json:
        $.ok: true
"#;

#[test]
fn an_unknown_ca_is_refused_then_trusted_with_cacert_or_ignored_with_insecure() {
    let server = tls_server();
    let ws = Workspace::new();
    ws.write("https.yaml", SCENARIO);
    ws.write("ca.pem", &server.ca_pem);
    let base = format!("https://127.0.0.1:{}", server.port);

    let refused = ws
        .runner()
        .args(["https.yaml", "--base-url", &base, "--retries", "0"])
        .run();
    refused.expect_code(1);
    let text = refused.all();
    assert!(
        text.contains("invalid peer certificate: UnknownIssuer")
            && text.contains("--cacert FILE")
            && !text.contains("plain HTTP"),
        "the error names the certificate and the ways out: {text}"
    );
    assert_eq!(server.served.load(Ordering::SeqCst), 0, "{text}");

    ws.runner()
        .args(["https.yaml", "--base-url", &base, "--cacert", "ca.pem"])
        .run()
        .expect_code(0);
    assert_eq!(server.served.load(Ordering::SeqCst), 1);

    let insecure = ws
        .runner()
        .args(["https.yaml", "--base-url", &base, "--insecure"])
        .run();
    insecure
        .expect_code(0)
        .stderr_has("--insecure: TLS certificates are not checked");
    assert_eq!(server.served.load(Ordering::SeqCst), 2);
}

#[test]
fn a_cacert_that_is_no_certificate_is_a_usage_error() {
    let ws = Workspace::new();
    ws.write("https.yaml", SCENARIO);
    ws.write("not-a-cert.pem", "hello\n");
    for (file, says) in [
        ("not-a-cert.pem", "not-a-cert.pem holds no certificate"),
        ("missing.pem", "cannot read missing.pem"),
    ] {
        ws.runner()
            .args([
                "https.yaml",
                "--base-url",
                "https://127.0.0.1:9",
                "--cacert",
                file,
            ])
            .run()
            .expect_code(2)
            .stderr_has(says);
    }
}
