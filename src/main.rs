use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = brig::cli::Cli::parse();
    match brig::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "brig: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
