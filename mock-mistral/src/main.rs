//! `mock-mistral --port 8787 --rps 5 --tpm 500000`: see `--help`.

use mock_mistral::config::Config;

#[tokio::main]
async fn main() {
    let config = match Config::parse(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(if message.starts_with("mock-mistral:") { 0 } else { 2 });
        }
    };
    let (addr, server) = match mock_mistral::start(config).await {
        Ok(started) => started,
        Err(e) => {
            eprintln!("mock-mistral: cannot listen: {e}");
            std::process::exit(1);
        }
    };
    // Scripts wait for this line and read the address from it.
    println!("mock-mistral listening on http://{addr}");
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        result = server => {
            if let Ok(Err(e)) = result {
                eprintln!("mock-mistral: {e}");
                std::process::exit(1);
            }
        }
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
