//! `runner import openapi` and the contract check against a server the runner was
//! not written with: Stoplight Prism (npm `@stoplight/prism-cli`), mocking the
//! Petstore document of tests/data/import/ on 127.0.0.1 from its examples and
//! schemas. The imported files run green against it with `--openapi`; checked
//! against a document that Prism does not follow, the same run fails.
//!
//! Needs Prism: `npm install -g @stoplight/prism-cli` (`.ci/run` installs a pinned
//! version under `~/.cache/runner-ci/prism` and puts it on PATH).

#[path = "support/external_server.rs"]
mod external_server;
#[path = "support/runner_cli.rs"]
mod runner_cli;

use external_server::{External, free_port};

use std::path::{Path, PathBuf};
use std::process::Command;

use runner_cli::{Output, Workspace};

const INSTALL: &str = "npm install -g @stoplight/prism-cli@5.14.2";

/// The Petstore document, as the import tests use it.
fn petstore() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/import/petstore.yaml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// `prism` on PATH, else where `.ci/run` installs it.
fn prism_binary() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let cached = std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".cache/runner-ci/prism/node_modules/.bin"));
    for dir in std::env::split_paths(&path).chain(cached) {
        let candidate = dir.join("prism");
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "Stoplight Prism is missing (no `prism` on PATH nor in ~/.cache/runner-ci/prism); install it with\n\n    {INSTALL}\n"
    );
}

/// `prism mock` serving one document.
fn start_prism(document: &Path) -> External {
    let port = free_port();
    let mut cmd = Command::new(prism_binary());
    cmd.args(["mock", "--host", "127.0.0.1", "--port"])
        .arg(port.to_string())
        .arg(document);
    External::start("prism", INSTALL, cmd, port, "/pets?limit=1")
}

/// A workspace with the Petstore imported from `specs/petstore.yaml` into `out/`.
fn imported() -> Workspace {
    let ws = Workspace::new();
    let spec = ws.write("specs/petstore.yaml", &petstore());
    let out = ws
        .runner()
        .arg("import")
        .arg("openapi")
        .arg(&spec)
        .arg("-o")
        .arg(ws.path("out"))
        .run();
    assert_eq!(out.code, Some(0), "{}", out.all());
    let v = ws.runner().arg("validate").arg(ws.path("out")).run();
    assert_eq!(v.code, Some(0), "{}", v.all());
    ws
}

/// The imported files against `prism`, each response checked against
/// `specs/petstore.yaml` (the steps' `expect.openapi`, and `--openapi`).
fn run(ws: &Workspace, prism: &External) -> Output {
    ws.runner()
        .arg(ws.path("out"))
        .arg("--base-url")
        .arg(prism.base_url())
        .arg("--openapi")
        .arg(ws.path("specs/petstore.yaml"))
        .arg("--openapi-coverage")
        .arg("--retries")
        .arg("0")
        .run()
}

#[test]
fn the_imported_petstore_runs_green_against_prism() {
    let ws = imported();
    let prism = start_prism(&ws.path("specs/petstore.yaml"));
    let out = run(&ws, &prism);
    assert_eq!(out.code, Some(0), "{}", out.all());
    for name in ["listPets", "createPets", "showPetById"] {
        assert!(
            out.stdout.contains(&format!("PASS  {name}")),
            "{name}: {}",
            out.all()
        );
    }
    assert!(
        out.stdout
            .contains("3 of 3 operations, 3 of 6 documented responses"),
        "{}",
        out.stdout
    );
}

/// Prism answers by the document it serves; the runner checks against another one
/// (a property Prism never sends made required, a header's type changed): the
/// responses break it, and the run says where.
#[test]
fn a_document_prism_does_not_follow_fails_the_run() {
    // (what changes in the checked document, what fails, what still passes)
    let cases: [(&str, &str, &[&str], &[&str]); 2] = [
        (
            "      required:\n        - id\n        - name\n",
            "      required:\n        - id\n        - name\n        - owner\n",
            &[
                "\"owner\" is a required property",
                "FAIL  listPets",
                "FAIL  showPetById",
            ],
            &["PASS  createPets"],
        ),
        (
            "              required: true\n              schema:\n                type: string\n",
            "              required: true\n              schema:\n                type: integer\n",
            &[
                "openapi GET /pets 200: header x-next",
                "is not of type \"integer\"",
                "FAIL  listPets",
            ],
            &["PASS  createPets", "PASS  showPetById"],
        ),
    ];
    for (from, to, fails, passes) in cases {
        let ws = imported();
        // Prism serves the document as it is...
        let served = ws.write("served/petstore.yaml", &petstore());
        let prism = start_prism(&served);
        // ...and the runner checks against the changed one.
        let original = petstore();
        assert_eq!(original.matches(from).count(), 1, "{from}");
        ws.write("specs/petstore.yaml", &original.replace(from, to));
        let out = run(&ws, &prism);
        assert_eq!(out.code, Some(1), "{to}: {}", out.all());
        for want in fails.iter().chain(passes) {
            assert!(
                out.all().contains(want),
                "{to}: no `{want}` in\n{}",
                out.all()
            );
        }
    }
}
