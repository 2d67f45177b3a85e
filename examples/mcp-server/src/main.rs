//! `cargo run -p mcp-server`: see the crate docs for the environment it reads.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use mcp_server::{Settings, banner, start};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,scopegate=info".into()),
        )
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => return fail(&error),
    };
    match start(settings).await {
        Ok(running) => {
            println!("{}", banner(&running));
            tokio::select! {
                () = running.wait() => ExitCode::FAILURE,
                _ = tokio::signal::ctrl_c() => ExitCode::SUCCESS,
            }
        }
        Err(error) => fail(&error),
    }
}

fn fail(error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("mcp-server: {error}");
    ExitCode::from(2)
}
