//! The HTML report as a person sees it: written by a real run, opened in headless
//! Chromium, and read back from the DOM the browser built (after its script ran).
//! Hostile names, headers and bodies must show as text, never run and never change
//! the page, and opening the report must send no request anywhere.
//!
//! Chromium is required: `apt-get install -y chromium` (Debian/Ubuntu; `.ci/run`
//! does it). `RUNNER_CHROMIUM` names another binary; `RUNNER_SKIP_BROWSER_TESTS=1`
//! skips the browser checks on a machine where Chromium cannot be installed.

#[path = "support/http_server.rs"]
mod http_server;
#[path = "support/runner_cli.rs"]
mod runner_cli;
#[path = "support/safety.rs"]
mod safety;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use http_server::{Reply, TestServer, closed_port};
use runner_cli::Workspace;
use serde_json::json;

/// Chromium's own limit per page load; only there to stop a hung browser.
const BROWSER_LIMIT: Duration = Duration::from_secs(90);

/// The Chromium binary, or None (with a message) when the tests are told to skip.
/// Missing and not skipped: the test fails and says how to install it.
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("RUNNER_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    if std::env::var_os("RUNNER_SKIP_BROWSER_TESTS").is_some() {
        eprintln!(
            "SKIPPED: the HTML report's browser checks (RUNNER_SKIP_BROWSER_TESTS is set and no Chromium was found)"
        );
        return None;
    }
    panic!(
        "the HTML report tests need headless Chromium, and none was found on PATH.\n\
         Install it: `sudo apt-get update && sudo apt-get install -y chromium` (Debian/Ubuntu; .ci/run does this),\n\
         or set RUNNER_CHROMIUM=/path/to/chrome. Only where Chromium cannot be installed,\n\
         RUNNER_SKIP_BROWSER_TESTS=1 skips these checks."
    );
}

/// What Chromium made of a page: its DOM after the scripts ran, and its network log.
struct Loaded {
    dom: String,
    net_log: String,
}

fn load(browser: &Path, page: &Path, fragment: Option<&str>) -> Loaded {
    let profile = tempfile::tempdir().expect("profile dir");
    let net_log = profile.path().join("net-log.json");
    let mut url = url::Url::from_file_path(page).expect("absolute page path");
    url.set_fragment(fragment);
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-default-apps",
            "--no-first-run",
            "--no-default-browser-check",
        ])
        .arg(format!(
            "--user-data-dir={}",
            profile.path().join("p").display()
        ))
        .arg(format!("--log-net-log={}", net_log.display()))
        .arg("--dump-dom")
        .arg(url.as_str())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", browser.display()));
    let mut out = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut buf = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut buf);
        buf
    });
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for chromium") {
            break s;
        }
        if started.elapsed() > BROWSER_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish loading {url} within {BROWSER_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let dom = reader.join().unwrap_or_default();
    assert!(
        status.success() && dom.contains("</html>"),
        "chromium failed on {url} ({status}); it printed:\n{dom}"
    );
    Loaded {
        dom,
        net_log: std::fs::read_to_string(&net_log).unwrap_or_default(),
    }
}

/// The part of the DOM that is scenario `index`'s row.
fn row(dom: &str, index: usize) -> &str {
    let start = dom
        .find(&format!("id=\"s-{index}\""))
        .unwrap_or_else(|| panic!("no row s-{index} in the page:\n{dom}"));
    let rest = &dom[start..];
    let end = rest[1..]
        .find("<li class=\"sc ")
        .or_else(|| rest.find("</ol>"))
        .map_or(rest.len(), |e| e + 1);
    &rest[..end]
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// Every URL-valued attribute of the DOM's elements, to check none leaves the page.
/// Text can hold `src="..."` too; only real tags count (a serialized DOM writes
/// `<` and `>` of text and attribute values as entities, so a tag ends at `>`).
fn url_attributes(dom: &str) -> Vec<String> {
    let scripts = regex::Regex::new(r"(?s)<script[^>]*>.*?</script>").expect("regex");
    let markup = scripts.replace_all(dom, "");
    let tag = regex::Regex::new(r"<[a-zA-Z][^>]*>").expect("regex");
    let attr = regex::Regex::new(
        r#"\s(src|href|action|srcset|poster|data|formaction|ping|background|xlink:href)="([^"]*)""#,
    )
    .expect("regex");
    tag.find_iter(&markup)
        .flat_map(|t| {
            attr.captures_iter(t.as_str())
                .map(|c| c[2].to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

const SUITE: &str = r#"scenarios:
  - name: reads the document
    steps:
      - name: read it
        request: { url: /go, follow_redirects: true }
        expect:
          status: 200
          json:
            $.name: fine
      - name: flaky read
        retries: 2
        request: { url: /flaky }
        expect: { status: 200 }
      - name: wait for the job
        request: { url: /poll }
        retry:
          until:
            json:
              $.state: done
          attempts: 5
          interval: 10ms
    finally:
      - name: tidy up
        request: { url: /ok }
  - name: "wrong name </textarea><img src=http://127.0.0.1:CANARY/scenario-name onerror=alert(1)>"
    steps:
      - name: "check the name <script>fetch('http://127.0.0.1:CANARY/step-name')</script>"
        request: { url: /ok }
        expect:
          json:
            $.name: "<b>expected</b>"
      - name: not reached
        request: { url: /ok }
  - name: hostile body
    steps:
      - name: read the page
        request: { url: /hostile }
        expect:
          body: { contains: "never there" }
  - name: nobody listens
    steps:
      - name: call a closed port
        retries: 0
        request: { url: "http://127.0.0.1:CLOSED/x" }
  - name: not yet
    skip: waiting for the v2 endpoint
    steps:
      - request: { url: /ok }
"#;

fn hostile_body(canary: &str) -> String {
    format!(
        "<script>fetch('{canary}/body-script')</script><img src=\"{canary}/body-img\" \
         onerror=\"fetch('{canary}/body-onerror')\"></textarea></pre></script><!-- \
         <style>body{{display:none}}</style><a href=\"javascript:alert(1)\">click</a> \
         <iframe src=\"{canary}/frame\"></iframe>"
    )
}

fn app(canary: String) -> TestServer {
    let flaky = Arc::new(AtomicUsize::new(0));
    let polls = Arc::new(AtomicUsize::new(0));
    TestServer::start(move |r| {
        match r.path.as_str() {
        // Numbers a JSON library would rewrite: shown as sent.
        "/ok" => Reply::bytes(
            200,
            "application/json",
            format!(
                r#"{{"id":1,"name":"fine","n":1.0e2,"big":123456789012345678901234567890,"note":"</script><script>fetch('{canary}/json')</script>"}}"#
            )
            .into_bytes(),
        ),
        "/go" => Reply::empty(302).header("location", "/ok"),
        "/flaky" if flaky.fetch_add(1, Ordering::SeqCst) == 0 => Reply::text(503, "busy"),
        "/flaky" => Reply::json(200, json!({"ok": true})),
        "/poll" => {
            let n = polls.fetch_add(1, Ordering::SeqCst);
            Reply::json(200, json!({"state": if n < 2 { "running" } else { "done" }}))
        }
        "/hostile" => Reply::bytes(200, "text/html", hostile_body(&canary).into_bytes())
            .header("x-evil", &format!("<img src={canary}/header onerror=alert(1)>")),
        _ => Reply::empty(404),
    }
    })
}

#[test]
fn a_person_sees_the_counts_the_failures_and_the_timeline_and_nothing_runs() {
    let Some(browser) = chromium() else { return };
    let canary = TestServer::start(|_| Reply::empty(204));
    let server = app(canary.base_url());
    let ws = Workspace::new();
    let suite = SUITE
        .replace("CANARY", &canary.port().to_string())
        .replace("CLOSED", &closed_port().to_string());
    ws.write("suite.yaml", &suite);
    let out = ws
        .runner()
        .args([
            "suite.yaml",
            "--base-url",
            &server.base_url(),
            "--report-html",
            "out/report",
        ])
        .run();
    out.expect_code(1);
    let page = ws.path("out/report/index.html");
    let html = std::fs::read_to_string(&page).expect("the HTML report was written");
    assert!(
        html.contains("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src &#39;none&#39;; script-src &#39;sha256-"),
        "the page must carry its policy before anything else:\n{}",
        &html[..html.len().min(800)]
    );

    let seen = load(&browser, &page, None);
    let dom = &seen.dom;
    // The script ran: the policy's hash matches it (else nothing below is drawn).
    assert!(
        dom.contains("data-ready-ms=\""),
        "the report's script did not run (a stale hash in the policy?):\n{dom}"
    );

    // The counts.
    for (key, n) in [
        ("total", 5),
        ("passed", 1),
        ("failed", 2),
        ("error", 1),
        ("skipped", 1),
        ("flaky", 1),
    ] {
        assert!(
            dom.contains(&format!("<b id=\"count-{key}\">{n}</b>")),
            "the {key} count is not {n}:\n{dom}"
        );
    }
    assert!(dom.contains("showing 5 of 5"), "{dom}");
    assert!(
        !dom.contains("<section id=\"openapi-coverage\""),
        "no coverage section without --openapi-coverage:\n{dom}"
    );
    assert!(
        dom.contains(&format!("<dd id=\"target\">{}</dd>", server.base_url())),
        "{dom}"
    );

    // A failed scenario is open, with the assertion's expected and actual side by side.
    let failed = row(dom, 1);
    assert!(
        dom.contains("<li class=\"sc o-failed open\" id=\"s-1\"><div class=\"rh\" tabindex=\"0\" role=\"button\" aria-expanded=\"true\">"),
        "a failed scenario is opened at load:\n{dom}"
    );
    assert!(
        failed.contains(
            "<tr class=\"broke\"><td class=\"mark\">✗</td><td class=\"subj\">$.name</td>\
             <td class=\"exp\">\"&lt;b&gt;expected&lt;/b&gt;\"</td><td class=\"act\">\"fine\"</td></tr>"
        ),
        "the failed assertion is not shown with expected and actual:\n{failed}"
    );
    assert!(
        failed.contains("$.name: expected \"&lt;b&gt;expected&lt;/b&gt;\", got \"fine\""),
        "the row's one-line reason:\n{failed}"
    );
    // Its timeline: one line per step, the failed one and the one never reached.
    assert!(
        failed.contains("<div class=\"wf\">"),
        "no timeline:\n{failed}"
    );
    assert_eq!(count(failed, "<div class=\"wr "), 2, "{failed}");
    assert!(failed.contains("<div class=\"wr o-failed\">"), "{failed}");
    assert!(failed.contains("<div class=\"wr o-skipped\">"), "{failed}");
    // The link back to the file and line.
    assert!(
        failed.contains("<a class=\"loc\" href=\"../../suite.yaml\">suite.yaml:27</a>"),
        "{failed}"
    );
    // The failing request as a curl command to paste.
    assert!(
        failed.contains("<pre class=\"body curl\">curl"),
        "no curl reproducer:\n{failed}"
    );
    // The JSON response, re-indented, its hostile string as text.
    assert!(
        failed.contains(
            "  \"name\": \"fine\",\n  \"n\": 1.0e2,\n  \"big\": 123456789012345678901234567890,"
        ),
        "{failed}"
    );
    assert!(
        failed.contains("&lt;/script&gt;&lt;script&gt;fetch("),
        "{failed}"
    );

    // The error and the skip tell why without opening anything.
    assert!(
        row(dom, 3).contains("connection refused"),
        "{}",
        row(dom, 3)
    );
    assert!(
        row(dom, 4).contains("waiting for the v2 endpoint"),
        "{}",
        row(dom, 4)
    );

    // The hostile body, header and names are text: shown, and nothing else.
    let hostile = row(dom, 2);
    let canary_url = canary.base_url();
    assert!(
        hostile.contains(&format!(
            "&lt;script&gt;fetch('{canary_url}/body-script')&lt;/script&gt;&lt;img src=\"{canary_url}/body-img\""
        )),
        "the hostile body is not shown as text:\n{hostile}"
    );
    assert!(
        hostile.contains(&format!(
            "&lt;img src={canary_url}/header onerror=alert(1)&gt;"
        )),
        "the hostile header is not shown as text:\n{hostile}"
    );
    assert!(
        row(dom, 1).contains("wrong name &lt;/textarea&gt;&lt;img src="),
        "{}",
        row(dom, 1)
    );
    for tag in ["<img", "<iframe", "<textarea", "<a href=\"javascript"] {
        assert_eq!(count(dom, tag), 0, "{tag} became an element:\n{dom}");
    }
    // Closing tags: the report's own script mentions `<script>` in a comment. The
    // data block is gone from the DOM once the script has read it.
    assert_eq!(
        count(dom, "</script>"),
        1,
        "only the report's script:\n{dom}"
    );
    assert!(!dom.contains("id=\"data\""), "{dom}");
    assert_eq!(count(dom, "<style"), 1, "{dom}");
    assert_eq!(count(dom, "<li class=\"sc "), 5, "{dom}");
    let handlers = regex::Regex::new(r"<[a-zA-Z][^>]*\son[a-z]+=").expect("regex");
    assert!(
        !handlers.is_match(dom),
        "an event handler attribute made it into the page:\n{dom}"
    );
    let urls = url_attributes(dom);
    assert!(urls.contains(&"../../suite.yaml".to_string()), "{urls:?}");
    for u in urls {
        assert!(
            !u.contains(':') || u.starts_with('#'),
            "the page points outside itself: {u}"
        );
    }

    // A scenario opened by its link: retries, polling and the finally step in its timeline.
    let seen_passed = load(&browser, &page, Some("s-0"));
    let passed = row(&seen_passed.dom, 0);
    assert_eq!(count(passed, "<div class=\"wr "), 4, "{passed}");
    assert!(
        passed.contains("<div class=\"wr o-passed fin\">"),
        "{passed}"
    );
    assert!(passed.contains("finally 1. tidy up"), "{passed}");
    assert!(passed.contains("GET · 200 · "), "{passed}");
    assert!(passed.contains("2 attempts"), "the retried step:\n{passed}");
    // The redirect: its hop in the timeline and shown before the final exchange.
    assert!(passed.contains("GET · 200 · "), "{passed}");
    assert!(passed.contains(" · 1 redirect"), "{passed}");
    assert!(passed.contains("<span class=\"seg hop\""), "{passed}");
    assert!(passed.contains("<h4>redirect hop 1</h4>"), "{passed}");
    assert!(
        passed.contains("<div class=\"line s3\">HTTP/1.1 302 · "),
        "{passed}"
    );
    assert!(passed.contains("<h4>after 1 redirect</h4>"), "{passed}");
    assert!(passed.contains("3 attempts"), "the polled step:\n{passed}");
    assert!(passed.contains("attempt 1: HTTP 503"), "{passed}");
    assert!(passed.contains("the rest polling"), "{passed}");
    assert!(
        passed.contains("<span class=\"tag flaky\">flaky</span>"),
        "{passed}"
    );

    // Opening the report sent nothing: the canary heard nothing, and Chromium's
    // network log holds no request to this machine's servers.
    assert!(
        canary.requests().is_empty(),
        "the page made requests: {:?}",
        canary
            .requests()
            .iter()
            .map(|r| &r.path)
            .collect::<Vec<_>>()
    );
    for log in [&seen.net_log, &seen_passed.net_log] {
        assert!(!log.is_empty(), "chromium wrote no network log");
        assert!(
            !log.contains("127.0.0.1"),
            "chromium's network log shows a request to 127.0.0.1"
        );
    }
}

/// Secrets are masked in the HTML report like in every other report, whatever
/// escaping the page applies; `--report-html FILE.html` writes that file.
#[test]
fn secrets_are_masked_in_the_html_report() {
    const SECRET: &str = "tok<&>\"'-4f9a2c7e81b3d5f0a6";
    let server = TestServer::echo();
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        "name: echo the token\nsteps:\n  - name: send it\n    request:\n      url: /echo\n      headers:\n        Authorization: \"Bearer {{ env.MY_TOKEN }}\"\n    expect:\n      json:\n        $.path: /nowhere\n",
    );
    let out = ws
        .runner()
        .args([
            "s.yaml",
            "--base-url",
            &server.base_url(),
            "--report-html",
            "report.html",
        ])
        .env("MY_TOKEN", SECRET)
        .run();
    out.expect_code(1);
    let sent = server.requests();
    assert_eq!(
        sent.first().and_then(|r| r.header("authorization")),
        Some(format!("Bearer {SECRET}").as_str()),
        "the secret really went out"
    );
    let html = ws.read("report.html");
    // Undo the page's own escapes too, then look for every form of the secret.
    let decoded = html
        .replace("\\u003c", "<")
        .replace("\\u003e", ">")
        .replace("\\u0026", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    let forms = safety::secret_forms(SECRET, 12);
    for text in [&html, &decoded] {
        assert!(
            safety::leaked(text, &forms).is_none(),
            "the secret leaked into the HTML report as {:?}",
            safety::leaked(text, &forms)
        );
    }
    assert!(html.contains("Bearer ***"), "masked, not dropped:\n{html}");
}

/// `--openapi-coverage`: the page shows, for the document, each operation with the
/// documented statuses the run exercised and those it did not, readable as text.
#[test]
fn the_openapi_coverage_shows_what_was_exercised_and_what_was_not() {
    let Some(browser) = chromium() else { return };
    let server = TestServer::start(|r| match r.path.as_str() {
        "/pets" => Reply::json(200, json!([{"id": 1}])),
        "/pets/1" => Reply::json(404, json!({"message": "gone"})),
        _ => Reply::empty(500),
    });
    let ws = Workspace::new();
    ws.write(
        "api.yaml",
        r#"openapi: 3.0.3
info: { title: pets, version: "1" }
paths:
  /pets:
    get:
      operationId: "list<img src=x onerror=alert(1)>"
      responses:
        "200": { description: ok, content: { application/json: { schema: { type: array } } } }
        default: { description: error }
  /pets/{id}:
    get:
      responses:
        "200": { description: ok }
        "404": { description: missing }
    delete:
      responses:
        "204": { description: gone }
"#,
    );
    ws.write(
        "pets.yaml",
        "name: pets\nsteps:\n  - request: { url: /pets }\n  - request: { url: /pets/1 }\n    expect: { status: 404 }\n",
    );
    let out = ws
        .runner()
        .args([
            "pets.yaml",
            "--base-url",
            &server.base_url(),
            "--openapi",
            "api.yaml",
            "--openapi-coverage",
            "--report-html",
            "report.html",
        ])
        .run();
    out.expect_code(0);
    let seen = load(&browser, &ws.path("report.html"), None);
    let dom = &seen.dom;
    let start = dom
        .find("<section id=\"openapi-coverage\">")
        .unwrap_or_else(|| panic!("no coverage section:\n{dom}"));
    let end = dom[start..].find("</section>").expect("section end") + start;
    let section = &dom[start..end];
    assert!(
        section
            .contains("<code>api.yaml</code>: 2 of 3 operations, 2 of 5 documented responses</h3>"),
        "{section}"
    );
    for want in [
        // Exercised 200, not the default; the operationId as text.
        "<tr class=\"cov-some\"><td class=\"op\">GET /pets <small>list&lt;img src=x onerror=alert(1)&gt;</small></td>\
         <td class=\"hit\"><span class=\"st\">200</span></td><td class=\"miss\"><span class=\"st\">default</span></td></tr>",
        "<tr class=\"cov-some\"><td class=\"op\">GET /pets/{id}</td>\
         <td class=\"hit\"><span class=\"st\">404</span></td><td class=\"miss\"><span class=\"st\">200</span></td></tr>",
        // Never called: nothing exercised.
        "<tr class=\"cov-none\"><td class=\"op\">DELETE /pets/{id}</td>\
         <td class=\"hit\"><span class=\"none\">none</span></td><td class=\"miss\"><span class=\"st\">204</span></td></tr>",
    ] {
        assert!(section.contains(want), "no `{want}` in\n{section}");
    }
    assert_eq!(count(dom, "<img"), 0, "{dom}");
    // The page's script still ran under the policy (the style sheet's hash moved).
    assert!(dom.contains("data-ready-ms=\""), "{dom}");
}
