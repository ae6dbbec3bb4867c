//! The `oxident` binary: parse arguments, set up logging, run.

use clap::Parser;
use oxident::cli::{Cli, run_command};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(code) = run_command(&cli) {
        return code;
    }
    let config = match oxident::config::Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(problems) => {
            eprintln!("{} problem(s) in the configuration:", problems.len());
            for p in problems {
                eprintln!("  - {p}");
            }
            return ExitCode::from(2);
        }
    };
    oxident::logging::init(&config.logging);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(oxident::serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
