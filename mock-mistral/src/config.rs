//! The command line: `mock-mistral --port 8787 --rps 5 --tpm 500000 ...`.

use std::path::PathBuf;
use std::time::Duration;

pub const HELP: &str = "\
mock-mistral: an offline stand-in for Mistral's API.

  --host ADDR                 address to bind (127.0.0.1)
  --port N                    port; 0 picks a free one (8787)
  --rps N                     requests per second, 0 = no limit (0)
  --tpm N                     tokens per minute, input + output, 0 = no limit (0)
  --tokens-per-month N        tokens per month, 0 = no limit (0)
  --limit-algorithm A         sliding | bucket | fixed (sliding)
  --limit-scope S             workspace (all keys share) | key (workspace)
  --retry-after SECONDS       send Retry-After on 429s (not sent by default, as Mistral)
  --api-key KEY               accept only these keys (repeatable); default: any key
  --latency-ms A[-B]          delay before response headers, uniform in A..B ms (0)
  --stream-tokens-per-second N  generation speed for streams and replies (200)
  --seed N                    seed for generated text and jitter (1)
  --slow-ms N                 how long the `slow` fault waits before answering (3000)
  --www DIR                   serve static files from DIR outside /v1 and /__mock
";

/// How a limit is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// No window of the limit's length ever holds more than the limit.
    Sliding,
    /// A token bucket as large as the limit, refilled at the limit's rate.
    Bucket,
    /// Counters that reset at each window boundary.
    Fixed,
}

/// Who shares a budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Workspace,
    Key,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub host: String,
    pub port: u16,
    pub rps: u64,
    pub tpm: u64,
    pub tokens_per_month: u64,
    pub algorithm: Algorithm,
    pub scope: Scope,
    pub retry_after: Option<u64>,
    pub api_keys: Vec<String>,
    pub latency: (Duration, Duration),
    pub tokens_per_second: u64,
    pub seed: u64,
    pub slow: Duration,
    pub www: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: "127.0.0.1".into(),
            port: 8787,
            rps: 0,
            tpm: 0,
            tokens_per_month: 0,
            algorithm: Algorithm::Sliding,
            scope: Scope::Workspace,
            retry_after: None,
            api_keys: Vec::new(),
            latency: (Duration::ZERO, Duration::ZERO),
            tokens_per_second: 200,
            seed: 1,
            slow: Duration::from_secs(3),
            www: None,
        }
    }
}

impl Config {
    /// Parses the arguments after the program name. `Err` holds what to print.
    pub fn parse(mut args: impl Iterator<Item = String>) -> Result<Config, String> {
        let mut c = Config::default();
        while let Some(flag) = args.next() {
            if flag == "--help" || flag == "-h" {
                return Err(HELP.into());
            }
            let value = args.next().ok_or_else(|| format!("{flag} needs a value\n\n{HELP}"))?;
            let num = |v: &str| v.parse::<u64>().map_err(|_| format!("{flag}: '{v}' is not a whole number"));
            match flag.as_str() {
                "--host" => c.host = value,
                "--port" => c.port = u16::try_from(num(&value)?).map_err(|_| format!("{flag}: out of range"))?,
                "--rps" => c.rps = num(&value)?,
                "--tpm" => c.tpm = num(&value)?,
                "--tokens-per-month" => c.tokens_per_month = num(&value)?,
                "--limit-algorithm" => {
                    c.algorithm = match value.as_str() {
                        "sliding" => Algorithm::Sliding,
                        "bucket" => Algorithm::Bucket,
                        "fixed" => Algorithm::Fixed,
                        other => return Err(format!("{flag}: '{other}' is not sliding, bucket or fixed")),
                    }
                }
                "--limit-scope" => {
                    c.scope = match value.as_str() {
                        "workspace" => Scope::Workspace,
                        "key" => Scope::Key,
                        other => return Err(format!("{flag}: '{other}' is not workspace or key")),
                    }
                }
                "--retry-after" => c.retry_after = Some(num(&value)?),
                "--api-key" => c.api_keys.push(value),
                "--latency-ms" => {
                    let (a, b) = value.split_once('-').unwrap_or((&value, &value));
                    let (a, b) = (num(a)?, num(b)?);
                    if a > b {
                        return Err(format!("{flag}: {value} runs backwards"));
                    }
                    c.latency = (Duration::from_millis(a), Duration::from_millis(b));
                }
                "--stream-tokens-per-second" => {
                    c.tokens_per_second = num(&value)?;
                    if c.tokens_per_second == 0 {
                        return Err(format!("{flag} must be positive"));
                    }
                }
                "--seed" => c.seed = num(&value)?,
                "--slow-ms" => c.slow = Duration::from_millis(num(&value)?),
                "--www" => c.www = Some(PathBuf::from(value)),
                other => return Err(format!("unknown option {other}\n\n{HELP}")),
            }
        }
        Ok(c)
    }
}
