//! Mock configuration: the in-process [`MockConfig`] and the `runner mock` flags ([`MockArgs`]).

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use super::auth::parse_key;

/// Which plan the default organization is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Plan {
    /// A plan whose features include `api_access` (what every working partner has).
    Pro,
    /// No plan row with `api_access`: every `/v1` call answers `402 PAYMENT_REQUIRED`.
    None,
}

/// Rate-limit tier of the organization (per-minute budgets per endpoint class).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Tier {
    /// Self-serve default: 120 read-light, 60 write-light, 20 long-running per minute.
    Standard,
    /// 1,200 / 600 / 60 per minute.
    Pilot,
    /// 6,000 / 3,000 / 300 per minute.
    Partner,
    /// No rate limiting at all (not a real tier; handy for load tests).
    Unlimited,
}

impl Tier {
    /// The name whoami reports in `rateLimitTier`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Standard => "standard",
            Tier::Pilot => "pilot",
            Tier::Partner => "partner",
            Tier::Unlimited => "unlimited",
        }
    }
}

/// Everything that shapes one mock instance. `Default` is a healthy partner org.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// Plan of the default org; [`Plan::None`] turns on the plan gate's 402s.
    pub plan: Plan,
    /// Rate-limit tier of the default org.
    pub tier: Tier,
    /// Credits in the org wallet at start and after `/_mock/reset`.
    pub initial_credits: i64,
    /// How long a job stays `running` before it finishes.
    pub job_duration: Duration,
    /// When after the 202 a job's outbound work (scrape, agent run) starts.
    pub scrape_after: Duration,
    /// Share of jobs (0.0–1.0) that end `failed` instead of `completed`.
    pub job_fail_rate: f64,
    /// When set, only these exact keys authenticate; otherwise any well-formed key does.
    pub keys: Option<HashSet<String>>,
    /// Extra latency added to every `/v1` request.
    pub latency: Duration,
    /// Share of `/v1` requests (0.0–1.0) answered with `500 INTERNAL`.
    pub fail_rate: f64,
    /// Injected 429 bursts (see [`Throttle`]); off when `requests` is 0.
    pub throttle: Throttle,
    /// Share of `/v1` requests (0.0–1.0) whose connection is dropped without a complete response.
    pub drop_rate: f64,
    /// Seed for reproducible ids and fault decisions; `None` draws from the OS.
    pub seed: Option<u64>,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            plan: Plan::Pro,
            tier: Tier::Partner,
            initial_credits: 6000,
            job_duration: Duration::from_secs(5),
            scrape_after: Duration::from_secs(1),
            job_fail_rate: 0.0,
            keys: None,
            latency: Duration::ZERO,
            fail_rate: 0.0,
            throttle: Throttle::default(),
            drop_rate: 0.0,
            seed: None,
        }
    }
}

/// Flags of `runner mock` (also usable to configure the in-process mock).
#[derive(Debug, Clone, clap::Args)]
pub struct MockArgs {
    /// Port to listen on; 0 picks a free port (the chosen one is printed).
    #[arg(long, default_value_t = 4010)]
    pub port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Plan of the default org: `pro` has `api_access`; `none` makes every /v1 call answer 402.
    #[arg(long, value_enum, default_value = "pro")]
    pub plan: Plan,
    /// Rate-limit tier (per minute, read/write/long-running): standard 120/60/20,
    /// pilot 1200/600/60, partner 6000/3000/300, unlimited.
    #[arg(long, value_enum, default_value = "partner")]
    pub tier: Tier,
    /// Credits in the org wallet at start.
    #[arg(long, default_value_t = 6000)]
    pub credits: i64,
    /// How long a job runs before it finishes (e.g. `5s`, `250ms`; durations always need a
    /// unit, ms, s, m or h, as in scenario files).
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub job_duration: Duration,
    /// When a job's outbound scrape / agent run starts after the 202; a cancel before
    /// then prevents it.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub scrape_after: Duration,
    /// Share of jobs (0.0–1.0) that end `failed`.
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    pub job_fail_rate: f64,
    /// File with one API key per line (`#` starts a comment); only these keys authenticate.
    /// Without it any well-formed key authenticates into the default org.
    #[arg(long)]
    pub keys: Option<PathBuf>,
    /// Fault: latency added to every /v1 request (e.g. `100ms`).
    #[arg(long, default_value = "0ms", value_parser = parse_duration)]
    pub latency: Duration,
    /// Fault: share of /v1 requests (0.0–1.0) answered `500 INTERNAL`.
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    pub fail_rate: f64,
    /// Fault: 429 bursts, `N` or `N/PERIOD` (e.g. `5/10s`): the first N /v1 requests
    /// (after start, after POST /_mock/reset, and with a period at the start of every
    /// period) answer `429 RATE_LIMITED` with `Retry-After: 1`, whatever the tier.
    #[arg(long, default_value = "0", value_parser = parse_throttle)]
    pub throttle: Throttle,
    /// Fault: share of /v1 requests (0.0–1.0) whose connection is cut before a full response.
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    pub drop_rate: f64,
    /// Seed for reproducible ids (and fault decisions).
    #[arg(long)]
    pub seed: Option<u64>,
}

impl Default for MockArgs {
    fn default() -> Self {
        let config = MockConfig::default();
        MockArgs {
            port: 4010,
            host: IpAddr::from([127, 0, 0, 1]),
            plan: config.plan,
            tier: config.tier,
            credits: config.initial_credits,
            job_duration: config.job_duration,
            scrape_after: config.scrape_after,
            job_fail_rate: config.job_fail_rate,
            keys: None,
            latency: config.latency,
            fail_rate: config.fail_rate,
            throttle: config.throttle,
            drop_rate: config.drop_rate,
            seed: config.seed,
        }
    }
}

impl MockArgs {
    /// Builds the config, reading `--keys FILE` if given.
    pub fn to_config(&self) -> Result<MockConfig, String> {
        let keys = match &self.keys {
            None => None,
            Some(path) => {
                let text = read_keys_file(path)
                    .map_err(|e| format!("cannot read keys file {}: {e}", path.display()))?;
                Some(parse_keys_file(&text).map_err(|e| format!("{}: {e}", path.display()))?)
            }
        };
        Ok(MockConfig {
            plan: self.plan,
            tier: self.tier,
            initial_credits: self.credits,
            job_duration: self.job_duration,
            scrape_after: self.scrape_after,
            job_fail_rate: self.job_fail_rate,
            keys,
            latency: self.latency,
            fail_rate: self.fail_rate,
            throttle: self.throttle,
            drop_rate: self.drop_rate,
            seed: self.seed,
        })
    }

    /// The address to bind.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }
}

/// Injected 429 bursts: the first `requests` /v1 requests of each burst window are throttled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Throttle {
    /// Requests throttled per burst; 0 disables throttling.
    pub requests: u64,
    /// Burst window; `None` means one burst after start (and after each reset).
    pub every: Option<Duration>,
}

impl Throttle {
    /// One burst of `requests` at start.
    pub fn once(requests: u64) -> Throttle {
        Throttle {
            requests,
            every: None,
        }
    }
}

/// Parses `N` or `N/PERIOD` (`5/10s`: five 429s at the start of every 10 seconds).
pub fn parse_throttle(text: &str) -> Result<Throttle, String> {
    let (count, every) = match text.split_once('/') {
        Some((count, every)) => (count, Some(parse_duration(every)?)),
        None => (text, None),
    };
    let requests = count
        .trim()
        .parse()
        .map_err(|_| format!("invalid throttle {text:?} (expected N or N/PERIOD, e.g. 5/10s)"))?;
    if every.is_some_and(|e| e.is_zero()) {
        return Err(format!("throttle period in {text:?} must be positive"));
    }
    Ok(Throttle { requests, every })
}

/// Parses a keys file: one key per line, blank lines and `#` comments ignored.
/// Every key must be well-formed, so a typo fails loudly instead of locking everyone out.
/// A keys file larger than this is refused: a key is under 100 bytes, so this is
/// tens of thousands of keys.
pub const MAX_KEYS_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// The text of a keys file: a regular file of at most [`MAX_KEYS_FILE_BYTES`]
/// (`/dev/zero` or a FIFO was read forever).
fn read_keys_file(path: &std::path::Path) -> Result<String, String> {
    use std::io::Read as _;
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("it is not a regular file".into());
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .map_err(|e| e.to_string())?
        .take(MAX_KEYS_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    if text.len() as u64 > MAX_KEYS_FILE_BYTES {
        return Err(format!(
            "it is over the {} MB limit",
            MAX_KEYS_FILE_BYTES >> 20
        ));
    }
    Ok(text)
}

pub fn parse_keys_file(text: &str) -> Result<HashSet<String>, String> {
    let mut keys = HashSet::new();
    for (n, line) in text.lines().enumerate() {
        let key = line.split('#').next().unwrap_or("").trim();
        if key.is_empty() {
            continue;
        }
        if parse_key(key).is_none() {
            return Err(format!(
                "line {}: not a well-formed key (lp_<live|test>_<16>_<43>)",
                n + 1
            ));
        }
        keys.insert(key.to_string());
    }
    Ok(keys)
}

/// Parses a duration flag: the grammar of the scenario files (`250ms`, `2s`, `1.5m`, `1h`;
/// a bare number is refused), from the `duration-text` crate.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    duration_text::parse(text).map_err(|e| format!("{e} ({})", duration_text::HINT))
}

/// Parses a probability between 0.0 and 1.0.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("invalid rate {text:?} (expected 0.0–1.0)"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("rate {text:?} is outside 0.0–1.0"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        // The file format's grammar: a bare number has no unit, and a huge value is an
        // error rather than a panic.
        assert!(parse_duration("3").is_err());
        assert!(parse_duration("99999999999999999999s").is_err());
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("2d").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn throttles() {
        assert_eq!(parse_throttle("3"), Ok(Throttle::once(3)));
        assert_eq!(
            parse_throttle("5/10s"),
            Ok(Throttle {
                requests: 5,
                every: Some(Duration::from_secs(10))
            })
        );
        assert!(parse_throttle("x/1s").is_err());
        assert!(parse_throttle("1/0s").is_err());
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("0.25"), Ok(0.25));
        assert!(parse_rate("1.5").is_err());
        assert!(parse_rate("-0.1").is_err());
    }

    #[test]
    fn keys_file() {
        let text = format!("# team keys\n\n{}  # demo\n", super::super::DEMO_KEY);
        let keys = parse_keys_file(&text).unwrap();
        assert!(keys.contains(super::super::DEMO_KEY));
        assert!(parse_keys_file("lp_live_short_x").is_err());
    }
}
