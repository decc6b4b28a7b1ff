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
/// `cache/file.part`) if it is not complete yet. A file larger than `max`
/// bytes is refused, and its download stopped there.
pub fn obtain(
    source: &Source,
    file: &str,
    cache: &Path,
    max: u64,
    progress: &dyn Progress,
    stop: &AtomicBool,
) -> Result<PathBuf, ReleaseError> {
    match source {
        Source::Dir(d) => {
            let p = d.join(file);
            let Ok(meta) =
                std::fs::metadata(&p).map_err(|_| ()).and_then(|m| if m.is_file() { Ok(m) } else { Err(()) })
            else {
                return Err(ReleaseError::Network(format!(
                    "{} does not exist; --from must name a directory holding MANIFEST and the .txz files",
                    p.display()
                )));
            };
            if meta.len() > max {
                return Err(too_large(&p.display().to_string(), meta.len(), max));
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
            let got = download(&format!("{base}{file}"), &part, &Limits { chunk: CHUNK, max }, progress, stop);
            if let Err(ReleaseError::TooLarge { .. }) = &got {
                // Junk: the next run must not resume it.
                let _ = std::fs::remove_file(&part);
            }
            got?;
            std::fs::rename(&part, &done).map_err(io(&done))?;
            Ok(done)
        }
    }
}

fn too_large(what: &str, size: u64, max: u64) -> ReleaseError {
    ReleaseError::TooLarge { what: what.to_string(), size, max }
}

/// Bytes asked for per request: a stalled server fails within one chunk's
/// time budget instead of hanging, and a slow link is never cut off by a
/// whole-file timeout.
const CHUNK: u64 = 16 << 20;
/// Time budget for one chunk's body (at least ~140 KB/s).
const CHUNK_TIME: Duration = Duration::from_secs(120);
/// The slowest transfer a server ignoring Range is given time for.
const SLOWEST: u64 = 64 << 10;
/// Redirects followed, each to http:// or https:// only.
const MAX_REDIRECTS: usize = 5;

/// How a download proceeds: bytes per request, and at most how many.
#[derive(Clone, Copy)]
struct Limits {
    chunk: u64,
    max: u64,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_recv_response(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        // Followed by hand, so that a redirect to file:// or elsewhere
        // off the web is refused as such (redirect_target).
        .max_redirects(0)
        .build()
        .new_agent()
}

/// `Content-Range: bytes A-B/TOTAL` -> TOTAL.
fn range_total(v: &str) -> Option<u64> {
    v.rsplit('/').next()?.trim().parse().ok()
}

/// Where a redirect from `from` to `location` leads: an http(s) URL, or a
/// refusal for any other scheme (a `file://` URL would read the machine's
/// own files).
fn redirect_target(from: &str, location: &str) -> Result<String, String> {
    let lower = location.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        return Ok(location.to_string());
    }
    if let Some((scheme, _)) = location.split_once(':').filter(|(s, _)| {
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.')
    }) {
        return Err(format!(
            "the mirror redirected {from} to {location}; brig follows redirects only to http:// and https:// URLs, not {scheme}:"
        ));
    }
    let origin_end = from.find("://").map_or(0, |i| i + 3);
    let host_end = from[origin_end..].find('/').map_or(from.len(), |i| origin_end + i);
    if location.starts_with('/') {
        return Ok(format!("{}{location}", &from[..host_end]));
    }
    let dir_end = from.rfind('/').filter(|&i| i >= host_end).map_or(from.len(), |i| i + 1);
    Ok(format!("{}{location}", &from[..dir_end]))
}

/// What the transfer thread tells the waiting one.
enum Event {
    Start { file: String, total: Option<u64>, already: u64 },
    Advance(u64),
}

/// Downloads `url` into `part` (see `transfer`) on a thread of its own,
/// while this one shows progress and watches `stop`: Ctrl-C or SIGTERM
/// ends the command at once, even while a read waits on a server that
/// has gone quiet (the thread is told to stop, and left behind if a read
/// keeps it).
fn download(
    url: &str,
    part: &Path,
    limits: &Limits,
    progress: &dyn Progress,
    stop: &AtomicBool,
) -> Result<(), ReleaseError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let cancel = std::sync::Arc::new(AtomicBool::new(false));
    let worker = {
        let (url, part, cancel) = (url.to_string(), part.to_path_buf(), std::sync::Arc::clone(&cancel));
        let limits = *limits;
        std::thread::spawn(move || transfer(&url, &part, &limits, &tx, &cancel))
    };
    let outcome = loop {
        if stop.load(Ordering::Relaxed) {
            cancel.store(true, Ordering::Relaxed);
            break Err(ReleaseError::Interrupted);
        }
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(Event::Start { file, total, already }) => progress.start(&file, total, already),
            Ok(Event::Advance(n)) => progress.advance(n),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                break worker.join().unwrap_or_else(|_| Err(ReleaseError::Network("the download thread failed".into())))
            }
        }
    };
    progress.finish();
    outcome
}

/// Downloads `url` into `part` in Range requests of `limits.chunk` bytes,
/// resuming from the part's current length. A server that ignores Range
/// gets one plain request, with time for the whole file at 64 KB/s. Fails,
/// keeping `part` for the next run, when a transfer stops early; a file
/// larger than `limits.max` is refused as soon as that shows.
fn transfer(
    url: &str,
    part: &Path,
    limits: &Limits,
    events: &std::sync::mpsc::Sender<Event>,
    cancel: &AtomicBool,
) -> Result<(), ReleaseError> {
    let agent = agent();
    let net = |url: &str, e: ureq::Error| {
        ReleaseError::Network(format!(
            "cannot download {url}: {e}; check the address and the network, then run the command again"
        ))
    };
    let mut url = url.to_string();
    let mut redirects = 0;
    let mut started = false;
    loop {
        let have = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
        let req = agent
            .get(&url)
            .header("Range", &format!("bytes={have}-{}", have + limits.chunk - 1))
            .config()
            .timeout_recv_body(Some(CHUNK_TIME))
            .build();
        let mut resp = req.call().map_err(|e| net(&url, e))?;
        let header = |r: &ureq::http::Response<ureq::Body>, k: &str| {
            r.headers().get(k).and_then(|v| v.to_str().ok()).map(str::to_string)
        };
        let code = resp.status().as_u16();
        if matches!(code, 301 | 302 | 303 | 307 | 308) {
            redirects += 1;
            let location = header(&resp, "location").unwrap_or_default();
            if redirects > MAX_REDIRECTS || location.is_empty() {
                return Err(ReleaseError::Network(format!("{url} redirects too often, or nowhere (HTTP {code})")));
            }
            // Later chunks go straight to where it led.
            url = redirect_target(&url, &location).map_err(ReleaseError::Network)?;
            continue;
        }
        let length: Option<u64> = header(&resp, "content-length").and_then(|v| v.parse().ok());
        let (append, total) = match code {
            206 => (true, header(&resp, "content-range").as_deref().and_then(range_total)),
            // The server ignores Range: the whole file in one go.
            200 => {
                let budget = length.unwrap_or(limits.max).min(limits.max) / SLOWEST + 60;
                let whole = agent.get(&url).config().timeout_recv_body(Some(Duration::from_secs(budget))).build();
                resp = whole.call().map_err(|e| net(&url, e))?;
                (false, header(&resp, "content-length").and_then(|v| v.parse().ok()))
            }
            416 if have > 0 => return Ok(()),
            404 => {
                return Err(ReleaseError::Network(format!(
                    "{url} does not exist (HTTP 404); check the release name, --arch and the mirror"
                )))
            }
            code => {
                return Err(ReleaseError::Network(format!("cannot download {url}: the server answered HTTP {code}")))
            }
        };
        if let Some(t) = total.filter(|t| *t > limits.max) {
            return Err(too_large(&url, t, limits.max));
        }
        let start = if append { have } else { 0 };
        if !started {
            let file = url.rsplit('/').next().unwrap_or(&url).to_string();
            let _ = events.send(Event::Start { file, total, already: start });
            started = true;
        }
        let mut out = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(part)
            .map_err(io(part))?;
        let room = limits.max.saturating_sub(start);
        let got = match copy_body(&mut resp, &mut out, part, room, events, cancel) {
            Ok(n) => n,
            Err(ReleaseError::Network(why)) => {
                let of = total.map(|t| format!(" of {t}")).unwrap_or_default();
                return Err(ReleaseError::Network(format!(
                    "download of {url} was cut short at {}{of} bytes ({why}); run the command again to resume",
                    std::fs::metadata(part).map_or(start, |m| m.len())
                )));
            }
            Err(ReleaseError::TooLarge { .. }) => return Err(too_large(&url, start + room + 1, limits.max)),
            Err(e) => return Err(e),
        };
        out.sync_all().map_err(io(part))?;
        let now = start + got;
        if length.is_some_and(|l| got < l) {
            let of = total.map(|t| format!(" of {t}")).unwrap_or_default();
            return Err(ReleaseError::Network(format!(
                "download of {url} was cut short at {now}{of} bytes (the server closed the connection); run the command again to resume"
            )));
        }
        // Done when the whole file is here, or the server said no more.
        if !append || total.is_none_or(|t| now >= t) || got == 0 {
            return Ok(());
        }
    }
}

/// Copies a response body into `out`, at most `room` bytes (one more is
/// TooLarge), checking `cancel` between reads. A read error becomes
/// `Network(cause)`.
fn copy_body(
    resp: &mut ureq::http::Response<ureq::Body>,
    out: &mut std::fs::File,
    part: &Path,
    room: u64,
    events: &std::sync::mpsc::Sender<Event>,
    cancel: &AtomicBool,
) -> Result<u64, ReleaseError> {
    let mut body = resp.body_mut().with_config().limit(room.saturating_add(1)).reader();
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0u64;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(ReleaseError::Interrupted);
        }
        let n = match body.read(&mut buf) {
            Ok(0) => return Ok(got),
            Ok(n) => n,
            Err(e) => return Err(ReleaseError::Network(e.to_string())),
        };
        if got + n as u64 > room {
            return Err(too_large("", got + n as u64, room));
        }
        out.write_all(&buf[..n]).map_err(io(part))?;
        got += n as u64;
        let _ = events.send(Event::Advance(n as u64));
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
        download(&url, &part, &Limits { chunk: 100, max: 1 << 20 }, &Quiet, &AtomicBool::new(false))
            .expect("downloads");
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
        download(&url, &part, &Limits { chunk: 4, max: 1 << 20 }, &Quiet, &AtomicBool::new(false)).expect("downloads");
        assert_eq!(std::fs::read(&part).expect("read"), data, "a 200 replaces what was there");
        assert_eq!(server.join().expect("server"), 2);
    }

    /// A server that answers every request with `head` and then `body`,
    /// and keeps the connection open without sending more.
    fn stalling(head: &'static str, body: &'static [u8]) -> String {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/f", l.local_addr().expect("addr"));
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for mut s in l.incoming().flatten() {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let _ = s.write_all(head.as_bytes());
                let _ = s.write_all(body);
                held.push(s);
            }
        });
        url
    }

    #[test]
    fn a_stop_ends_a_download_whose_server_went_quiet_at_once() {
        // Content-Length promises more than ever comes, and the connection
        // stays open: the read waits; Ctrl-C must not.
        let url = stalling(
            "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-99/100\r\nContent-Length: 100\r\n\r\n",
            b"abc",
        );
        let t = tempfile::tempdir().expect("tempdir");
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let raise = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            raise.store(true, Ordering::Relaxed);
        });
        let began = std::time::Instant::now();
        let r = download(&url, &t.path().join("f.part"), &Limits { chunk: 100, max: 1 << 20 }, &Quiet, &stop);
        assert!(matches!(r, Err(ReleaseError::Interrupted)), "{r:?}");
        assert!(began.elapsed() < Duration::from_secs(5), "{:?}", began.elapsed());
    }

    #[test]
    fn an_endless_body_is_cut_at_the_limit() {
        // No length, no Range, and more than the limit before it stalls.
        static ENDLESS: [u8; 5000] = [7u8; 5000];
        let url = stalling("HTTP/1.1 200 OK\r\n\r\n", &ENDLESS);
        let t = tempfile::tempdir().expect("tempdir");
        let part = t.path().join("f.part");
        let r = download(&url, &part, &Limits { chunk: 1 << 20, max: 1000 }, &Quiet, &AtomicBool::new(false));
        match r {
            Err(ReleaseError::TooLarge { max, .. }) => assert_eq!(max, 1000),
            other => panic!("{other:?}"),
        }
        assert!(std::fs::metadata(&part).map_or(0, |m| m.len()) <= 1000, "never more than the limit on disk");
    }

    #[test]
    fn a_redirect_off_the_web_is_refused_as_such() {
        let url =
            stalling("HTTP/1.1 302 Found\r\nLocation: file:///etc/master.passwd\r\nContent-Length: 0\r\n\r\n", b"");
        let t = tempfile::tempdir().expect("tempdir");
        let e = download(
            &url,
            &t.path().join("f.part"),
            &Limits { chunk: 100, max: 1000 },
            &Quiet,
            &AtomicBool::new(false),
        )
        .expect_err("refused");
        assert!(e.to_string().contains("brig follows redirects only to http:// and https:// URLs, not file:"), "{e}");
    }

    #[test]
    fn redirect_targets() {
        let from = "https://m.example/releases/amd64/14.3-RELEASE/base.txz";
        assert_eq!(
            redirect_target(from, "https://cdn.example/x/base.txz"),
            Ok("https://cdn.example/x/base.txz".into())
        );
        assert_eq!(redirect_target(from, "/mirror/base.txz"), Ok("https://m.example/mirror/base.txz".into()));
        assert_eq!(
            redirect_target(from, "other.txz"),
            Ok("https://m.example/releases/amd64/14.3-RELEASE/other.txz".into())
        );
        assert!(redirect_target(from, "ftp://m.example/base.txz").is_err());
        assert!(redirect_target(from, "FILE:/etc/passwd").is_err());
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
