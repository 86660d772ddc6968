//! The core of the plain-TCP test servers on 127.0.0.1 (`faulty_server.rs`, the
//! safety `Recorder`): the accept loop, reading a request off the socket, recording it,
//! counting connections, and stopping on drop. What to send back is the handler's
//! business: it gets the connection and writes whatever bytes (or none) it wants,
//! which is why this is raw TCP and not a framework that would tidy the reply.
//!
//! Each connection gets its own thread; a handler should return soon after its peer
//! goes away or [`Conn::stopped`] turns true, so no thread outlives a test by more
//! than a moment.

#![allow(dead_code)]

use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The request line and headers, without the blank line that ends them.
    pub head: String,
    pub body: Vec<u8>,
}

impl Received {
    pub fn request_line(&self) -> &str {
        self.head.lines().next().unwrap_or("")
    }

    /// `METHOD /target`, as the request line has them.
    pub fn method_and_target(&self) -> String {
        let mut parts = self.request_line().split(' ');
        let method = parts.next().unwrap_or_default();
        let target = parts.next().unwrap_or_default();
        format!("{method} {target}")
    }

    pub fn text(&self) -> String {
        format!(
            "{}\r\n\r\n{}",
            self.head,
            String::from_utf8_lossy(&self.body)
        )
    }
}

/// What [`Conn::read_request`] found.
pub enum Incoming {
    Request(Received),
    /// The peer opened with a TLS record (a ClientHello) on this plain port.
    Tls,
    /// The peer left (or the server is stopping) before a whole request arrived.
    Gone,
}

/// A running server; stops when dropped.
pub struct RawServer {
    pub addr: SocketAddr,
    pub received: Arc<Mutex<Vec<Received>>>,
    pub connections: Arc<Mutex<usize>>,
    stop: Arc<AtomicBool>,
}

impl RawServer {
    /// Listen on a free loopback port; `handler` serves each accepted connection.
    pub fn start(handler: impl Fn(&mut Conn) + Send + Sync + 'static) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let received = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(Mutex::new(0usize));
        let stop = Arc::new(AtomicBool::new(false));
        let handler = Arc::new(handler);
        let (log, conns, stopping) = (received.clone(), connections.clone(), stop.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = conn else { continue };
                if let Ok(mut n) = conns.lock() {
                    *n += 1;
                }
                let mut c = Conn {
                    stream,
                    log: log.clone(),
                    stop: stopping.clone(),
                    buf: Vec::new(),
                };
                let handler = handler.clone();
                thread::spawn(move || handler(&mut c));
            }
        });
        RawServer {
            addr,
            received,
            connections,
            stop,
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request read so far, in arrival order.
    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Connections accepted so far (whether or not a request came on them).
    pub fn connection_count(&self) -> usize {
        self.connections.lock().map(|n| *n).unwrap_or_default()
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

/// One accepted connection, handed to the server's handler.
pub struct Conn {
    pub stream: TcpStream,
    log: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
    /// Bytes read past the last request (a pipelined next one).
    buf: Vec<u8>,
}

impl Conn {
    /// True once the server is being dropped.
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Read one request (head and Content-Length body) and record it.
    pub fn read_request(&mut self) -> Incoming {
        let _ = self.stream.set_read_timeout(Some(Duration::from_secs(30)));
        let mut scratch = [0u8; 8192];
        let head_end = loop {
            if self.buf.first() == Some(&0x16) {
                return Incoming::Tls;
            }
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i;
            }
            if self.stopped() {
                return Incoming::Gone;
            }
            match self.stream.read(&mut scratch) {
                Ok(0) | Err(_) => return Incoming::Gone,
                Ok(n) => self.buf.extend_from_slice(&scratch[..n]),
            }
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        let length: usize = head
            .split("\r\n")
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse().ok())
            .unwrap_or(0);
        let body_start = head_end + 4;
        while self.buf.len() < body_start + length {
            match self.stream.read(&mut scratch) {
                Ok(0) | Err(_) => return Incoming::Gone,
                Ok(n) => self.buf.extend_from_slice(&scratch[..n]),
            }
        }
        let body = self.buf[body_start..body_start + length].to_vec();
        self.buf.drain(..body_start + length);
        let req = Received { head, body };
        if let Ok(mut log) = self.log.lock() {
            log.push(req.clone());
        }
        Incoming::Request(req)
    }

    /// Wait (reading and discarding) until the peer closes or the server stops.
    pub fn idle_until_peer_leaves(&mut self) {
        let _ = self
            .stream
            .set_read_timeout(Some(Duration::from_millis(50)));
        let mut scratch = [0u8; 4096];
        while !self.stopped() {
            match self.stream.read(&mut scratch) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => return,
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
