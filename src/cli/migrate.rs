//! `brig migrate`.

use std::process::ExitCode;

use clap::Args;

use super::report::Printer;
use super::CliError;
use crate::app::migrate::{self, Ssh};
use crate::host::Host;
use crate::model::JailName;

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The jail to move.
    pub name: String,
    /// Where to: ssh://[USER@]HOST[:PORT], a machine with brig initialised (ssh is the program BRIG_SSH names, if set).
    pub to: String,
    /// Send its datasets while it runs, then stop it and send only what changed: the shortest downtime.
    #[arg(long)]
    pub live: bool,
    /// brig's path on the other machine.
    #[arg(long, value_name = "PATH", default_value = "brig")]
    pub remote_brig: String,
}

pub fn run(host: &mut dyn Host, args: &MigrateArgs) -> Result<ExitCode, CliError> {
    let name = JailName::parse(&args.name)?;
    // main() lets SIGPIPE end brig quietly; here a remote side that ends
    // early must be an error brig handles (it starts the stopped jail
    // again), not its end. Only the ssh child is spawned from here on,
    // and Command restores SIGPIPE's default disposition for it.
    // SAFETY: setting a signal's disposition has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    let mut remote = Ssh::parse(&args.to, &args.remote_brig)?;
    let done = migrate::migrate(host, &name, &mut remote, args.live, &Printer)?;
    if done.incremental {
        println!("{} had jail {name} from an earlier migration: only what changed since went", remote.destination);
    }
    match done.downtime {
        Some(d) => println!("moved jail {name} to {}: it was down for {:.1} s", remote.destination, d.as_secs_f64()),
        None => {
            println!("copied jail {name} to {} (it was not running here, and is not started there)", remote.destination)
        }
    }
    eprintln!(
        "brig: note: jail {name} stays defined here, stopped; destroy it once the other machine serves it (with boot = true it would start here at the next boot)"
    );
    Ok(ExitCode::SUCCESS)
}
