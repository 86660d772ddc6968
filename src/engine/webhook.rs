//! The run's webhook receiver: a loopback server that records deliveries, one
//! address per scenario (`{{ webhook.url }}`), and lets a step wait for one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::post;
use tokio::sync::Notify;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Delivery {
    /// The payload's `type`, when it is JSON with one.
    pub fn event_type(&self) -> Option<String> {
        serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()?
            .get("type")?
            .as_str()
            .map(str::to_string)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Inbox {
    /// Deliveries per scenario, and how many of them steps have taken.
    by_scenario: Mutex<HashMap<usize, (Vec<Delivery>, usize)>>,
    arrived: Notify,
}

/// The receiver; dropped with the run.
pub struct Receiver {
    base: String,
    inbox: Arc<Inbox>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Receiver {
    pub async fn start() -> std::io::Result<Receiver> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let inbox = Arc::new(Inbox::default());
        let app = axum::Router::new()
            .route("/hooks/{scenario}", post(receive))
            .with_state(inbox.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Receiver {
            base: format!("http://{addr}"),
            inbox,
            shutdown: Some(tx),
        })
    }

    pub fn url_for(&self, scenario: usize) -> String {
        format!("{}/hooks/{scenario}", self.base)
    }

    /// The next delivery for `scenario` (of `event` type, when given) not taken yet.
    pub async fn wait(
        &self,
        scenario: usize,
        event: Option<&str>,
        within: Duration,
    ) -> Option<Delivery> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.inbox.arrived.notified();
            if let Some(d) = self.take(scenario, event) {
                return Some(d);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.take(scenario, event);
            }
        }
    }

    fn take(&self, scenario: usize, event: Option<&str>) -> Option<Delivery> {
        let mut map = self
            .inbox
            .by_scenario
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let (list, taken) = map.get_mut(&scenario)?;
        let pos = list
            .iter()
            .skip(*taken)
            .position(|d| event.is_none_or(|e| d.event_type().as_deref() == Some(e)))?;
        let idx = *taken + pos;
        let d = list.remove(idx);
        Some(d)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

async fn receive(
    State(inbox): State<Arc<Inbox>>,
    Path(scenario): Path<usize>,
    headers: HeaderMap,
    body: Bytes,
) -> &'static str {
    let headers = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                crate::http::header_text(k.as_str(), v.as_bytes()),
            )
        })
        .collect();
    {
        let mut map = inbox.by_scenario.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(scenario)
            .or_default()
            .0
            .push(Delivery { headers, body });
    }
    inbox.arrived.notify_waiters();
    "ok"
}

/// Check `X-Layers-Signature: t=<secs>,v1=<hex>[,v1=...]` against HMAC-SHA256(secret, "t.body").
pub fn verify_signature(header: &str, body: &[u8], secret: &str) -> Result<(), String> {
    use hmac::{KeyInit, Mac};
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = Some(v.to_string()),
            Some(("v1", v)) => sigs.push(v.to_string()),
            _ => {}
        }
    }
    let t = t.ok_or("the signature header has no t=")?;
    if sigs.is_empty() {
        return Err("the signature header has no v1=".into());
    }
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).map_err(|e| e.to_string())?;
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected = hex::encode(mac.finalize().into_bytes());
    if sigs.iter().any(|s| s.eq_ignore_ascii_case(&expected)) {
        Ok(())
    } else {
        Err("no v1 signature matches HMAC-SHA256 of \"t.body\" with the given secret".into())
    }
}
