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
    /// The jail to export (with --image, the image).
    pub name: String,
    /// The archive to write, or - for standard output.
    pub file: String,
    /// NAME is an image (`brig commit`), exported whole.
    #[arg(long, conflicts_with_all = ["snapshot", "since"])]
    pub image: bool,
    /// Export this snapshot of the jail [default: one taken now].
    #[arg(long, value_name = "SNAP")]
    pub snapshot: Option<String>,
    /// Send only what changed since this earlier snapshot, which the importing host has.
    #[arg(long, value_name = "SNAP")]
    pub since: Option<String>,
    /// Sign the archive with this secret key (`brig keygen` makes one).
    #[arg(long, value_name = "KEYFILE")]
    pub sign: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum From {
    /// jail.conf(5): every jail of the file, or those --only names.
    Jailconf,
    /// Bastille's jails/NAME/jail.conf, with the fstab it names.
    Bastille,
    /// ezjail's /usr/local/etc/ezjail/NAME.
    Ezjail,
    /// iocage's jails/NAME/config.json, the root beside it.
    Iocage,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The archive to read, or - for standard input; with --from, the other manager's file.
    pub file: String,
    /// Convert another manager's jails instead: their definitions (saying what does not map) and their roots, copied.
    #[arg(long, value_enum)]
    pub from: Option<From>,
    /// With --from: only this jail of the file (repeatable).
    #[arg(long, value_name = "NAME", requires = "from")]
    pub only: Vec<String>,
    /// With --from: print the definitions and what does not map, and change nothing.
    #[arg(long, requires = "from")]
    pub dry_run: bool,
    /// The archive holds an image (`brig export --image`).
    #[arg(long, conflicts_with_all = ["from", "ip4", "ip6", "trust"])]
    pub image: bool,
    /// Import the jail (or image) under another name.
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
    /// Refuse the archive unless this public key signed it.
    #[arg(long, value_name = "PUBKEYFILE")]
    pub verify: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Where to write the secret key (mode 0600); the public key goes to FILE.pub.
    pub file: std::path::PathBuf,
}

/// A key file's text, or a sentence naming it.
fn key_text(path: &std::path::Path) -> Result<String, CliError> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(4096).read_to_string(&mut text))
        .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
    Ok(text)
}

pub fn keygen(args: &KeygenArgs) -> Result<ExitCode, CliError> {
    use std::io::Read;
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed))
        .map_err(|e| CliError::Usage(format!("/dev/urandom: {e}")))?;
    let (secret, public) = crate::state::keys::files(seed);
    let pub_path = std::path::PathBuf::from(format!("{}.pub", args.file.display()));
    for (path, text, mode) in [(&args.file, &secret, 0o600), (&pub_path, &public, 0o644)] {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
    }
    println!("wrote the secret key to {} and the public key to {}", args.file.display(), pub_path.display());
    Ok(ExitCode::SUCCESS)
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
    let name = if args.image {
        crate::model::name::image_name(&args.name).map_err(CliError::Usage)?
    } else {
        JailName::parse(&args.name)?
    };
    let what = if args.image { "image" } else { "jail" };
    let sign = match &args.sign {
        Some(p) => Some(
            crate::state::keys::secret(&key_text(p)?)
                .map_err(|why| CliError::Usage(format!("{}: {why}", p.display())))?,
        ),
        None => None,
    };
    let req = transfer::ExportRequest {
        snapshot: args.snapshot.as_deref().map(SnapshotName::parse).transpose()?,
        since: args.since.as_deref().map(SnapshotName::parse).transpose()?,
        sign,
    };
    if args.file == "-" {
        if std::io::stdout().is_terminal() {
            return Err(CliError::Usage("the archive is binary; redirect standard output, or give a FILE".into()));
        }
        let mut out = Counting { inner: std::io::stdout().lock(), bytes: 0 };
        let done = send(host, &name, &req, args.image, &mut out)?;
        eprintln!("exported {what} {name} (snapshot {}, {} bytes)", done.snapshot, out.bytes);
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
        let done = send(host, &name, &req, args.image, &mut out)?;
        let file = out.inner.into_inner().map_err(|e| failed(e.into_error()))?;
        file.sync_all().map_err(failed)?;
        std::fs::rename(&partial, &path).map_err(failed)?;
        println!("exported {what} {name} (snapshot {}, {} bytes) to {}", done.snapshot, out.bytes, path.display());
        Ok(out.bytes)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written.map(|_| ExitCode::SUCCESS)
}

/// Writes the archive of jail (or image) `name`.
fn send(
    host: &mut dyn Host,
    name: &JailName,
    req: &transfer::ExportRequest,
    image: bool,
    out: &mut dyn Write,
) -> Result<crate::state::archive::Manifest, CliError> {
    if image {
        return Ok(crate::app::image::export(host, name, req.sign.as_ref(), out)?);
    }
    Ok(transfer::export(host, name, req, out, &Printer)?.manifest)
}

/// An archive file to read, or a sentence naming it.
fn open_archive(file: &str) -> Result<std::io::BufReader<std::fs::File>, CliError> {
    let f = std::fs::File::open(file).map_err(|e| {
        CliError::App(
            crate::state::archive::ArchiveError::Io(std::io::Error::new(e.kind(), format!("{file}: {e}"))).into(),
        )
    })?;
    Ok(std::io::BufReader::new(f))
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
    if let Some(from) = args.from {
        use crate::app::convert::{import_from, Source};
        let source = match from {
            From::Jailconf => Source::JailConf,
            From::Bastille => Source::Bastille,
            From::Ezjail => Source::Ezjail,
            From::Iocage => Source::Iocage,
        };
        import_from(host, source, std::path::Path::new(&args.file), &args.only, args.dry_run, &Printer)?;
        return Ok(ExitCode::SUCCESS);
    }
    let verify = match &args.verify {
        Some(p) => Some(
            crate::state::keys::public(&key_text(p)?)
                .map_err(|why| CliError::Usage(format!("{}: {why}", p.display())))?,
        ),
        None => None,
    };
    // main() lets SIGPIPE end brig quietly; here a kernel that stops
    // reading a stream early (it refused it) must be an error brig takes
    // back, not its end. Children spawned from here (zfs mount) get the
    // default disposition back from Command.
    // SAFETY: setting a signal's disposition has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    if args.image {
        let done = if args.file == "-" {
            crate::app::image::import(host, &mut std::io::stdin().lock(), args.name.as_deref(), verify.as_ref())?
        } else {
            crate::app::image::import(host, &mut open_archive(&args.file)?, args.name.as_deref(), verify.as_ref())?
        };
        println!("imported image {} (of {})", done.0, done.1.release.as_deref().unwrap_or("no release"));
        return Ok(ExitCode::SUCCESS);
    }
    let req = ImportRequest {
        name: args.name.clone(),
        ip4: args.ip4.clone(),
        ip6: args.ip6.clone(),
        trust: args.trust,
        verify,
    };
    let done = if args.file == "-" {
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        transfer::import(host, &mut input, &req, &Printer)?
    } else {
        transfer::import(host, &mut open_archive(&args.file)?, &req, &Printer)?
    };
    println!("imported jail {} (snapshot {} of {})", done.name, done.manifest.snapshot, done.manifest.jail);
    Ok(ExitCode::SUCCESS)
}
