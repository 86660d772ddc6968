//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use super::vars::Variables;
use crate::report::junit::Granularity;
use crate::scenario::values::parse_duration;
use layers_mock::MockArgs;

/// Run YAML API scenarios against a base URL or the embedded Layers mock, and report to CI.
#[derive(Debug, Parser)]
#[command(name = "runner", version, about, long_about = None)]
#[command(
    after_help = "`runner PATHS...` is short for `runner run PATHS...`.\nExit codes: 0 passed, 1 failed, 2 bad input (nothing sent), 3 report or budget problem, 130/143 interrupted."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run scenarios (the default command).
    Run(Box<RunArgs>),
    /// Check scenario files without sending anything.
    Validate(ValidateArgs),
    /// Print the scenarios a run would execute (after filters and sharding).
    List(ListArgs),
    /// Serve the Layers API mock until Ctrl-C.
    Mock(MockArgs),
    /// Print the JSON Schema of scenario files (for editors and CI checks).
    Schema,
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff, for `man`).
    Man,
    /// Write scenario files from curl commands, a HAR file, a Postman collection or an OpenAPI document.
    Import(crate::import::ImportArgs),
}

/// Which scenarios to take, as flags: `Selection` (in select.rs) is what they mean.
#[derive(Debug, Args, Clone, Default)]
pub struct SelectionArgs {
    /// Only scenarios with this tag (repeatable: any of them).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Leave out scenarios with this tag (repeatable).
    #[arg(long = "skip-tag", value_name = "TAG")]
    pub skip_tags: Vec<String>,
    /// Only scenarios whose name or file contains TEXT.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// Run a stable share K of N of the scenarios (e.g. 2/3), for splitting a suite across CI machines.
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<(usize, usize)>,
    /// Balance the shards by the durations in a previous run's JSON report
    /// (--report-json), or in every *.json report of a folder: longest first, each to
    /// the shard with the least work so far. Repeatable. Scenarios they do not know
    /// are dealt as without it. Give every shard the same files.
    #[arg(long = "shard-timings", value_name = "FILE", requires = "shard", value_parser = crate::select::Timings::read)]
    pub shard_timings: Vec<crate::select::Timings>,
}

impl From<&SelectionArgs> for crate::select::Selection {
    fn from(a: &SelectionArgs) -> Self {
        crate::select::Selection {
            tags: a.tags.clone(),
            skip_tags: a.skip_tags.clone(),
            filter: a.filter.clone(),
            shard: a.shard,
            shard_timings: a.shard_timings.clone(),
        }
    }
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Scenario files or folders (every *.yaml / *.yml below).
    #[arg(required = true, value_name = "PATHS")]
    pub paths: Vec<PathBuf>,
    /// Variables given on the command line count as defined.
    #[command(flatten)]
    pub variables: Variables,
    /// More costly endpoints (your own APIs), on top of the built-in Layers catalog. Repeatable.
    #[arg(long = "cost-catalog", value_name = "FILE")]
    pub cost_catalogs: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Scenario files or folders (every *.yaml / *.yml below).
    #[arg(required = true, value_name = "PATHS")]
    pub paths: Vec<PathBuf>,
    /// Variables given on the command line count as defined (as for `run`).
    #[command(flatten)]
    pub variables: Variables,
    #[command(flatten)]
    pub selection: SelectionArgs,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario files or folders (every *.yaml / *.yml below, in sorted order).
    #[arg(required = true, value_name = "PATHS")]
    pub paths: Vec<PathBuf>,
    /// The server to test. Without it (and without RUNNER_BASE_URL or a file's base_url)
    /// the embedded Layers mock is started on 127.0.0.1 for the run.
    #[arg(long, env = "RUNNER_BASE_URL", value_name = "URL")]
    pub base_url: Option<String>,
    /// Write a JUnit XML report here.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// One JUnit testcase per scenario, or per step.
    #[arg(long, value_enum, default_value = "scenario")]
    pub junit_granularity: Granularity,
    /// Write a JSON report of the whole run here.
    #[arg(long, value_name = "FILE")]
    pub report_json: Option<PathBuf>,
    /// Write a self-contained HTML report here: a folder (gets index.html) or an .html file.
    #[arg(long, value_name = "DIR|FILE")]
    pub report_html: Option<PathBuf>,
    /// How many scenarios run at once.
    #[arg(long, short = 'j', default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub jobs: u32,
    /// At most this many requests per second to each host (e.g. 20, or 0.5 for one
    /// every two seconds), retries and polls included: for a shared staging server's
    /// rate limit.
    #[arg(long, value_name = "N", value_parser = parse_rps)]
    pub max_rps: Option<f64>,
    #[command(flatten)]
    pub variables: Variables,
    /// Treat this variable (or environment variable) as a secret: masked in every output. Repeatable.
    #[arg(long = "secret", value_name = "NAME")]
    pub secrets: Vec<String>,
    /// Time limit of each request when a step sets none.
    #[arg(long, default_value = "30s", value_parser = parse_time_limit, value_name = "DURATION")]
    pub timeout: std::time::Duration,
    /// Transport retries (connection errors, 5xx, 429) for idempotent requests and
    /// writes with an Idempotency-Key, when a step or file sets none.
    #[arg(long, default_value_t = 2)]
    pub retries: u32,
    /// Follow redirects in steps whose file and request do not say
    /// (`follow_redirects:`); each hop is still reported and checked on its own.
    #[arg(long, short = 'L')]
    pub follow_redirects: bool,
    /// Response bodies are kept up to this many bytes (e.g. 8MB); the rest is cut.
    #[arg(long, default_value = "8MB", value_parser = parse_size, value_name = "SIZE")]
    pub max_body: usize,
    /// The most text the run's templates may render in all (e.g. 1GB); a step whose
    /// template would render past it errors.
    #[arg(long, default_value = "1GB", value_parser = parse_size, value_name = "SIZE")]
    pub max_rendered: usize,
    /// After Ctrl-C or SIGTERM, how long `finally` steps may take.
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    pub grace: std::time::Duration,
    /// Print each request and response (-v: lines and headers, -vv: bodies too).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Print only failures and the summary.
    #[arg(short, long)]
    pub quiet: bool,
    /// Accept any TLS certificate (a test server's self-signed one). A warning says so;
    /// never use it against a production API.
    #[arg(long, short = 'k')]
    pub insecure: bool,
    /// Also trust the CA certificates of this PEM file (a company or staging CA), on
    /// top of the system's. Repeatable.
    #[arg(long = "cacert", value_name = "FILE")]
    pub ca_certs: Vec<std::path::PathBuf>,
    /// After the first scenario that fails, start no new one (those running finish,
    /// `finally` included); the rest are reported as skipped.
    #[arg(long)]
    pub fail_fast: bool,
    /// Render and print every request without sending anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Run a scenario that failed again from its first step (its `finally` steps each
    /// time), up to N more times; one that passes on a later attempt is reported flaky.
    /// A scenario's own `scenario_retries:` wins. (`--retries` is for single requests.)
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub scenario_retries: u32,
    /// Fail the run (exit 1) when a scenario passed only after a retry (flaky).
    #[arg(long)]
    pub flaky_fails: bool,
    /// Run only the scenarios that failed or errored in a previous run, read from its
    /// JSON report: `--rerun-failed=FILE`, or `--rerun-failed` alone for the file of
    /// `--report-json`.
    #[arg(long, value_name = "FILE", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    pub rerun_failed: Option<String>,
    /// Fail the run when the embedded mock's ledger shows more credits spent than this.
    #[arg(long, value_name = "N")]
    pub max_credits: Option<u64>,
    /// More costly endpoints (your own APIs), on top of the built-in Layers catalog. Repeatable.
    #[arg(long = "cost-catalog", value_name = "FILE")]
    pub cost_catalogs: Vec<PathBuf>,
    /// Check every response against this OpenAPI document (a step opts out with
    /// `expect: { openapi: false }`).
    #[arg(long, value_name = "SPEC")]
    pub openapi: Option<PathBuf>,
    /// After the run, print which OpenAPI operations and documented statuses it exercised.
    #[arg(long)]
    pub openapi_coverage: bool,
    #[command(flatten)]
    pub selection: SelectionArgs,
}

/// A duration that is a time limit: zero, in whatever unit, would let nothing through.
fn parse_time_limit(s: &str) -> Result<std::time::Duration, String> {
    let d = parse_duration(s)?;
    if d.is_zero() {
        return Err(format!(
            "`{s}` lets no request through: give a time limit above zero, e.g. 30s"
        ));
    }
    Ok(d)
}

fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let (k, n) = s
        .split_once('/')
        .ok_or("write the shard as K/N, e.g. 1/3")?;
    let k: usize = k
        .trim()
        .parse()
        .map_err(|_| format!("`{k}` is not a number"))?;
    let n: usize = n
        .trim()
        .parse()
        .map_err(|_| format!("`{n}` is not a number"))?;
    if n == 0 || k == 0 || k > n {
        return Err(format!("shard {k}/{n}: K must be between 1 and N"));
    }
    Ok((k, n))
}

fn parse_rps(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 => Ok(n),
        _ => Err(format!(
            "`{s}` is not a rate: write requests per second above 0, e.g. 20 or 0.5"
        )),
    }
}

pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size like 8MB"))?;
    let factor = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "KB" | "K" => 1024,
        "MB" | "M" => 1024 * 1024,
        "GB" | "G" => 1024 * 1024 * 1024,
        other => return Err(format!("unknown size unit `{other}` (B, KB, MB, GB)")),
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("`{s}` is too large"))
}

/// `runner PATHS` means `runner run PATHS`.
pub fn with_default_command(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    const KNOWN: [&str; 13] = [
        "run",
        "import",
        "validate",
        "list",
        "mock",
        "schema",
        "completions",
        "man",
        "help",
        "-h",
        "--help",
        "-V",
        "--version",
    ];
    let first = args.get(1).map(|a| a.to_string_lossy().to_string());
    match first {
        Some(f) if KNOWN.contains(&f.as_str()) => {}
        // `runner valdate x.yaml`: clap says the subcommand is unknown and names the
        // one meant, rather than a run that looks for a file called `valdate`.
        Some(f) if looks_like_a_misspelt_subcommand(&f, &KNOWN) => {}
        Some(_) => args.insert(1, "run".into()),
        None => {}
    }
    args
}

/// A word that is no path on disk, has nothing of a path about it, and is a letter
/// or two away from a subcommand.
fn looks_like_a_misspelt_subcommand(word: &str, known: &[&str]) -> bool {
    if word.starts_with('-')
        || word.contains(['/', '\\', '.'])
        || std::path::Path::new(word).exists()
    {
        return false;
    }
    known
        .iter()
        .filter(|k| !k.starts_with('-'))
        .any(|k| strsim::damerau_levenshtein(word, k) <= 2 || strsim::jaro_winkler(word, k) > 0.85)
}
