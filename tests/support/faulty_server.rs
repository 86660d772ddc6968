//! Raw-TCP HTTP servers on 127.0.0.1 that misbehave on purpose, for the fault
//! matrix, on the shared core in `raw_server.rs` (accept loop, request reading,
//! recording, stop on drop). Every handler stops as soon as its peer goes away.

#![allow(dead_code)]

use std::io::Write;
use std::net::{Shutdown, TcpListener};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

#[allow(clippy::duplicate_mod)]
#[path = "raw_server.rs"]
mod raw_server;
use raw_server::{Conn, Incoming, RawServer};

/// The body a healthy server answers every request with.
pub const HEALTHY_BODY: &str = r#"{"id":"id-1","jobId":"job-1","ok":true}"#;

/// What a server does with each request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// 200 with [`HEALTHY_BODY`], keep-alive; answers a TLS ClientHello with a
    /// plain-HTTP 400 and closes, as nginx does on a plain port.
    Healthy,
    /// Read the request, then close without a byte of response.
    AcceptThenClose,
    /// Accept, never read, never answer.
    Silence,
    /// Promise 1000 bytes of body, send 100, then reset the connection (RST).
    ResetMidBody,
    /// Promise 1000 bytes of body, send 100, then close normally (FIN).
    CloseMidBody,
    /// Send a complete header block promising a body, then nothing.
    HeadersThenSilence,
    /// A chunked body that never ends: a small chunk every 20 ms.
    EndlessBody,
    /// A body of this many bytes (with Content-Length), written as fast as the peer reads.
    HugeBody(u64),
    /// The same response every time, keep-alive.
    Canned(Canned),
    /// 302 to itself, forever.
    RedirectLoop,
    /// `Transfer-Encoding: chunked` with a chunk-size line that is not hex.
    BrokenChunked,
    /// Answer the n-th request (0-based) with the n-th fault; the last one repeats.
    Sequence(Vec<Fault>),
}

/// A fixed response.
#[derive(Debug, Clone)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Canned {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Canned {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// A running server; stops when dropped.
pub struct FaultyServer {
    core: RawServer,
}

impl FaultyServer {
    pub fn start(fault: Fault) -> FaultyServer {
        // Requests answered by this server so far (for `Sequence`).
        let seen = Arc::new(Mutex::new(0usize));
        let core = RawServer::start(move |conn| serve(conn, &fault, &seen));
        FaultyServer { core }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        self.core.url()
    }

    /// `https://127.0.0.1:PORT`: the same plain-HTTP port, addressed with TLS.
    pub fn https_url(&self) -> String {
        format!("https://{}", self.core.addr)
    }

    /// Every request seen so far, as `METHOD /path`.
    pub fn requests(&self) -> Vec<String> {
        self.core
            .requests()
            .iter()
            .map(|r| r.method_and_target())
            .collect()
    }
}

/// A URL on 127.0.0.1 where nothing listens.
pub fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    drop(listener);
    format!("http://{addr}")
}

fn serve(conn: &mut Conn, fault: &Fault, seen: &Mutex<usize>) {
    let _ = conn.stream.set_nodelay(true);
    if matches!(fault, Fault::Silence) {
        conn.idle_until_peer_leaves();
        return;
    }
    loop {
        match conn.read_request() {
            Incoming::Gone => return,
            Incoming::Tls => {
                let _ = conn.stream.write_all(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                let _ = conn.stream.shutdown(Shutdown::Both);
                return;
            }
            Incoming::Request(_) => {}
        }
        let fault = match fault {
            Fault::Sequence(list) => {
                let mut n = seen.lock().expect("lock");
                let f = list
                    .get(*n)
                    .or(list.last())
                    .cloned()
                    .unwrap_or(Fault::Healthy);
                *n += 1;
                f
            }
            other => other.clone(),
        };
        if !answer(conn, &fault) {
            return;
        }
    }
}

/// Answer one request; false when the connection is done.
fn answer(conn: &mut Conn, fault: &Fault) -> bool {
    match fault {
        Fault::Healthy => respond(conn, &Canned::new(200, "application/json", HEALTHY_BODY)),
        Fault::Canned(c) => respond(conn, c),
        Fault::AcceptThenClose => {
            let _ = conn.stream.shutdown(Shutdown::Both);
            false
        }
        Fault::ResetMidBody => {
            let mut out = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n".to_vec();
            out.extend_from_slice(&[b' '; 100]);
            let _ = conn.stream.write_all(&out);
            let _ = conn.stream.flush();
            thread::sleep(Duration::from_millis(200));
            // Linger 0: close sends RST instead of FIN.
            let _ = socket2::SockRef::from(&conn.stream).set_linger(Some(Duration::ZERO));
            false
        }
        Fault::CloseMidBody => {
            let mut out = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n".to_vec();
            out.extend_from_slice(&[b' '; 100]);
            let _ = conn.stream.write_all(&out);
            let _ = conn.stream.shutdown(Shutdown::Both);
            false
        }
        Fault::HeadersThenSilence => {
            let _ = conn.stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n",
            );
            conn.idle_until_peer_leaves();
            false
        }
        Fault::EndlessBody => {
            if conn
                .stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
                .is_err()
            {
                return false;
            }
            while !conn.stopped() {
                if conn.stream.write_all(b"1\r\n \r\n").is_err() {
                    break;
                }
                thread::sleep(Duration::from_millis(20));
            }
            false
        }
        Fault::HugeBody(n) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {n}\r\n\r\n"
            );
            if conn.stream.write_all(head.as_bytes()).is_err() {
                return false;
            }
            let chunk = vec![b' '; 64 * 1024];
            let mut left = *n;
            while left > 0 && !conn.stopped() {
                let k = left.min(chunk.len() as u64) as usize;
                if conn.stream.write_all(&chunk[..k]).is_err() {
                    break;
                }
                left -= k as u64;
            }
            false
        }
        Fault::RedirectLoop => respond(
            conn,
            &Canned::new(302, "text/plain", "again").header("Location", "/loop"),
        ),
        Fault::BrokenChunked => {
            let _ = conn.stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"id\"\r\nzz\r\n:1}\r\n0\r\n\r\n",
            );
            let _ = conn.stream.shutdown(Shutdown::Write);
            conn.idle_until_peer_leaves();
            false
        }
        Fault::Silence | Fault::Sequence(_) => false,
    }
}

fn respond(conn: &mut Conn, c: &Canned) -> bool {
    let mut out = format!("HTTP/1.1 {} {}\r\n", c.status, reason(c.status)).into_bytes();
    for (k, v) in &c.headers {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", c.body.len()).as_bytes());
    out.extend_from_slice(&c.body);
    conn.stream.write_all(&out).is_ok()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Whatever",
    }
}
