//! Starts the real server in-process on a free port, for tests over real HTTP.

#![allow(dead_code)] // each test file uses its own part of this

use mock_mistral::config::Config;
use serde_json::{json, Value};

pub struct Mock {
    pub url: String,
    pub http: reqwest::Client,
    _server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Mock {
    /// A server with `config` (its port is replaced by a free one), fast generation.
    pub async fn start(config: Config) -> Mock {
        let tokens_per_second = config.tokens_per_second.max(1_000_000);
        Mock::start_paced(Config { tokens_per_second, ..config }).await
    }

    /// A server generating at `config`'s own speed, for tests that need slow streams.
    pub async fn start_paced(config: Config) -> Mock {
        let config = Config { port: 0, ..config };
        let (addr, server) = mock_mistral::start(config).await.expect("the mock binds 127.0.0.1:0");
        Mock { url: format!("http://{addr}"), http: reqwest::Client::new(), _server: server }
    }

    /// A POST with the usual key and an optional fault header.
    pub fn post(&self, path: &str, body: &Value) -> reqwest::RequestBuilder {
        self.http.post(format!("{}{path}", self.url)).bearer_auth("test-key").json(body)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(format!("{}{path}", self.url)).bearer_auth("test-key")
    }

    pub async fn stats(&self) -> Value {
        self.http.get(format!("{}/__mock/stats", self.url)).send().await.unwrap().json().await.unwrap()
    }
}

/// A small chat request.
pub fn chat(max_tokens: u64) -> Value {
    json!({"model": "mistral-small-latest", "messages": [{"role": "user", "content": "Hello there"}], "max_tokens": max_tokens})
}
