//! Getting distribution files: from a local mirror directory as they are,
//! or over HTTP(S) into a cache with resumable downloads, then verified
//! against MANIFEST before anything is unpacked.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::ReleaseError;

/// Where distribution files come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A directory holding MANIFEST and the `.txz` files.
    Dir(PathBuf),
    /// A URL ending in `/`.
    Url(String),
}

impl Source {
    /// `https://…`, `http://…`, `file:///dir` or a directory path.
    pub fn parse(s: &str) -> Source {
        if let Some(p) = s.strip_prefix("file://") {
            return Source::Dir(PathBuf::from(p));
        }
        if s.starts_with("http://") || s.starts_with("https://") {
            let url = if s.ends_with('/') { s.to_string() } else { format!("{s}/") };
            return Source::Url(url);
        }
        Source::Dir(PathBuf::from(s))
    }

    /// True for plain `http://`, which brig only uses when named.
    pub fn is_plain_http(&self) -> bool {
        matches!(self, Source::Url(u) if u.starts_with("http://"))
    }

    pub fn describe(&self) -> String {
        match self {
            Source::Dir(d) => d.display().to_string(),
            Source::Url(u) => u.clone(),
        }
    }
}

/// Progress of one download, for a progress bar.
pub trait Progress {
    fn start(&self, file: &str, total: Option<u64>, already: u64);
    fn advance(&self, bytes: u64);
    fn finish(&self);
}

/// No progress display (not a terminal, or tests).
pub struct Quiet;

impl Progress for Quiet {
    fn start(&self, _: &str, _: Option<u64>, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReleaseError + '_ {
    move |source| ReleaseError::Io { path: path.to_path_buf(), source }
}

/// Makes `file` available locally and returns its path: the file itself for
/// a directory source; `cache/file` for a URL, downloaded (or resumed from
/// `cache/file.part`) if it is not complete yet.
pub fn obtain(
    source: &Source,
    file: &str,
    cache: &Path,
    progress: &dyn Progress,
    stop: &AtomicBool,
) -> Result<PathBuf, ReleaseError> {
    match source {
        Source::Dir(d) => {
            let p = d.join(file);
            if !p.is_file() {
                return Err(ReleaseError::Network(format!(
                    "{} does not exist; --from must name a directory holding MANIFEST and the .txz files",
                    p.display()
                )));
            }
            Ok(p)
        }
        Source::Url(base) => {
            let done = cache.join(file);
            if done.is_file() {
                return Ok(done);
            }
            std::fs::create_dir_all(cache).map_err(io(cache))?;
            let part = cache.join(format!("{file}.part"));
            download(&format!("{base}{file}"), &part, progress, stop)?;
            std::fs::rename(&part, &done).map_err(io(&done))?;
            Ok(done)
        }
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_recv_response(Some(Duration::from_secs(30)))
        // A stalled transfer fails instead of hanging forever.
        .timeout_recv_body(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .build()
        .new_agent()
}

/// Downloads `url` into `part`, resuming from its current length with a
/// Range request. Fails (keeping `part` for the next try) when the
/// connection drops before Content-Length bytes arrived.
fn download(url: &str, part: &Path, progress: &dyn Progress, stop: &AtomicBool) -> Result<(), ReleaseError> {
    let have = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
    let mut req = agent().get(url);
    if have > 0 {
        req = req.header("Range", &format!("bytes={have}-"));
    }
    let net = |e: ureq::Error| {
        ReleaseError::Network(format!(
            "cannot download {url}: {e}; check the address and the network, then run the command again"
        ))
    };
    let mut resp = req.call().map_err(net)?;
    let status = resp.status().as_u16();
    let (append, start) = match status {
        206 => (true, have),
        200 => (false, 0),
        416 if have > 0 => {
            // Nothing left to send: the part is complete.
            return Ok(());
        }
        404 => {
            return Err(ReleaseError::Network(format!(
                "{url} does not exist (HTTP 404); check the release name, --arch and the mirror"
            )))
        }
        s => return Err(ReleaseError::Network(format!("cannot download {url}: the server answered HTTP {s}"))),
    };
    let length: Option<u64> =
        resp.headers().get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(part)
        .map_err(io(part))?;
    progress.start(url.rsplit('/').next().unwrap_or(url), length.map(|l| l + start), start);
    let mut body = resp.body_mut().as_reader();
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0u64;
    loop {
        if stop.load(Ordering::Relaxed) {
            progress.finish();
            return Err(ReleaseError::Interrupted);
        }
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                progress.finish();
                let of = length.map(|l| format!(" of {}", start + l)).unwrap_or_default();
                return Err(ReleaseError::Network(format!(
                    "download of {url} was cut short at {}{of} bytes ({e}); run the command again to resume",
                    start + got
                )));
            }
        };
        out.write_all(&buf[..n]).map_err(io(part))?;
        got += n as u64;
        progress.advance(n as u64);
    }
    progress.finish();
    out.sync_all().map_err(io(part))?;
    if let Some(len) = length {
        if got < len {
            return Err(ReleaseError::Network(format!(
                "download of {url} was cut short at {} of {} bytes (the server closed the connection); run the command again to resume",
                start + got,
                start + len
            )));
        }
    }
    Ok(())
}

/// SHA-256 of a file, lowercase hex.
pub fn sha256(path: &Path) -> Result<String, ReleaseError> {
    let mut f = std::fs::File::open(path).map_err(io(path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Checks a file against the expected hash; a cached download that does
/// not match is deleted so the next run fetches it anew.
pub fn verify(path: &Path, file: &str, want: &str, source_name: &str, cached: bool) -> Result<(), ReleaseError> {
    let got = sha256(path)?;
    if got.eq_ignore_ascii_case(want) {
        return Ok(());
    }
    if cached {
        std::fs::remove_file(path).map_err(io(path))?;
    }
    Err(ReleaseError::Checksum {
        file: file.to_string(),
        got,
        want: want.to_ascii_lowercase(),
        source_name: source_name.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources() {
        assert_eq!(Source::parse("https://m.example/r"), Source::Url("https://m.example/r/".into()));
        assert_eq!(Source::parse("file:///srv/mirror"), Source::Dir("/srv/mirror".into()));
        assert_eq!(Source::parse("/srv/mirror"), Source::Dir("/srv/mirror".into()));
        assert!(Source::parse("http://m.example/").is_plain_http());
        assert!(!Source::parse("https://m.example/").is_plain_http());
    }

    #[test]
    fn sha256_of_a_file_and_verification() {
        let t = tempfile::tempdir().expect("tempdir");
        let p = t.path().join("f");
        std::fs::write(&p, b"abc").expect("write");
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(sha256(&p).expect("hash"), abc);
        verify(&p, "f", &abc.to_uppercase(), "MANIFEST", true).expect("matches");
        let e = verify(&p, "f", &"0".repeat(64), "MANIFEST", true).expect_err("mismatch");
        assert!(e.to_string().starts_with(&format!("f: SHA-256 is {abc} but MANIFEST says 000")), "{e}");
        assert!(!p.exists(), "a bad cached download is deleted");
    }
}
