//! `cargo run -p grpc-products` serves; `cargo run -p grpc-products -- client [NAME PRICE_CENTS]`
//! calls it. See the crate docs for the environment each reads.

use std::process::ExitCode;

use grpc_products::{Settings, banner, client, start};

#[tokio::main]
async fn main() -> ExitCode {
    shopping_api::env::init_logging();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => serve().await,
        [mode] if mode == "client" => call("Green tea, 50 bags", 899).await,
        [mode, name, price] if mode == "client" => match price.parse() {
            Ok(price) => call(name, price).await,
            Err(_) => usage("PRICE_CENTS must be a whole number"),
        },
        _ => usage("unexpected arguments"),
    }
}

async fn serve() -> ExitCode {
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

async fn call(name: &str, price_cents: u64) -> ExitCode {
    match client::run(|name| std::env::var(name).ok(), name, price_cents).await {
        Ok(outcome) => {
            println!("{}", outcome.text);
            if outcome.success {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(message) => fail(&message),
    }
}

fn usage(message: &str) -> ExitCode {
    eprintln!("grpc-products: {message}\nusage: grpc-products [client [NAME PRICE_CENTS]]");
    ExitCode::from(2)
}

fn fail(error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("grpc-products: {error}");
    ExitCode::from(2)
}
