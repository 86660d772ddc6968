//! curl command lines, as people paste them from tickets and browsers ("Copy as
//! cURL"): quoted, continued over lines with `\`, several in a file.

use std::path::Path;

use super::yaml::Y;
use super::{BodyOut, Ctx, FileOut, PartOut, ScenarioOut, StepOut, query_entries, split_origin};

/// Options that take no value and change nothing a scenario can say.
const IGNORED_FLAGS: &[&str] = &[
    "-s",
    "--silent",
    "-S",
    "--show-error",
    "-v",
    "--verbose",
    "-i",
    "--include",
    "-f",
    "--fail",
    "--fail-with-body",
    "-#",
    "--progress-bar",
    "--no-progress-meter",
    "-N",
    "--no-buffer",
    "--http1.1",
    "--http2",
    "--globoff",
    "-g",
    "--compressed",
    "-L",
    "--location",
    "-k",
    "--insecure",
    "-4",
    "-6",
    "--ipv4",
    "--ipv6",
    "-n",
    "--netrc",
];

/// Options that take a value and change nothing a scenario can say (output files,
/// write-out formats).
const IGNORED_WITH_VALUE: &[&str] = &[
    "-o",
    "--output",
    "-w",
    "--write-out",
    "--connect-timeout",
    "--retry",
    "-D",
    "--dump-header",
    "--trace",
    "--trace-ascii",
    "--stderr",
    "--retry-delay",
    "--retry-max-time",
];

/// Import every source: a file of commands, or a command given as text.
pub fn import(sources: &[String], ctx: &mut Ctx) -> Result<Vec<FileOut>, String> {
    let mut files = Vec::new();
    for src in sources {
        let path = Path::new(src);
        let (text, title) = if path.is_file() {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_else(|| "curl".into());
            (super::read_source(path)?, stem)
        } else if src.trim_start().starts_with("curl") {
            (src.clone(), "curl".to_string())
        } else {
            return Err(format!(
                "`{src}` is neither a file nor a curl command (a command starts with `curl`)"
            ));
        };
        files.push(import_text(&text, &title, ctx)?);
    }
    Ok(files)
}

/// One scenario of every command of `text`, in order.
pub fn import_text(text: &str, title: &str, ctx: &mut Ctx) -> Result<FileOut, String> {
    let mut steps = Vec::new();
    let mut base: Option<String> = None;
    let mut insecure = false;
    for (line, cmd) in commands(text) {
        let at = format!("{title}:{line}");
        let words = shell_words::split(&cmd)
            .map_err(|e| format!("{at}: cannot split the command into words: {e}"))?;
        let parsed = parse(&words, &at, ctx)?;
        insecure |= parsed.insecure;
        let mut step = parsed.step;
        let files: Vec<String> = match &step.body {
            BodyOut::File(f) => vec![f.clone()],
            BodyOut::Multipart(parts) => parts
                .iter()
                .filter_map(|(_, p)| match p {
                    PartOut::File { path, .. } => Some(path.clone()),
                    PartOut::Text(_) => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        for f in files {
            ctx.note(
                &at,
                format!("reads the file `{f}`: put it there, relative to the scenario file"),
            );
        }
        if let Some((origin, path)) = split_origin(&step.url) {
            let b = base.get_or_insert_with(|| origin.clone());
            if *b == origin {
                step.url = path;
            }
        }
        let (path, pairs) = super::split_query(&step.url);
        if !pairs.is_empty() {
            step.url = path;
            let mut q = query_entries(&pairs, ctx, &at);
            q.extend(std::mem::take(&mut step.query));
            step.query = q;
        }
        steps.push(step);
    }
    if insecure {
        ctx.note(
            title,
            "-k/--insecure: pass `--insecure` to `runner run` for a server with a self-signed certificate",
        );
    }
    Ok(FileOut {
        name: format!("{}.yaml", super::slug(title)),
        comments: vec![format!(
            "Imported from curl commands ({title}) by `runner import curl`."
        )],
        base_url: base,
        scenarios: vec![ScenarioOut {
            name: title.to_string(),
            steps,
            ..ScenarioOut::default()
        }],
        ..FileOut::default()
    })
}

/// Each command with the line it starts on: continuation lines joined, comment
/// and blank lines skipped; a command starts at a line beginning with `curl`.
fn commands(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut current: Option<(usize, String)> = None;
    let mut continued = false;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        let starts =
            trimmed.starts_with("curl ") || trimmed == "curl" || trimmed.starts_with("$ curl ");
        if !continued && (starts || current.is_none()) {
            if let Some(c) = current.take() {
                out.push(c);
            }
            if trimmed.is_empty() || trimmed.starts_with('#') || !starts {
                continued = false;
                continue;
            }
            current = Some((i + 1, String::new()));
        }
        let (body, cont) = match line.strip_suffix('\\') {
            Some(b) => (b, true),
            None => (line, false),
        };
        if let Some((_, c)) = current.as_mut() {
            c.push_str(body.trim_start_matches("$ "));
            c.push(' ');
        }
        continued = cont;
    }
    if let Some(c) = current {
        out.push(c);
    }
    out
}

struct Parsed {
    step: StepOut,
    insecure: bool,
}

/// The request of one command.
fn parse(words: &[String], at: &str, ctx: &mut Ctx) -> Result<Parsed, String> {
    let mut method: Option<String> = None;
    let mut url: Option<String> = None;
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut data: Vec<String> = Vec::new();
    let mut json_data: Vec<String> = Vec::new();
    let mut form: Vec<String> = Vec::new();
    let mut user: Option<String> = None;
    let mut cookie: Option<String> = None;
    let mut get = false;
    let mut head = false;
    let mut insecure = false;
    let mut timeout: Option<String> = None;
    let mut comments = Vec::new();
    let mut binary_file = false;

    // Expand `-sSL` into `-s -S -L`, `-XPOST` into `-X POST`.
    let mut args: Vec<String> = Vec::new();
    for w in words.iter().skip(1) {
        if w.starts_with('-') && !w.starts_with("--") && w.len() > 2 {
            let flag = &w[..2];
            if takes_value(flag) {
                args.push(flag.to_string());
                args.push(w[2..].to_string());
            } else {
                args.extend(w[1..].chars().map(|c| format!("-{c}")));
            }
        } else {
            args.push(w.clone());
        }
    }
    if words.first().map(String::as_str) != Some("curl") {
        return Err(format!("{at}: the command does not start with `curl`"));
    }
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| -> Result<String, String> {
            it.next()
                .ok_or_else(|| format!("{at}: `{name}` needs a value"))
        };
        match a.as_str() {
            "-X" | "--request" => method = Some(value(&a)?.to_ascii_uppercase()),
            "-H" | "--header" => {
                let h = value(&a)?;
                match h.split_once(':') {
                    Some((n, v)) => headers.push((n.trim().to_string(), v.trim().to_string())),
                    None => ctx.note(at, format!("header `{h}` has no `:`; left out")),
                }
            }
            "-d" | "--data" | "--data-ascii" | "--data-raw" => data.push(value(&a)?),
            "--data-binary" => {
                let v = value(&a)?;
                binary_file |= v.starts_with('@');
                data.push(v);
            }
            "--data-urlencode" => {
                let v = value(&a)?;
                let encoded = match v.split_once('=') {
                    Some((name, val)) => format!("{name}={}", urlencode(val)),
                    None => urlencode(&v),
                };
                data.push(encoded);
            }
            "--json" => json_data.push(value(&a)?),
            "-F" | "--form" | "--form-string" => form.push(value(&a)?),
            "-u" | "--user" => user = Some(value(&a)?),
            "--oauth2-bearer" => {
                let t = value(&a)?;
                headers.push(("Authorization".into(), format!("Bearer {t}")));
            }
            "-b" | "--cookie" => cookie = Some(value(&a)?),
            "-A" | "--user-agent" => headers.push(("User-Agent".into(), value(&a)?)),
            "-e" | "--referer" => headers.push(("Referer".into(), value(&a)?)),
            "-G" | "--get" => get = true,
            "-I" | "--head" => head = true,
            "-k" | "--insecure" => insecure = true,
            "-m" | "--max-time" => {
                let v = value(&a)?;
                timeout = Some(match v.parse::<f64>() {
                    Ok(s) if s.fract() == 0.0 => format!("{}s", s as u64),
                    Ok(s) => format!("{}ms", (s * 1000.0).round() as u64),
                    Err(_) => {
                        ctx.note(at, format!("--max-time `{v}` is not a number; left out"));
                        continue;
                    }
                });
            }
            "--url" => url = Some(value(&a)?),
            "-x" | "--proxy" => {
                let p = value(&a)?;
                ctx.note(
                    at,
                    format!("--proxy {p}: set HTTPS_PROXY / HTTP_PROXY for `runner run` instead"),
                );
            }
            "-c" | "--cookie-jar" => {
                let _ = value(&a)?;
                comments
                    .push("curl -c: the runner keeps cookies per scenario by itself".to_string());
            }
            f if IGNORED_FLAGS.contains(&f) => {}
            f if IGNORED_WITH_VALUE.contains(&f) => {
                let _ = value(&a)?;
            }
            f if f.starts_with('-') => {
                ctx.note(at, format!("curl option `{f}` is not translated"));
            }
            _ => {
                if url.is_none() {
                    url = Some(a.clone());
                } else {
                    ctx.note(at, format!("a second URL `{a}` is not translated"));
                }
            }
        }
    }
    let Some(mut url) = url else {
        return Err(format!("{at}: the command has no URL"));
    };
    if !url.contains("://") {
        url = format!("http://{url}");
    }
    let mut step = StepOut {
        comments,
        timeout,
        ..StepOut::default()
    };
    let content_type = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.to_ascii_lowercase());
    if !json_data.is_empty() {
        let text = json_data.join("");
        if !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("accept"))
        {
            headers.push(("Accept".into(), "application/json".into()));
        }
        step.body = json_body(&text, at, ctx);
        method.get_or_insert_with(|| "POST".into());
    } else if !form.is_empty() {
        let mut parts = Vec::new();
        for f in &form {
            let Some((name, v)) = f.split_once('=') else {
                ctx.note(at, format!("-F `{f}` has no `=`; left out"));
                continue;
            };
            parts.push((name.to_string(), form_part(v, at, ctx)));
        }
        step.body = BodyOut::Multipart(parts);
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case("content-type"));
        method.get_or_insert_with(|| "POST".into());
    } else if !data.is_empty() {
        if get {
            let q = data.join("&");
            url = if url.contains('?') {
                format!("{url}&{q}")
            } else {
                format!("{url}?{q}")
            };
        } else {
            step.body = data_body(&data, content_type.as_deref(), binary_file, at, ctx);
            if matches!(step.body, BodyOut::Form(_))
                && content_type.as_deref() == Some("application/x-www-form-urlencoded")
            {
                headers.retain(|(n, _)| !n.eq_ignore_ascii_case("content-type"));
            }
            method.get_or_insert_with(|| "POST".into());
        }
    }
    if let Some(u) = user {
        let (name, password) = u.split_once(':').unwrap_or((&u, ""));
        if password.is_empty() {
            ctx.note(at, format!("-u {name} without a password: curl would ask for it; set it in the environment variable below"));
        }
        let env = ctx.secret(
            &format!("{name}_password"),
            password,
            &format!("the password of -u {name} ({at})"),
        );
        let env_expr = env.trim_start_matches("{{").trim_end_matches("}}").trim();
        headers.push((
            "Authorization".into(),
            format!(
                "Basic {{{{ ('{}:' ~ {env_expr}) | b64encode }}}}",
                name.replace('\'', "\\'")
            ),
        ));
    }
    if let Some(c) = cookie {
        if c.contains('=') {
            headers.push(("Cookie".into(), c));
        } else {
            ctx.note(at, format!("-b {c}: a cookie file is not translated"));
        }
    }
    step.method = if head {
        "HEAD".into()
    } else {
        method.unwrap_or_else(|| "GET".into())
    };
    step.headers = headers
        .into_iter()
        .map(|(n, v)| {
            let v = ctx.header(&n, &v, at);
            (n, v)
        })
        .collect();
    step.url = url;
    Ok(Parsed { step, insecure })
}

fn takes_value(short: &str) -> bool {
    matches!(
        short,
        "-X" | "-H"
            | "-d"
            | "-F"
            | "-u"
            | "-b"
            | "-A"
            | "-e"
            | "-m"
            | "-x"
            | "-o"
            | "-w"
            | "-c"
            | "-D"
    )
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn json_body(text: &str, at: &str, ctx: &mut Ctx) -> BodyOut {
    if let Some(file) = text.strip_prefix('@') {
        return BodyOut::File(file.to_string());
    }
    match serde_json::from_str::<Y>(text) {
        Ok(mut y) => {
            ctx.json_body(&mut y, at);
            BodyOut::Json(y)
        }
        Err(_) => {
            ctx.note(at, "the --json data is not valid JSON; kept as a text body");
            BodyOut::Text(text.to_string())
        }
    }
}

/// `-d` data as the body the server would get: JSON when it is JSON, a form when
/// it is `a=1&b=2` sent as a form (curl's default), text otherwise.
fn data_body(
    data: &[String],
    content_type: Option<&str>,
    binary: bool,
    at: &str,
    ctx: &mut Ctx,
) -> BodyOut {
    if data.len() == 1
        && let Some(file) = data[0].strip_prefix('@')
    {
        if !binary {
            ctx.note(
                at,
                format!(
                    "-d @{file}: curl strips newlines from the file; the runner sends it as it is"
                ),
            );
        }
        return BodyOut::File(file.to_string());
    }
    let text = data.join("&");
    let is_json_type = content_type.is_some_and(|c| c.contains("json"));
    if is_json_type && let Ok(mut y) = serde_json::from_str::<Y>(&text) {
        ctx.json_body(&mut y, at);
        return BodyOut::Json(y);
    }
    let is_form_type =
        content_type.is_none_or(|c| c.starts_with("application/x-www-form-urlencoded"));
    if is_form_type && text.split('&').all(|kv| kv.contains('=')) {
        let pairs = url::form_urlencoded::parse(text.as_bytes())
            .map(|(k, v)| {
                let v = ctx.field(&k, &v, at);
                (k.into_owned(), v)
            })
            .collect();
        return BodyOut::Form(pairs);
    }
    BodyOut::Text(text)
}

/// `-F name=value`, `-F name=@file;type=image/png;filename=a.png`, `-F name=<file`.
fn form_part(v: &str, at: &str, ctx: &mut Ctx) -> PartOut {
    if let Some(rest) = v.strip_prefix('@') {
        let mut pieces = rest.split(';');
        let path = pieces.next().unwrap_or("").to_string();
        let mut filename = None;
        let mut content_type = None;
        for p in pieces {
            match p.split_once('=') {
                Some(("type", t)) => content_type = Some(t.to_string()),
                Some(("filename", f)) => filename = Some(f.trim_matches('"').to_string()),
                _ => ctx.note(at, format!("-F part option `{p}` is not translated")),
            }
        }
        return PartOut::File {
            path,
            filename,
            content_type,
        };
    }
    if let Some(file) = v.strip_prefix('<') {
        ctx.note(
            at,
            format!(
                "-F <{file}: the file's text as a field is not translated; sent as a file part"
            ),
        );
        return PartOut::File {
            path: file.to_string(),
            filename: None,
            content_type: None,
        };
    }
    PartOut::Text(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> (StepOut, Ctx, Option<String>) {
        let mut ctx = Ctx::default();
        let mut f = import_text(text, "t", &mut ctx).unwrap();
        let base = f.base_url.take();
        let step = f.scenarios.remove(0).steps.remove(0);
        (step, ctx, base)
    }

    #[test]
    fn multi_line_commands_with_quotes() {
        let (s, _, base) = one(
            "curl 'https://api.example.com/v1/items?limit=10&tag=a&tag=b' \\\n  -X PUT \\\n  -H 'Content-Type: application/json' \\\n  --data-raw '{\"name\":\"it'\\''s\",\"n\":1}'\n",
        );
        assert_eq!(base.as_deref(), Some("https://api.example.com"));
        assert_eq!(s.method, "PUT");
        assert_eq!(s.url, "/v1/items");
        assert_eq!(s.query[0], ("limit".into(), Y::str("10")));
        assert_eq!(
            s.query[1],
            ("tag".into(), Y::Seq(vec![Y::str("a"), Y::str("b")]))
        );
        match &s.body {
            BodyOut::Json(y) => assert_eq!(
                y,
                &Y::map([
                    ("name".into(), Y::str("it's")),
                    ("n".into(), Y::Num(1.into()))
                ])
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn each_flag_lands_where_it_belongs() {
        // (command, method, body kind, header that must be there)
        type Case<'a> = (&'a str, &'a str, &'a str, Option<(&'a str, &'a str)>);
        let cases: &[Case<'_>] = &[
            ("curl -d 'a=1&b=2' http://h/x", "POST", "form", None),
            ("curl --data 'plain text' http://h/x", "POST", "text", None),
            (
                "curl --data-binary @body.bin http://h/x",
                "POST",
                "file",
                None,
            ),
            (
                "curl --data-urlencode 'q=a b' http://h/x",
                "POST",
                "form",
                None,
            ),
            (
                "curl --json '{\"a\":1}' http://h/x",
                "POST",
                "json",
                Some(("Accept", "application/json")),
            ),
            (
                "curl -F 'title=x' -F 'f=@a.png;type=image/png' http://h/x",
                "POST",
                "multipart",
                None,
            ),
            ("curl -G -d 'q=1' http://h/x", "GET", "none", None),
            ("curl -I http://h/x", "HEAD", "none", None),
            ("curl -XDELETE http://h/x", "DELETE", "none", None),
            ("curl -sSL --compressed -k http://h/x", "GET", "none", None),
            (
                "curl -A 'agent/1' http://h/x",
                "GET",
                "none",
                Some(("User-Agent", "agent/1")),
            ),
            (
                "curl -u alice:pw123456 http://h/x",
                "GET",
                "none",
                Some((
                    "Authorization",
                    "Basic {{ ('alice:' ~ env.ALICE_PASSWORD) | b64encode }}",
                )),
            ),
            (
                "curl -b 'sid=abcdef123' http://h/x",
                "GET",
                "none",
                Some(("Cookie", "sid={{ env.COOKIE_SID_TOKEN }}")),
            ),
            (
                "curl -H 'X-Api-Key: k_123456789' http://h/x",
                "GET",
                "none",
                Some(("X-Api-Key", "{{ env.X_API_KEY }}")),
            ),
        ];
        for (cmd, method, kind, header) in cases {
            let (s, _, _) = one(cmd);
            assert_eq!(s.method, *method, "{cmd}");
            let got = match &s.body {
                BodyOut::None => "none",
                BodyOut::Json(_) => "json",
                BodyOut::Text(_) => "text",
                BodyOut::Form(_) => "form",
                BodyOut::Multipart(_) => "multipart",
                BodyOut::File(_) => "file",
            };
            assert_eq!(got, *kind, "{cmd}");
            if let Some((n, v)) = header {
                assert!(
                    s.headers.iter().any(|(hn, hv)| hn == n && hv == v),
                    "{cmd}: {:?}",
                    s.headers
                );
            }
        }
    }

    #[test]
    fn unknown_options_are_reported_not_dropped() {
        let (_, ctx, _) = one("curl --cert me.pem http://h/x");
        assert!(
            ctx.notes.iter().any(|(_, w)| w.contains("--cert")),
            "{:?}",
            ctx.notes
        );
    }

    #[test]
    fn several_commands_and_comments() {
        let mut ctx = Ctx::default();
        let f = import_text(
            "# log in\ncurl http://h/a\n\ncurl -X POST http://h/b \\\n  -d x=1\n# done\n",
            "t",
            &mut ctx,
        )
        .unwrap();
        let steps = &f.scenarios[0].steps;
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[1].method, "POST");
    }

    #[test]
    fn broken_quotes_are_an_error() {
        let mut ctx = Ctx::default();
        let err = import_text("curl 'http://h/a", "t", &mut ctx).unwrap_err();
        assert!(err.contains("t:1"), "{err}");
    }
}
