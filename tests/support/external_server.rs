//! A server nobody here wrote (httpbin under gunicorn, Stoplight Prism), run as a
//! child process on a free port of 127.0.0.1 for one test: started in its own process
//! group so that its workers end with it, ready once a given path answers 200, and
//! stopped (SIGTERM, then SIGKILL) when dropped.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct External {
    child: Child,
    port: u16,
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// The status line of `GET path`, or None when nothing answers yet.
fn status_line(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    s.write_all(request.as_bytes()).ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    String::from_utf8_lossy(&buf)
        .lines()
        .next()
        .map(str::to_string)
}

impl External {
    /// Start `cmd` (already told to listen on `port`) and wait until `GET ready_path`
    /// answers 200. `name` and `install` make a failure say what to install.
    pub fn start(
        name: &str,
        install: &str,
        mut cmd: Command,
        port: u16,
        ready_path: &str,
    ) -> External {
        {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {name} ({e}); install it with\n\n    {install}\n")
            });
        let mut server = External { child, port };
        // Servers written in Python or node take a moment to start on a busy machine.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("{name} exited before it served ({status}); {install}");
            }
            if status_line(port, ready_path).is_some_and(|l| l.contains(" 200 ")) {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "{name} did not answer on 127.0.0.1:{port} within 60s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for External {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}
