use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Rust ignores SIGPIPE, so `brig list | head` would end in a panic
    // when println! hits the closed pipe; like every other Unix tool,
    // brig just ends quietly instead. First of all: the helper below execs
    // jail commands, which would otherwise inherit the ignored signal (and
    // a shell cannot undo that), so `cmd | head` in /etc/rc would misbehave.
    // SAFETY: restoring a signal's default disposition before any thread
    // exists has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // brig runs itself as `brig-jexec` to start commands inside jails; that
    // process does nothing else.
    #[cfg(target_os = "freebsd")]
    brig::host::freebsd::jexec::main_if_helper();
    let cli = brig::cli::Cli::parse();
    match brig::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "brig: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
