//! `brig export` and `brig import`.

use std::io::{IsTerminal, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::process::ExitCode;

use clap::Args;

use super::report::Printer;
use super::CliError;
use crate::app::transfer::{self, ImportRequest};
use crate::host::Host;
use crate::model::snapshot::SnapshotName;
use crate::model::JailName;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The jail to export.
    pub name: String,
    /// The archive to write, or - for standard output.
    pub file: String,
    /// Export this snapshot of the jail [default: one taken now].
    #[arg(long, value_name = "SNAP")]
    pub snapshot: Option<String>,
    /// Send only what changed since this earlier snapshot, which the importing host has.
    #[arg(long, value_name = "SNAP")]
    pub since: Option<String>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The archive to read, or - for standard input.
    pub file: String,
    /// Import the jail under another name.
    #[arg(long)]
    pub name: Option<String>,
    /// Give the jail these IPv4 addresses instead of its own (repeatable).
    #[arg(long, value_name = "ADDR/LEN")]
    pub ip4: Vec<String>,
    /// Give the jail these IPv6 addresses instead of its own (repeatable).
    #[arg(long, value_name = "ADDR/LEN")]
    pub ip6: Vec<String>,
    /// Take the definition's host hooks (exec.prestart...) and host directory mounts, which run and mount on this host.
    #[arg(long)]
    pub trust: bool,
}

/// Counts what passes through.
struct Counting<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

pub fn export(host: &mut dyn Host, args: &ExportArgs) -> Result<ExitCode, CliError> {
    let name = JailName::parse(&args.name)?;
    let req = transfer::ExportRequest {
        snapshot: args.snapshot.as_deref().map(SnapshotName::parse).transpose()?,
        since: args.since.as_deref().map(SnapshotName::parse).transpose()?,
    };
    if args.file == "-" {
        if std::io::stdout().is_terminal() {
            return Err(CliError::Usage("the archive is binary; redirect standard output, or give a FILE".into()));
        }
        let mut out = Counting { inner: std::io::stdout().lock(), bytes: 0 };
        let done = transfer::export(host, &name, &req, &mut out, &Printer)?;
        eprintln!("exported jail {name} (snapshot {}, {} bytes)", done.manifest.snapshot, out.bytes);
        return Ok(ExitCode::SUCCESS);
    }
    let path = std::path::PathBuf::from(&args.file);
    refuse_inside_jails(host, &path)?;
    let partial = path.with_file_name(format!(
        ".{}.partial.{}",
        path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        std::process::id()
    ));
    let failed = |e: std::io::Error| {
        let e = std::io::Error::new(e.kind(), format!("{}: {e}", path.display()));
        CliError::App(crate::state::archive::ArchiveError::Write(e).into())
    };
    let written = (|| -> Result<u64, CliError> {
        // The jail's files, its secrets among them: the owner's alone.
        let file =
            std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&partial).map_err(failed)?;
        let mut out = Counting { inner: std::io::BufWriter::new(file), bytes: 0 };
        let done = transfer::export(host, &name, &req, &mut out, &Printer)?;
        let file = out.inner.into_inner().map_err(|e| failed(e.into_error()))?;
        file.sync_all().map_err(failed)?;
        std::fs::rename(&partial, &path).map_err(failed)?;
        println!(
            "exported jail {name} (snapshot {}, {} bytes) to {}",
            done.manifest.snapshot,
            out.bytes,
            path.display()
        );
        Ok(out.bytes)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written.map(|_| ExitCode::SUCCESS)
}

/// An archive written into a jail's root would be in the hands of that
/// jail's root, and in its next snapshot.
fn refuse_inside_jails(host: &dyn Host, path: &std::path::Path) -> Result<(), CliError> {
    let cfg = crate::app::config(host)?;
    let jails = host.local_path(&cfg.jails_dir());
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let (Ok(parent), Ok(jails)) = (parent.canonicalize(), jails.canonicalize()) else { return Ok(()) };
    if parent.starts_with(&jails) {
        return Err(CliError::Usage(format!(
            "{}: an archive inside a jail's directory is the jail's to read and change; write it elsewhere",
            path.display()
        )));
    }
    Ok(())
}

pub fn import(host: &mut dyn Host, args: &ImportArgs) -> Result<ExitCode, CliError> {
    // main() lets SIGPIPE end brig quietly; here a kernel that stops
    // reading a stream early (it refused it) must be an error brig takes
    // back, not its end. Children spawned from here (zfs mount) get the
    // default disposition back from Command.
    // SAFETY: setting a signal's disposition has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    let req =
        ImportRequest { name: args.name.clone(), ip4: args.ip4.clone(), ip6: args.ip6.clone(), trust: args.trust };
    let done = if args.file == "-" {
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        transfer::import(host, &mut input, &req, &Printer)?
    } else {
        let file = std::fs::File::open(&args.file).map_err(|e| {
            CliError::App(
                crate::state::archive::ArchiveError::Io(std::io::Error::new(e.kind(), format!("{}: {e}", args.file)))
                    .into(),
            )
        })?;
        let mut input = std::io::BufReader::new(file);
        transfer::import(host, &mut input, &req, &Printer)?
    };
    println!("imported jail {} (snapshot {} of {})", done.name, done.manifest.snapshot, done.manifest.jail);
    Ok(ExitCode::SUCCESS)
}
