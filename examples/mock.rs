//! Dev binary to try the mock by hand: `cargo run --example mock -- --port 0 --tier standard`.

use clap::Parser;
use layers_mock::{MockArgs, serve_foreground};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    mock: MockArgs,
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    if let Err(error) = serve_foreground(&cli.mock).await {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}
