//! Raw-TCP HTTP servers on 127.0.0.1 that misbehave on purpose, for the fault
//! matrix. Each connection gets its own thread; every server stops when dropped,
//! and every handler also stops as soon as its peer goes away, so no thread
//! outlives a test by more than a moment.

#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

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

/// A running server.
pub struct FaultyServer {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl FaultyServer {
    pub fn start(fault: Fault) -> FaultyServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log2, stop2) = (log.clone(), stop.clone());
        thread::spawn(move || {
            let seen = Arc::new(Mutex::new(0usize));
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = conn else { continue };
                let (fault, log, stop, seen) =
                    (fault.clone(), log2.clone(), stop2.clone(), seen.clone());
                thread::spawn(move || {
                    let mut c = Conn {
                        stream,
                        log,
                        stop,
                        seen,
                        buf: Vec::new(),
                    };
                    c.serve(&fault);
                });
            }
        });
        FaultyServer { addr, log, stop }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `https://127.0.0.1:PORT`: the same plain-HTTP port, addressed with TLS.
    pub fn https_url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Every request seen so far, as `METHOD /path`.
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Drop for FaultyServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

/// A URL on 127.0.0.1 where nothing listens.
pub fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    drop(listener);
    format!("http://{addr}")
}

enum Read1 {
    Request,
    Tls,
    Gone,
}

struct Conn {
    stream: TcpStream,
    log: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    /// Requests answered by this server so far (for `Sequence`).
    seen: Arc<Mutex<usize>>,
    buf: Vec<u8>,
}

impl Conn {
    fn serve(&mut self, fault: &Fault) {
        let _ = self.stream.set_nodelay(true);
        if matches!(fault, Fault::Silence) {
            self.idle_until_peer_leaves();
            return;
        }
        loop {
            match self.read_request() {
                Read1::Gone => return,
                Read1::Tls => {
                    let _ = self.stream.write_all(
                        b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                    let _ = self.stream.shutdown(Shutdown::Both);
                    return;
                }
                Read1::Request => {}
            }
            let fault = match fault {
                Fault::Sequence(list) => {
                    let mut n = self.seen.lock().expect("lock");
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
            if !self.answer(&fault) {
                return;
            }
        }
    }

    /// Answer one request; false when the connection is done.
    fn answer(&mut self, fault: &Fault) -> bool {
        match fault {
            Fault::Healthy => self.respond(&Canned::new(200, "application/json", HEALTHY_BODY)),
            Fault::Canned(c) => self.respond(c),
            Fault::AcceptThenClose => {
                let _ = self.stream.shutdown(Shutdown::Both);
                false
            }
            Fault::ResetMidBody => {
                let mut out = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n".to_vec();
                out.extend_from_slice(&[b' '; 100]);
                let _ = self.stream.write_all(&out);
                let _ = self.stream.flush();
                thread::sleep(Duration::from_millis(200));
                // Linger 0: close sends RST instead of FIN.
                let _ = socket2::SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
                false
            }
            Fault::CloseMidBody => {
                let mut out = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n".to_vec();
                out.extend_from_slice(&[b' '; 100]);
                let _ = self.stream.write_all(&out);
                let _ = self.stream.shutdown(Shutdown::Both);
                false
            }
            Fault::HeadersThenSilence => {
                let _ = self.stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n",
                );
                self.idle_until_peer_leaves();
                false
            }
            Fault::EndlessBody => {
                if self
                    .stream
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
                    .is_err()
                {
                    return false;
                }
                while !self.stop.load(Ordering::SeqCst) {
                    if self.stream.write_all(b"1\r\n \r\n").is_err() {
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
                if self.stream.write_all(head.as_bytes()).is_err() {
                    return false;
                }
                let chunk = vec![b' '; 64 * 1024];
                let mut left = *n;
                while left > 0 && !self.stop.load(Ordering::SeqCst) {
                    let k = left.min(chunk.len() as u64) as usize;
                    if self.stream.write_all(&chunk[..k]).is_err() {
                        break;
                    }
                    left -= k as u64;
                }
                false
            }
            Fault::RedirectLoop => {
                self.respond(&Canned::new(302, "text/plain", "again").header("Location", "/loop"))
            }
            Fault::BrokenChunked => {
                let _ = self.stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"id\"\r\nzz\r\n:1}\r\n0\r\n\r\n",
                );
                let _ = self.stream.shutdown(Shutdown::Write);
                self.idle_until_peer_leaves();
                false
            }
            Fault::Silence | Fault::Sequence(_) => false,
        }
    }

    fn respond(&mut self, c: &Canned) -> bool {
        let mut out = format!("HTTP/1.1 {} {}\r\n", c.status, reason(c.status)).into_bytes();
        for (k, v) in &c.headers {
            out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
        }
        out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", c.body.len()).as_bytes());
        out.extend_from_slice(&c.body);
        self.stream.write_all(&out).is_ok()
    }

    /// Wait (reading and discarding) until the peer closes or the server stops.
    fn idle_until_peer_leaves(&mut self) {
        let _ = self
            .stream
            .set_read_timeout(Some(Duration::from_millis(50)));
        let mut scratch = [0u8; 4096];
        while !self.stop.load(Ordering::SeqCst) {
            match self.stream.read(&mut scratch) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => return,
            }
        }
    }

    /// Read one request (head and Content-Length body) and log it.
    fn read_request(&mut self) -> Read1 {
        let _ = self.stream.set_read_timeout(Some(Duration::from_secs(30)));
        let mut scratch = [0u8; 8192];
        let head_end = loop {
            if self.buf.first() == Some(&0x16) {
                return Read1::Tls;
            }
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            if self.stop.load(Ordering::SeqCst) {
                return Read1::Gone;
            }
            match self.stream.read(&mut scratch) {
                Ok(0) | Err(_) => return Read1::Gone,
                Ok(n) => self.buf.extend_from_slice(&scratch[..n]),
            }
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or_default();
        let mut parts = request_line.split(' ');
        let method = parts.next().unwrap_or_default().to_string();
        let path = parts.next().unwrap_or_default().to_string();
        let length: usize = lines
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse().ok())
            .unwrap_or(0);
        while self.buf.len() < head_end + length {
            match self.stream.read(&mut scratch) {
                Ok(0) | Err(_) => return Read1::Gone,
                Ok(n) => self.buf.extend_from_slice(&scratch[..n]),
            }
        }
        self.buf.drain(..head_end + length);
        if let Ok(mut log) = self.log.lock() {
            log.push(format!("{method} {path}"));
        }
        Read1::Request
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
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
