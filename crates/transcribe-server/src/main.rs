//! `transcribe-server`: the reference backend, for development, demos and tests.

#![deny(clippy::unwrap_used)]

use clap::Parser;
use transcribe_server::{DEMO_EMAIL, DEMO_PASSWORD, ServerConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,transcribe_server=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = ServerConfig::parse();
    let server = transcribe_server::start(config).await?;
    // One machine-readable line on stdout, so scripts and tests can find the port.
    println!("listening on {}", server.http_url());
    if server.uses_demo_account() {
        println!("demo account: {} / {}", DEMO_EMAIL, DEMO_PASSWORD);
    }
    server.run_until_signal().await;
    Ok(())
}
