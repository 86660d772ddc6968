//! The `runner` command: parse the command line, load and check the files, run,
//! report, and turn the outcome into an exit code.

pub mod args;
mod plan;
mod run;
pub mod vars;

use std::io::Write as _;

use clap::Parser;

use crate::diagnostic::Diagnostics;
use crate::exit;
use args::{Cli, Command};

/// Run the program; returns the process exit code.
pub fn main() -> i32 {
    let argv = args::with_default_command(std::env::args_os().collect());
    let cli = match Cli::try_parse_from(argv) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    exit::OK
                }
                _ => exit::USAGE,
            };
        }
    };
    match cli.command {
        Command::Run(a) => run::run(*a),
        Command::Validate(a) => validate(a),
        Command::List(a) => list(a),
        Command::Mock(a) => mock(a),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "runner", &mut std::io::stdout().lock());
            exit::OK
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            let mut out = std::io::stdout().lock();
            match clap_mangen::Man::new(cmd).render(&mut out) {
                Ok(()) => exit::OK,
                Err(e) => {
                    eprintln!("error: cannot write the manual page: {e}");
                    exit::INTERNAL
                }
            }
        }
        Command::Import(a) => crate::import::main(a, print_diagnostics),
        Command::Schema => {
            // A closed pipe (`runner schema | head`) is not an error worth a panic.
            let _ = write!(
                std::io::stdout().lock(),
                "{}",
                crate::schema::scenario_schema_json()
            );
            exit::OK
        }
    }
}

/// Print file problems on stderr, masking the secrets of the environment.
pub fn print_diagnostics(diags: &Diagnostics) {
    let redactor = crate::secrets::Redactor::new();
    redactor.add_env_secrets();
    print_diagnostics_masked(diags, &redactor);
}

/// File problems as text with every secret masked: each quoted line whole, before
/// it is cut to fit (same width, so the caret stays under its spot), then the rest.
pub fn masked_diagnostics(diags: &Diagnostics, redactor: &crate::secrets::Redactor) -> String {
    redactor.scrub(&diags.render_with(&|line| redactor.scrub_same_width(line)))
}

/// Print file problems on stderr: the source lines they quote may hold a secret.
pub fn print_diagnostics_masked(diags: &Diagnostics, redactor: &crate::secrets::Redactor) {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{}", masked_diagnostics(diags, redactor));
    let n = diags.len();
    let _ = writeln!(
        err,
        "{n} problem{} found; nothing was sent",
        if n == 1 { "" } else { "s" }
    );
}

fn validate(a: args::ValidateArgs) -> i32 {
    let loading = match plan::loading_mode() {
        Ok(l) => l,
        Err(code) => return code,
    };
    let variables = match a.variables.resolve() {
        Ok(v) => v,
        Err(d) => {
            print_diagnostics(&d);
            return exit::USAGE;
        }
    };
    let names = vars::names(&variables);
    let catalog = match crate::safety::Catalog::load(&a.cost_catalogs) {
        Ok(c) => c,
        Err(d) => {
            print_diagnostics(&d);
            return exit::USAGE;
        }
    };
    let no_templates = crate::template::Templates::new();
    let known = crate::safety::guard::Known::of_process(
        &no_templates,
        variables.iter().map(|(k, v)| (k.clone(), v.value.clone())),
        None,
    );
    // Loaded as a run loads (on every core, lazily for a large suite), and each
    // scenario checked by the cost guard as it loads. Without a target, every
    // scenario is checked as if aimed at the live API.
    let loaded = crate::scenario::load::load_planned(&a.paths, &names, loading, |s, templates| {
        let known = known.with_templates(templates);
        plan::GuardNotes::of(s, &catalog, crate::safety::Target::Real, &known)
    });
    drop(known);
    let (suite, notes) = match loaded {
        Ok(x) => x,
        Err(d) => {
            print_diagnostics(&d);
            return exit::USAGE;
        }
    };
    let mut problems = plan::once(notes.iter().map(|n| &n.unknown_kinds));
    problems.extend(plan::once(notes.iter().map(|n| &n.refusals)));
    if !problems.is_empty() {
        // A refusal may quote a path with a `--var` rendered in: mask those named
        // like secrets, as `run` does.
        let redactor = crate::secrets::Redactor::new();
        redactor.add_env_secrets();
        vars::add_secrets(&variables, &[], &redactor);
        print_diagnostics_masked(&problems, &redactor);
        return exit::USAGE;
    }
    let files: std::collections::HashSet<_> = suite.entries().map(|s| s.file.clone()).collect();
    let _ = writeln!(
        std::io::stdout().lock(),
        "ok: {} scenario{} in {} file{}",
        suite.len(),
        if suite.len() == 1 { "" } else { "s" },
        files.len(),
        if files.len() == 1 { "" } else { "s" }
    );
    exit::OK
}

/// `runner list`: one line per scenario a run with the same flags would execute,
/// `FILE  NAME  [TAGS]`, in run order; the counts go to stderr.
fn list(a: args::ListArgs) -> i32 {
    let loading = match plan::loading_mode() {
        Ok(l) => l,
        Err(code) => return code,
    };
    let redactor = crate::secrets::Redactor::new();
    redactor.add_env_secrets();
    let names = match a.variables.resolve() {
        Ok(v) => {
            vars::add_secrets(&v, &[], &redactor);
            vars::names(&v)
        }
        Err(d) => {
            print_diagnostics(&d);
            return exit::USAGE;
        }
    };
    // Loaded as a run loads (lazily for a large suite), so that listing shows what
    // loading a run costs. A name may hold a secret (a matrix value listed under
    // `secrets:`, say): the list is an output like any other.
    let loaded = crate::scenario::load::load_planned(&a.paths, &names, loading, |s, _| {
        plan::register_literal_secret_headers(std::slice::from_ref(s), &[], &redactor)
    });
    let mut suite = match loaded {
        Ok((suite, _)) => suite,
        Err(d) => {
            print_diagnostics(&d);
            return exit::USAGE;
        }
    };
    let selection = crate::select::Selection::from(&a.selection);
    let selected = crate::select::select_suite(&mut suite, &selection);
    let mut out = std::io::stdout().lock();
    for s in suite.entries() {
        let tags = if s.tags.is_empty() {
            String::new()
        } else {
            format!("  [{}]", s.tags.join(", "))
        };
        let line = format!("{}  {}{tags}", s.file.display(), s.name);
        let _ = writeln!(out, "{}", redactor.scrub(&line));
    }
    let _ = out.flush();
    let summary = selected.describe(&selection);
    if suite.is_empty() && !selected.is_empty_shard(&selection) {
        eprintln!(
            "error: no scenario matches the selection (--tag, --skip-tag, --filter): {summary}"
        );
        return exit::USAGE;
    }
    eprintln!("{summary}");
    exit::OK
}

fn mock(a: layers_mock::MockArgs) -> i32 {
    // A keys file the user got wrong is bad input (2); everything that goes wrong
    // after it (a port in use, the server stopping) is the mock failing (3).
    let config = match a.to_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::INTERNAL;
        }
    };
    match rt.block_on(layers_mock::serve_config_foreground(a.addr(), config)) {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("error: {e}");
            exit::INTERNAL
        }
    }
}
