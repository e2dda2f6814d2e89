//! The command line: `mock-mistral --port 8787 --rps 5 --tpm 500000 ...`.

use std::path::PathBuf;
use std::time::Duration;

use crate::wire::ids;

pub const HELP: &str = "\
mock-mistral: an offline stand-in for Mistral's API.

  --host ADDR                 address to bind (127.0.0.1)
  --port N                    port; 0 picks a free one (8787)
  --rps N                     requests per second, 0 = no limit (0)
  --tpm N                     tokens per minute, input + output, 0 = no limit (0)
  --tokens-per-month N        tokens per month, 0 = no limit (0)
  --max-in-flight N           requests admitted whose replies are not yet wholly sent,
                              0 = no limit; one more gets the --rps 429 (0)
  --model-rps MODEL=N         requests per second for one model (repeatable); a request
                              over it gets the 429 of a saturated service tier
  --plan-models M1,M2,...     the models the plan has; a request for another known model
                              gets a 429 stating x-ratelimit-limit-req-minute: 0, which no
                              wait cures (default: every model the mock knows)
  --priority-rps MODEL=N      priority requests per second for one model (repeatable): a
                              chat request with service_tier auto is served at priority
                              (outside --rps and --model-rps) while the model's priority
                              requests in the last second are under N, else at standard
  --prompt-cache on|off       cache chat prompts that carry a prompt_cache_key: the
                              leading whole messages a key's last prompt shares are
                              cached (on)
  --prompt-cache-charge F     what a cached prompt token counts for, 0 to 1, in the
                              limits, the query cost and the spending limit (0.1)
  --spending-limit TOKENS     tokens the workspace (or key) may be charged in all; past
                              that, every request gets a 402 (off)
  --spending-reset-at TIME    when the 402 says the spending limit resets, RFC 3339
                              (the first instant of next month, UTC)
  --limit-algorithm A         sliding | bucket | fixed (sliding)
  --limit-scope S             workspace (all keys share) | key (workspace)
  --retry-after SECONDS       send Retry-After on 429s (not sent by default, as Mistral)
  --api-key KEY               accept only these keys (repeatable); default: any key
  --latency-ms A[-B]          delay before response headers, uniform in A..B ms, on
                              every route the limits charge, JSON or stream (0)
  --timing-header on|off      send x-envoy-upstream-service-time, as some real
                              deployments do and others don't (on)
  --request-headers W         second: x-ratelimit-{limit,remaining}-req-second;
                              minute: only x-ratelimit-limit-req-minute (--rps x 60),
                              as captures of the real API show: no reply states the
                              per-second limit that is enforced; none: no request
                              limit stated at all (second)
  --prompt-count-factor F     count each prompt as ceil(tokens x F), F > 0, in the
                              limits, usage and query cost: a server that counts
                              more (F > 1) or fewer tokens than a client guesses (1.0)
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

/// How replies state the request limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestHeaders {
    /// `x-ratelimit-{limit,remaining}-req-second`.
    Second,
    /// Only `x-ratelimit-limit-req-minute` (`--rps` × 60, no remainder), as
    /// captures of the real API show.
    Minute,
    /// No request limit at all: a client learns it from 429s alone.
    None,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub host: String,
    pub port: u16,
    pub rps: u64,
    pub tpm: u64,
    pub tokens_per_month: u64,
    /// Requests admitted whose replies are not yet wholly sent: Mistral's docs read
    /// "requests per second" as "the maximum number of concurrent API requests".
    pub max_in_flight: u64,
    pub algorithm: Algorithm,
    pub scope: Scope,
    pub retry_after: Option<u64>,
    pub api_keys: Vec<String>,
    pub latency: (Duration, Duration),
    /// Whether responses carry `x-envoy-upstream-service-time`.
    pub timing_header: bool,
    /// How replies state the request limit.
    pub request_headers: RequestHeaders,
    /// Prompts count as `ceil(tokens × this / 1_000_000)`: the factor in millionths,
    /// kept whole so that 1.1 × 100 is 110, not 111.
    pub prompt_factor_micros: u64,
    pub tokens_per_second: u64,
    pub seed: u64,
    pub slow: Duration,
    pub www: Option<PathBuf>,
    /// Requests per second per model, by the model's id (aliases resolved).
    pub model_rps: Vec<(&'static str, u64)>,
    /// The models on the plan, by id; `None` is every model.
    pub plan_models: Option<Vec<&'static str>>,
    /// Priority requests per second per model, by the model's id.
    pub priority_rps: Vec<(&'static str, u64)>,
    /// Whether chat prompts with a `prompt_cache_key` are cached.
    pub prompt_cache: bool,
    /// A cached prompt token counts as this many millionths of a token.
    pub cache_charge_micros: u64,
    /// Tokens the scope may be charged before every request gets a 402.
    pub spending_limit: Option<u64>,
    /// When the 402 says the spending limit resets (RFC 3339).
    pub spending_reset_at: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: "127.0.0.1".into(),
            port: 8787,
            rps: 0,
            tpm: 0,
            tokens_per_month: 0,
            max_in_flight: 0,
            algorithm: Algorithm::Sliding,
            scope: Scope::Workspace,
            retry_after: None,
            api_keys: Vec::new(),
            latency: (Duration::ZERO, Duration::ZERO),
            timing_header: true,
            request_headers: RequestHeaders::Second,
            prompt_factor_micros: 1_000_000,
            tokens_per_second: 200,
            seed: 1,
            slow: Duration::from_secs(3),
            www: None,
            model_rps: Vec::new(),
            plan_models: None,
            priority_rps: Vec::new(),
            prompt_cache: true,
            cache_charge_micros: 100_000,
            spending_limit: None,
            spending_reset_at: ids::first_of_next_month(ids::unix_seconds()),
        }
    }
}

/// `ceil(tokens × micros / 1_000_000)`.
fn scaled(tokens: u64, micros: u64) -> u64 {
    let scaled = (u128::from(tokens) * u128::from(micros)).div_ceil(1_000_000);
    u64::try_from(scaled).unwrap_or(u64::MAX)
}

/// A factor from `lo` to `hi` in millionths, kept whole so that 1.1 × 100 is 110,
/// not 111.
fn micros(flag: &str, value: &str, lo: f64, hi: f64) -> Result<u64, String> {
    let f = value.parse::<f64>().map_err(|_| format!("{flag}: '{value}' is not a number"))?;
    if !(lo..=hi).contains(&f) {
        return Err(format!("{flag}: {value} is not between {lo} and {hi}"));
    }
    Ok((f * 1e6).round() as u64)
}

/// `MODEL=N`, the model by id or alias.
fn model_rate(flag: &str, value: &str) -> Result<(&'static str, u64), String> {
    let (name, n) = value.split_once('=').ok_or_else(|| format!("{flag}: '{value}' is not MODEL=N"))?;
    let model = crate::models::find(name).ok_or_else(|| format!("{flag}: no model named '{name}'"))?;
    let n = n.parse().map_err(|_| format!("{flag}: '{n}' is not a whole number"))?;
    Ok((model.id, n))
}

impl Config {
    /// The tokens the gateway counts for a prompt of `tokens`: scaled by
    /// `--prompt-count-factor`, rounded up.
    pub fn prompt_tokens(&self, tokens: u64) -> u64 {
        scaled(tokens, self.prompt_factor_micros)
    }

    /// What `tokens` cached prompt tokens are charged: scaled by
    /// `--prompt-cache-charge`, rounded up.
    pub fn cached_charge(&self, tokens: u64) -> u64 {
        scaled(tokens, self.cache_charge_micros)
    }

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
                "--max-in-flight" => c.max_in_flight = num(&value)?,
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
                "--timing-header" => {
                    c.timing_header = match value.as_str() {
                        "on" => true,
                        "off" => false,
                        other => return Err(format!("{flag}: '{other}' is not on or off")),
                    }
                }
                "--request-headers" => {
                    c.request_headers = match value.as_str() {
                        "second" => RequestHeaders::Second,
                        "minute" => RequestHeaders::Minute,
                        "none" => RequestHeaders::None,
                        other => return Err(format!("{flag}: '{other}' is not second, minute or none")),
                    }
                }
                "--prompt-count-factor" => c.prompt_factor_micros = micros(&flag, &value, 1e-6, 1e6)?,
                "--stream-tokens-per-second" => {
                    c.tokens_per_second = num(&value)?;
                    if c.tokens_per_second == 0 {
                        return Err(format!("{flag} must be positive"));
                    }
                }
                "--seed" => c.seed = num(&value)?,
                "--slow-ms" => c.slow = Duration::from_millis(num(&value)?),
                "--www" => c.www = Some(PathBuf::from(value)),
                "--model-rps" => c.model_rps.push(model_rate(&flag, &value)?),
                "--priority-rps" => c.priority_rps.push(model_rate(&flag, &value)?),
                "--plan-models" => {
                    let names = value.split(',').map(str::trim).filter(|n| !n.is_empty());
                    let plan = names.map(|n| crate::models::find(n).map(|m| m.id).ok_or(n));
                    c.plan_models =
                        Some(plan.collect::<Result<_, _>>().map_err(|n| format!("{flag}: no model named '{n}'"))?);
                }
                "--prompt-cache" => {
                    c.prompt_cache = match value.as_str() {
                        "on" => true,
                        "off" => false,
                        other => return Err(format!("{flag}: '{other}' is not on or off")),
                    }
                }
                "--prompt-cache-charge" => c.cache_charge_micros = micros(&flag, &value, 0.0, 1.0)?,
                "--spending-limit" => c.spending_limit = Some(num(&value)?),
                "--spending-reset-at" => {
                    if !ids::is_rfc3339(&value) {
                        return Err(format!("{flag}: '{value}' is not an RFC 3339 date-time"));
                    }
                    c.spending_reset_at = value;
                }
                other => return Err(format!("unknown option {other}\n\n{HELP}")),
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, String> {
        Config::parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn the_prompt_factor_scales_and_rounds_up_exactly() {
        let c = parse(&["--prompt-count-factor", "1.1"]).unwrap();
        assert_eq!(c.prompt_tokens(100), 110, "no float error rounds 110.000…01 up");
        assert_eq!(c.prompt_tokens(101), 112);
        assert_eq!(c.prompt_tokens(0), 0);
        assert_eq!(parse(&["--prompt-count-factor", "1.3"]).unwrap().prompt_tokens(10), 13);
        assert_eq!(parse(&["--prompt-count-factor", "0.5"]).unwrap().prompt_tokens(3), 2);
        assert_eq!(Config::default().prompt_tokens(37), 37);
        for bad in ["0", "-1", "x", "NaN", "inf"] {
            assert!(parse(&["--prompt-count-factor", bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_request_limit_is_stated_per_second_unless_told_per_minute() {
        assert_eq!(Config::default().request_headers, RequestHeaders::Second);
        assert_eq!(parse(&["--request-headers", "minute"]).unwrap().request_headers, RequestHeaders::Minute);
        assert_eq!(parse(&["--request-headers", "none"]).unwrap().request_headers, RequestHeaders::None);
        assert!(parse(&["--request-headers", "hour"]).is_err());
    }

    #[test]
    fn requests_in_flight_are_uncapped_unless_told() {
        assert_eq!(Config::default().max_in_flight, 0);
        assert_eq!(parse(&["--max-in-flight", "2"]).unwrap().max_in_flight, 2);
        assert!(parse(&["--max-in-flight", "-1"]).is_err());
    }

    #[test]
    fn the_help_names_the_plan_tier_cache_and_spending_options() {
        for flag in [
            "plan-models",
            "priority-rps",
            "prompt-cache",
            "prompt-cache-charge",
            "spending-limit",
            "spending-reset-at",
        ] {
            assert!(HELP.contains(&format!("  --{flag} ")), "{flag}");
        }
    }

    #[test]
    fn the_timing_header_is_on_unless_turned_off() {
        assert!(Config::default().timing_header);
        assert!(!parse(&["--timing-header", "off"]).unwrap().timing_header);
        assert!(parse(&["--timing-header", "on"]).unwrap().timing_header);
        assert!(parse(&["--timing-header", "no"]).is_err());
    }
}
