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
            download(&format!("{base}{file}"), &part, CHUNK, progress, stop)?;
            std::fs::rename(&part, &done).map_err(io(&done))?;
            Ok(done)
        }
    }
}

/// Bytes asked for per request: a stalled server fails within one chunk's
/// time budget instead of hanging, and a slow link is never cut off by a
/// whole-file timeout.
const CHUNK: u64 = 16 << 20;
/// Time budget for one chunk's body (at least ~140 KB/s).
const CHUNK_TIME: Duration = Duration::from_secs(120);

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_recv_response(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .build()
        .new_agent()
}

/// `Content-Range: bytes A-B/TOTAL` -> TOTAL.
fn range_total(v: &str) -> Option<u64> {
    v.rsplit('/').next()?.trim().parse().ok()
}

/// Downloads `url` into `part` in Range requests of `chunk` bytes,
/// resuming from the part's current length. A server that ignores Range
/// gets one plain request. Fails, keeping `part` for the next run, when a
/// transfer stops early.
fn download(
    url: &str,
    part: &Path,
    chunk: u64,
    progress: &dyn Progress,
    stop: &AtomicBool,
) -> Result<(), ReleaseError> {
    let agent = agent();
    let net = |e: ureq::Error| {
        ReleaseError::Network(format!(
            "cannot download {url}: {e}; check the address and the network, then run the command again"
        ))
    };
    let mut started = false;
    let result = loop {
        let have = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
        let req = agent
            .get(url)
            .header("Range", &format!("bytes={have}-{}", have + chunk - 1))
            .config()
            .timeout_recv_body(Some(CHUNK_TIME))
            .build();
        let mut resp = match req.call() {
            Ok(r) => r,
            Err(e) => break Err(net(e)),
        };
        let header = |k: &str| resp.headers().get(k).and_then(|v| v.to_str().ok()).map(str::to_string);
        let length: Option<u64> = header("content-length").and_then(|v| v.parse().ok());
        let (append, total) = match resp.status().as_u16() {
            206 => (true, header("content-range").as_deref().and_then(range_total)),
            // The server ignores Range: take the whole file in one go,
            // without a chunk's time budget.
            200 => {
                let whole = agent.get(url).config().timeout_recv_body(None).build();
                resp = match whole.call() {
                    Ok(r) => r,
                    Err(e) => break Err(net(e)),
                };
                (false, length)
            }
            416 if have > 0 => break Ok(()),
            404 => {
                break Err(ReleaseError::Network(format!(
                    "{url} does not exist (HTTP 404); check the release name, --arch and the mirror"
                )))
            }
            code => {
                break Err(ReleaseError::Network(format!("cannot download {url}: the server answered HTTP {code}")))
            }
        };
        let start = if append { have } else { 0 };
        if !started {
            progress.start(url.rsplit('/').next().unwrap_or(url), total, start);
            started = true;
        }
        let mut out =
            match std::fs::OpenOptions::new().create(true).write(true).append(append).truncate(!append).open(part) {
                Ok(f) => f,
                Err(e) => break Err(ReleaseError::Io { path: part.to_path_buf(), source: e }),
            };
        let got = match copy_body(&mut resp, &mut out, part, progress, stop) {
            Ok(n) => n,
            Err(ReleaseError::Network(why)) => {
                let of = total.map(|t| format!(" of {t}")).unwrap_or_default();
                break Err(ReleaseError::Network(format!(
                    "download of {url} was cut short at {}{of} bytes ({why}); run the command again to resume",
                    std::fs::metadata(part).map_or(start, |m| m.len())
                )));
            }
            Err(e) => break Err(e),
        };
        if let Err(e) = out.sync_all() {
            break Err(ReleaseError::Io { path: part.to_path_buf(), source: e });
        }
        let now = start + got;
        if length.is_some_and(|l| got < l) {
            let of = total.map(|t| format!(" of {t}")).unwrap_or_default();
            break Err(ReleaseError::Network(format!(
                "download of {url} was cut short at {now}{of} bytes (the server closed the connection); run the command again to resume"
            )));
        }
        // Done when the whole file is here, or the server said no more.
        if !append || total.is_none_or(|t| now >= t) || got == 0 {
            break Ok(());
        }
    };
    progress.finish();
    result
}

/// Copies a response body into `out`, checking `stop` between reads.
/// A read error becomes `Network(cause)`.
fn copy_body(
    resp: &mut ureq::http::Response<ureq::Body>,
    out: &mut std::fs::File,
    part: &Path,
    progress: &dyn Progress,
    stop: &AtomicBool,
) -> Result<u64, ReleaseError> {
    let mut body = resp.body_mut().as_reader();
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0u64;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Err(ReleaseError::Interrupted);
        }
        let n = match body.read(&mut buf) {
            Ok(0) => return Ok(got),
            Ok(n) => n,
            Err(_) if stop.load(Ordering::Relaxed) => return Err(ReleaseError::Interrupted),
            Err(e) => return Err(ReleaseError::Network(e.to_string())),
        };
        out.write_all(&buf[..n]).map_err(io(part))?;
        got += n as u64;
        progress.advance(n as u64);
    }
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

    /// Serves `data` to `n` requests on 127.0.0.1, honouring `Range:
    /// bytes=A-B` unless `ignore_range`; returns the URL and the number of
    /// requests seen.
    fn serve(data: Vec<u8>, n: usize, ignore_range: bool) -> (String, std::thread::JoinHandle<usize>) {
        use std::io::BufRead;
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/f", l.local_addr().expect("addr"));
        let h = std::thread::spawn(move || {
            let mut seen = 0;
            for s in l.incoming().take(n).flatten() {
                seen += 1;
                let mut r = std::io::BufReader::new(s.try_clone().expect("clone"));
                let mut range = None;
                let mut line = String::new();
                while r.read_line(&mut line).unwrap_or(0) > 2 {
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
                        let (a, b) = v.trim().split_once('-').unwrap_or(("0", ""));
                        range = Some((
                            a.parse::<usize>().unwrap_or(0),
                            b.parse::<usize>().map_or(data.len(), |b| (b + 1).min(data.len())),
                        ));
                    }
                    line.clear();
                }
                let mut s = s;
                let (head, body) = match range.filter(|_| !ignore_range) {
                    Some((a, b)) => (
                        format!("206 Partial Content\r\nContent-Range: bytes {a}-{}/{}", b - 1, data.len()),
                        &data[a..b],
                    ),
                    None => ("200 OK".to_string(), &data[..]),
                };
                let _ = write!(s, "HTTP/1.1 {head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                let _ = s.write_all(body);
            }
            seen
        });
        (url, h)
    }

    #[test]
    fn downloads_in_range_chunks() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        let (url, server) = serve(data.clone(), 10, false);
        let t = tempfile::tempdir().expect("tempdir");
        let part = t.path().join("f.part");
        download(&url, &part, 100, &Quiet, &AtomicBool::new(false)).expect("downloads");
        assert_eq!(std::fs::read(&part).expect("read"), data);
        assert_eq!(server.join().expect("server"), 10, "ten 100-byte chunks");
    }

    #[test]
    fn a_server_without_range_support_gets_one_plain_request() {
        let data = b"whole file".to_vec();
        // The first (ranged) answer is a 200, so brig asks once more plainly.
        let (url, server) = serve(data.clone(), 2, true);
        let t = tempfile::tempdir().expect("tempdir");
        let part = t.path().join("f.part");
        std::fs::write(&part, b"stale").expect("write");
        download(&url, &part, 4, &Quiet, &AtomicBool::new(false)).expect("downloads");
        assert_eq!(std::fs::read(&part).expect("read"), data, "a 200 replaces what was there");
        assert_eq!(server.join().expect("server"), 2);
    }

    #[test]
    fn content_range_totals() {
        assert_eq!(range_total("bytes 0-99/1000"), Some(1000));
        assert_eq!(range_total("bytes 0-99/*"), None);
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
