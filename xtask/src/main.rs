//! Project automation: `cargo xtask codegen`, `corpus`, `spec-diff` (`cargo xtask help`).
//!
//! `codegen [--check] [--strict] [--spec PATH --out DIR --crate-name NAME]` (`--spec`: an entry
//! file, whose references are followed from its folder, or a folder whose API files are each a
//! module), `corpus <DIR>`, `spec-diff <upstream root>`.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use xtask::{codegen, spec_diff, workspace_root};

/// Oxident's project automation: the spec-driven generator and its checks.
#[derive(Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generates a crate (types, a trait per spec file, a dispatcher, validators, docs) from a
    /// Swagger 2.0 / OpenAPI 3.x spec.
    ///
    /// Without --out: spec/ -> generated/ (crate oxident-api) and docs/api.md. With --out: any
    /// spec -> a standalone crate with its own [workspace], depending on the runtime
    /// (oxident-rt); a new crate gets our Cargo.lock (build it with
    /// CARGO_TARGET_DIR=<workspace>/target to share compiled dependencies). Only what the
    /// operations reach is read: a $ref opens a file when an operation needs it. A construct
    /// the generator cannot check is left out with a warning naming file, operation and JSON
    /// pointer; --strict makes that an error.
    Codegen {
        /// Compare instead of writing; exit 1 when a file is stale.
        #[arg(long)]
        check: bool,
        /// Refuse (exit 2) instead of warning when a construct cannot be checked.
        #[arg(long)]
        strict: bool,
        /// The spec: an API document (the entry; its $refs are followed from its own folder)
        /// or a folder whose YAML/JSON files with `paths` or `webhooks` are each an API.
        /// Default: the workspace's spec/.
        #[arg(long, value_name = "PATH")]
        spec: Option<PathBuf>,
        /// Write a standalone crate here instead of generated/.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// The crate's package name (made a valid Cargo name). Default: --out's folder name.
        #[arg(long, value_name = "NAME")]
        crate_name: Option<String>,
    },
    /// Generates, builds and tests every spec of a corpus: each folder of DIR (a `spec/`
    /// inside it, or an `entry.yaml|yml|json`, names the API; DIR/gaps/* are fragments) as a
    /// standalone crate, built with no warnings, its examples checked by its validators.
    Corpus {
        /// The corpus folder.
        dir: PathBuf,
        /// Where the crates go.
        #[arg(long, value_name = "DIR", default_value = "target/corpus")]
        out: PathBuf,
    },
    /// Compares our spec with the upstream Matrix identity API structurally (routes, params,
    /// body and response fields, statuses, security), one difference per line; differences
    /// not accepted in spec/UPSTREAM.md fail.
    SpecDiff {
        /// The upstream root containing data/api/identity.
        upstream: PathBuf,
        /// Our spec folder. Default: the workspace's spec/.
        #[arg(long, value_name = "DIR")]
        spec: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Generation recurses over the spec's nesting; a big stack keeps a deep (valid) spec from
    // overflowing the main thread's 8 MiB, and the loader bounds the depth for the rest.
    let worker = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || run(cli));
    match worker.map(std::thread::JoinHandle::join) {
        Ok(Ok(Ok(code))) => code,
        Ok(Ok(Err(e))) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
        Ok(Err(_)) => ExitCode::from(101),
        Err(e) => {
            eprintln!("error: starting the worker thread: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let root = workspace_root();
    match cli.command {
        Command::Codegen {
            check,
            strict,
            spec,
            out,
            crate_name,
        } => {
            let mut opts = match out {
                None => {
                    let mut opts = codegen::Options::workspace(&root, check);
                    if let Some(spec) = spec {
                        opts.spec_dir = spec;
                    }
                    if let Some(name) = crate_name {
                        opts.crate_name = name;
                    }
                    opts
                }
                Some(out) => {
                    let spec = spec.unwrap_or_else(|| root.join("spec"));
                    let name = crate_name.unwrap_or_else(|| {
                        out.file_name()
                            .and_then(|n| n.to_str())
                            .unwrap_or("api")
                            .to_string()
                    });
                    let opts = codegen::Options::standalone(&spec, &out, &name, check);
                    if opts.crate_name != name {
                        eprintln!(
                            "note: crate name `{name}` is not a valid package name; using `{}`",
                            opts.crate_name
                        );
                    }
                    opts
                }
            };
            opts.strict = strict;
            let started = std::time::Instant::now();
            let stale = codegen::run(&opts).context("codegen failed")?;
            if check && !stale.is_empty() {
                eprintln!("generated files are stale; run the same command without --check:");
                for (p, why) in stale {
                    eprintln!(
                        "  {why:8} {}",
                        p.strip_prefix(&root).unwrap_or(&p).display()
                    );
                }
                return Ok(ExitCode::from(1));
            }
            eprintln!(
                "codegen {} in {:.0?}",
                if check { "up to date" } else { "done" },
                started.elapsed()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Corpus { dir, out } => {
            let out = if out.is_relative() {
                root.join(out)
            } else {
                out
            };
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map_or_else(|| root.join("target"), PathBuf::from);
            xtask::corpus::run(Path::new(&dir), &out, &target)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::SpecDiff { upstream, spec } => {
            let spec_dir = spec.unwrap_or_else(|| root.join("spec"));
            spec_diff::run(&spec_dir, &upstream)
        }
    }
}
