//! Project automation: `cargo xtask codegen [--check]`, `cargo xtask spec-diff <root>`.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use xtask::{codegen, spec_diff, workspace_root};

const USAGE: &str = "usage:
  cargo xtask codegen [--check]
      spec/ -> generated/ (crate oxident-api) and docs/api.md
  cargo xtask codegen --spec DIR --out DIR [--crate-name NAME] [--check] [--strict]
      any Swagger 2.0 / OpenAPI 3.x tree (API files directly in DIR, $refs anywhere) -> a
      standalone crate in --out with its own [workspace] and a copy of the runtime; a new
      crate gets our Cargo.lock (build it with CARGO_TARGET_DIR=<workspace>/target to share
      compiled dependencies). A construct the generator cannot check (a look-around
      pattern, an unknown keyword) is left out with a warning naming file, operation and
      JSON pointer; --strict makes that an error
  cargo xtask corpus <DIR> [--out DIR]
      every spec folder of DIR (and DIR/gaps/*) -> a standalone crate in --out (default
      target/corpus), built and tested (its examples against its validators) with no warnings
  cargo xtask spec-diff <upstream root containing data/api/identity> [--spec DIR]";

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn codegen_corpus(corpus: &Path, out: &Path, target: &Path) -> Result<()> {
    xtask::corpus::run(corpus, out, target)
}

fn take_value(args: &mut Vec<String>, flag: &str) -> Result<Option<String>> {
    match args.iter().position(|a| a == flag) {
        Some(i) => {
            if i + 1 >= args.len() {
                bail!("{flag} needs a value\n{USAGE}");
            }
            let v = args.remove(i + 1);
            args.remove(i);
            Ok(Some(v))
        }
        None => Ok(None),
    }
}

fn run() -> Result<ExitCode> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        bail!("{USAGE}");
    }
    let command = args.remove(0);
    let root = workspace_root();
    match command.as_str() {
        "codegen" => {
            let check = if let Some(i) = args.iter().position(|a| a == "--check") {
                args.remove(i);
                true
            } else {
                false
            };
            let strict = if let Some(i) = args.iter().position(|a| a == "--strict") {
                args.remove(i);
                true
            } else {
                false
            };
            let spec = take_value(&mut args, "--spec")?;
            let out = take_value(&mut args, "--out")?;
            let crate_name = take_value(&mut args, "--crate-name")?;
            if !args.is_empty() {
                bail!("unexpected arguments {args:?}\n{USAGE}");
            }
            let mut opts = match out {
                None => {
                    let mut opts = codegen::Options::workspace(&root, check);
                    if let Some(spec) = spec {
                        opts.spec_dir = PathBuf::from(spec);
                    }
                    if let Some(name) = crate_name {
                        opts.crate_name = name;
                    }
                    opts
                }
                Some(out) => {
                    let out = PathBuf::from(out);
                    let spec = spec.map_or_else(|| root.join("spec"), PathBuf::from);
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
        "corpus" => {
            let out = take_value(&mut args, "--out")?
                .map_or_else(|| root.join("target/corpus"), PathBuf::from);
            let [corpus] = args.as_slice() else {
                bail!("{USAGE}");
            };
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map_or_else(|| root.join("target"), PathBuf::from);
            codegen_corpus(Path::new(corpus), &out, &target)?;
            Ok(ExitCode::SUCCESS)
        }
        "spec-diff" => {
            let spec = take_value(&mut args, "--spec")?;
            let [upstream] = args.as_slice() else {
                bail!("{USAGE}");
            };
            let spec_dir = spec.map_or_else(|| root.join("spec"), PathBuf::from);
            spec_diff::run(&spec_dir, Path::new(upstream))
        }
        other => bail!("unknown command `{other}`\n{USAGE}"),
    }
}
