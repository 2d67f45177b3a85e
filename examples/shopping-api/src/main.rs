//! `cargo run -p shopping-api`: see the crate docs for the environment it reads.

use std::process::ExitCode;

use shopping_api::{Settings, banner, start};

#[tokio::main]
async fn main() -> ExitCode {
    shopping_api::env::init_logging();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => return fail(&error),
    };
    let audience = settings.audience.clone();
    match start(settings).await {
        Ok(running) => {
            println!("{}", banner(&running, &audience));
            tokio::select! {
                () = running.wait() => ExitCode::FAILURE,
                _ = tokio::signal::ctrl_c() => ExitCode::SUCCESS,
            }
        }
        Err(error) => fail(&error),
    }
}

fn fail(error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("shopping-api: {error}");
    ExitCode::from(2)
}
