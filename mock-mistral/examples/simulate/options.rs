//! The simulator's command line.

use std::time::Duration;

use crate::server::RequestHeaders;

pub const HELP: &str = "\
simulate: push a workload through the limiter on a virtual clock, against a
simulated server that enforces its own (possibly different) limits.

  --requests N          requests in the workload               [200]
  --arrival-rps R       requests arriving per second; 0 = all at once  [0]
  --prompt-tokens A-B   prompt size range                      [200-3000]
  --max-tokens N        max_tokens of every request            [600]
  --rps R               requests per second the client is configured with  [5]
  --tpm N               tokens per minute the client is configured with    [200000]
  --server-rps R        the server's real request limit        [4]
  --server-tpm N        the server's real token limit          [200000]
  --server-change S:R:N from S seconds on, the server enforces R req/s and
                        N tokens/min (a tier changed; repeatable)
  --server-headers H    second: x-ratelimit-*-req-second; minute: only
                        x-ratelimit-limit-req-minute, as captures of the real
                        API show; none: no request limit      [second]
  --retry-after         the server sends Retry-After on 429s   [off]
  --latency-ms A-B      one-way network transit range          [20-120]
  --count-factor F      the server counts prompts F times what the client
                        estimates (the client learns the ratio)  [1]
  --tokens-per-second N output speed of the simulated model    [150]
  --batch-every N       every Nth request is batch priority; 0 = none  [4]
  --seed N              random seed                            [7]
  --quiet               summary only, no timeline
";

#[derive(Clone, Debug)]
pub struct Options {
    pub requests: usize,
    pub arrival_rps: f64,
    pub prompt_tokens: (u64, u64),
    pub max_tokens: u64,
    pub rps: f64,
    pub tpm: u64,
    pub server_rps: u64,
    pub server_tpm: u64,
    pub server_changes: Vec<(Duration, u64, u64)>,
    pub request_headers: RequestHeaders,
    pub retry_after: bool,
    pub latency: (Duration, Duration),
    pub count_factor: f64,
    pub tokens_per_second: u64,
    pub batch_every: usize,
    pub seed: u64,
    pub quiet: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            requests: 200,
            arrival_rps: 0.0,
            prompt_tokens: (200, 3000),
            max_tokens: 600,
            rps: 5.0,
            tpm: 200_000,
            server_rps: 4,
            server_tpm: 200_000,
            server_changes: Vec::new(),
            request_headers: RequestHeaders::Second,
            retry_after: false,
            latency: (Duration::from_millis(20), Duration::from_millis(120)),
            count_factor: 1.0,
            tokens_per_second: 150,
            batch_every: 4,
            seed: 7,
            quiet: false,
        }
    }
}

impl Options {
    /// Parses `args`; `Err` carries the message to print (help included).
    pub fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
        let mut o = Options::default();
        while let Some(flag) = args.next() {
            let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value\n\n{HELP}"));
            match flag.as_str() {
                "--requests" => o.requests = number(&flag, &value()?)?,
                "--arrival-rps" => o.arrival_rps = number(&flag, &value()?)?,
                "--prompt-tokens" => o.prompt_tokens = range(&flag, &value()?)?,
                "--max-tokens" => o.max_tokens = number(&flag, &value()?)?,
                "--rps" => o.rps = number(&flag, &value()?)?,
                "--tpm" => o.tpm = number(&flag, &value()?)?,
                "--server-rps" => o.server_rps = number(&flag, &value()?)?,
                "--server-tpm" => o.server_tpm = number(&flag, &value()?)?,
                "--server-change" => {
                    let v = value()?;
                    let parts: Vec<&str> = v.split(':').collect();
                    let [at, rps, tpm] = parts[..] else {
                        return Err(format!("{flag}: '{v}' is not SECONDS:RPS:TPM"));
                    };
                    let at = Duration::from_secs_f64(number(&flag, at)?);
                    o.server_changes.push((at, number(&flag, rps)?, number(&flag, tpm)?));
                }
                "--server-headers" => {
                    o.request_headers = match value()?.as_str() {
                        "second" => RequestHeaders::Second,
                        "minute" => RequestHeaders::Minute,
                        "none" => RequestHeaders::None,
                        other => return Err(format!("{flag}: '{other}' is not second, minute or none")),
                    }
                }
                "--retry-after" => o.retry_after = true,
                "--latency-ms" => {
                    let (a, b) = range(&flag, &value()?)?;
                    o.latency = (Duration::from_millis(a), Duration::from_millis(b));
                }
                "--count-factor" => o.count_factor = number(&flag, &value()?)?,
                "--tokens-per-second" => o.tokens_per_second = number(&flag, &value()?)?,
                "--batch-every" => o.batch_every = number(&flag, &value()?)?,
                "--seed" => o.seed = number(&flag, &value()?)?,
                "--quiet" => o.quiet = true,
                "--help" | "-h" => return Err(HELP.to_owned()),
                other => return Err(format!("unknown option {other}\n\n{HELP}")),
            }
        }
        let changes = o.server_changes.iter().map(|&(_, r, t)| (r, t));
        if std::iter::once((o.server_rps, o.server_tpm)).chain(changes).any(|(r, t)| r == 0 || t == 0)
            || o.tokens_per_second == 0
        {
            return Err("--server-rps, --server-tpm and --tokens-per-second must be positive".into());
        }
        if !(o.count_factor.is_finite() && o.count_factor > 0.0) {
            return Err("--count-factor must be a positive number".into());
        }
        if !(o.rps.is_finite() && o.rps > 0.0) {
            return Err("--rps must be a positive number".into());
        }
        Ok(o)
    }
}

fn number<T: std::str::FromStr>(flag: &str, s: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("{flag}: '{s}' is not a number"))
}

fn range(flag: &str, s: &str) -> Result<(u64, u64), String> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let (a, b): (u64, u64) = (number(flag, a)?, number(flag, b)?);
    if a > b {
        return Err(format!("{flag}: the range {s} runs backwards"));
    }
    Ok((a, b))
}
