//! brig's export archive: one jail, self-describing, every part checked.
//!
//! ```text
//! brig-export 1\n
//! MANIFEST (one line of JSON)\n
//! manifest-sha256 HEX\n
//! DEFINITION (manifest.definition_bytes bytes)
//! part NAME\n                       one a dataset, in manifest order
//!   (u32 big-endian LEN, LEN bytes: one zstd frame of up to 1 MiB)...
//!   u32 0
//!   sha256 HEX\n                    of the part's bytes above (lengths and frames)
//! end HEX\n                         SHA-256 of the manifest line and every
//!                                   part's sha256 line
//! signature HEX\n                   optional: ed25519 of the end line
//! ```
//!
//! An importer reads the manifest and the definition, checked by their
//! sums, before it creates anything; each part is checked as it is
//! received (a part that fails is undone), and the end line last. Frames
//! are bounded both ways, so a damaged or hostile archive cannot make a
//! reader allocate without limit.

use std::io::{BufRead, Read, Write};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

const MAGIC: &str = "brig-export";
/// The archive format this brig writes for a jail.
pub const FORMAT: u32 = 1;
/// The format of an image's archive (`brig export --image`): a brig that
/// reads only jails' refuses it as newer instead of taking it for one.
pub const IMAGE_FORMAT: u32 = 2;
/// The newest format this brig reads.
pub const NEWEST: u32 = IMAGE_FORMAT;
/// Uncompressed bytes of one frame.
const CHUNK: usize = 1 << 20;
/// Compressed bytes of one frame a reader takes: zstd's worst case for
/// a chunk is a little more than the chunk.
const MAX_FRAME: u32 = (CHUNK + CHUNK / 8) as u32;
/// The longest line a reader takes.
const MAX_LINE: u64 = 64 * 1024;
/// The largest definition a reader takes (a definition file's own limit).
const MAX_DEFINITION: u64 = crate::state::bounded::CONFIG_LIMIT;

/// What an archive holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// The version of brig that wrote it.
    pub brig: String,
    pub jail: String,
    /// The release its definition names, which an importer must have.
    pub release: Option<String>,
    /// The snapshot its datasets were sent from.
    pub snapshot: String,
    /// The snapshot an incremental archive's streams start from.
    pub since: Option<String>,
    /// Unix time it was written.
    pub created: u64,
    /// Its datasets, relative to the jail's dataset, in the order of the
    /// parts.
    pub datasets: Vec<String>,
    pub definition_bytes: u64,
    pub definition_sha256: String,
    /// An image's archive: the image's name (`jail` is it too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

#[derive(Debug, Error)]
pub enum ArchiveError {
    #[error("not a brig export archive")]
    NotAnArchive,
    #[error("the archive is of format {0}, newer than this brig's {NEWEST}; import it with a newer brig")]
    Newer(u32),
    #[error("the archive is damaged: {0}")]
    Damaged(String),
    #[error("reading the archive: {0}")]
    Io(#[from] std::io::Error),
    #[error("writing the archive: {0}")]
    Write(std::io::Error),
    #[error("the archive is not signed, and --verify asks for its signature")]
    Unsigned,
    #[error(
        "the archive's signature is not made by the key --verify names, or the archive was changed after it was signed"
    )]
    BadSignature,
}

fn damaged(what: impl Into<String>) -> ArchiveError {
    ArchiveError::Damaged(what.into())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes an archive to `out`.
pub struct Writer<W: Write> {
    out: W,
    /// The end line's sum: the manifest line and the parts' sum lines.
    digest: Sha256,
}

impl<W: Write> Writer<W> {
    /// Writes the head: the manifest (its definition sum and size filled
    /// in from `definition`) and the definition.
    pub fn begin(mut out: W, manifest: &Manifest, definition: &[u8]) -> std::io::Result<Writer<W>> {
        let mut manifest = manifest.clone();
        manifest.definition_bytes = definition.len() as u64;
        manifest.definition_sha256 = hex(&Sha256::digest(definition));
        let mut line = serde_json::to_vec(&manifest).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let mut digest = Sha256::new();
        digest.update(&line);
        writeln!(out, "{MAGIC} {}", manifest.format)?;
        out.write_all(&line)?;
        writeln!(out, "manifest-sha256 {}", hex(&Sha256::digest(&line)))?;
        out.write_all(definition)?;
        Ok(Writer { out, digest })
    }

    /// Starts the part of dataset `name`; what is written to it is its
    /// stream, and `PartWriter::close` ends it.
    pub fn part(&mut self, name: &str) -> std::io::Result<PartWriter<'_, W>> {
        writeln!(self.out, "part {name}")?;
        Ok(PartWriter { archive: self, buf: Vec::with_capacity(CHUNK), hash: Sha256::new() })
    }

    /// Writes the end line, signed with `key` if given; the output, for
    /// the caller to flush and sync.
    pub fn finish(mut self, key: Option<&ed25519_dalek::SigningKey>) -> std::io::Result<W> {
        use ed25519_dalek::Signer;
        let end = format!("end {}\n", hex(&self.digest.finalize_reset()));
        self.out.write_all(end.as_bytes())?;
        if let Some(k) = key {
            writeln!(self.out, "signature {}", hex(&k.sign(end.as_bytes()).to_bytes()))?;
        }
        Ok(self.out)
    }
}

/// One dataset's stream going into an archive, compressed a chunk at a
/// time.
pub struct PartWriter<'a, W: Write> {
    archive: &'a mut Writer<W>,
    buf: Vec<u8>,
    hash: Sha256,
}

impl<W: Write> PartWriter<'_, W> {
    fn frame(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let frame = ruzstd::encoding::compress_to_vec(&self.buf[..], ruzstd::encoding::CompressionLevel::Fastest);
        let len = u32::try_from(frame.len()).ok().filter(|l| *l <= MAX_FRAME).ok_or_else(|| {
            std::io::Error::other(format!("a compressed frame of {} bytes is past the format's limit", frame.len()))
        })?;
        self.put(&len.to_be_bytes())?;
        self.put(&frame)?;
        self.buf.clear();
        Ok(())
    }

    /// Writes bytes of the part, into its sum too.
    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.hash.update(bytes);
        self.archive.out.write_all(bytes)
    }

    /// Ends the part with its sum.
    pub fn close(mut self) -> std::io::Result<()> {
        self.frame()?;
        self.put(&0u32.to_be_bytes())?;
        let line = format!("sha256 {}\n", hex(&self.hash.finalize_reset()));
        self.archive.digest.update(line.as_bytes());
        self.archive.out.write_all(line.as_bytes())
    }
}

impl<W: Write> Write for PartWriter<'_, W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let n = data.len().min(CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK {
            self.frame()?;
        }
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.archive.out.flush()
    }
}

/// A line of at most MAX_LINE bytes, without its newline.
fn line(input: &mut dyn BufRead) -> Result<String, ArchiveError> {
    let mut buf = Vec::new();
    input.take(MAX_LINE).read_until(b'\n', &mut buf)?;
    if buf.pop() != Some(b'\n') {
        return Err(damaged("it ends early"));
    }
    String::from_utf8(buf).map_err(|_| damaged("a line is not text"))
}

/// Reads an archive from `input`.
pub struct Reader<R: BufRead> {
    input: R,
    digest: Sha256,
    parts: std::collections::VecDeque<String>,
    /// The end line, once read and checked.
    end: Option<String>,
}

impl<R: BufRead> Reader<R> {
    /// Reads and checks the head: the manifest and the definition.
    pub fn open(mut input: R) -> Result<(Reader<R>, Manifest, Vec<u8>), ArchiveError> {
        let first = line(&mut input).map_err(|_| ArchiveError::NotAnArchive)?;
        let format = first.strip_prefix(MAGIC).and_then(|r| r.strip_prefix(' ')).ok_or(ArchiveError::NotAnArchive)?;
        let format: u32 = format.parse().ok().filter(|f| *f > 0).ok_or(ArchiveError::NotAnArchive)?;
        if format > NEWEST {
            return Err(ArchiveError::Newer(format));
        }
        let manifest_line = line(&mut input)?;
        let sum = line(&mut input)?;
        let mut with_newline = manifest_line.clone().into_bytes();
        with_newline.push(b'\n');
        if sum.strip_prefix("manifest-sha256 ") != Some(hex(&Sha256::digest(&with_newline)).as_str()) {
            return Err(damaged("its manifest does not match its checksum"));
        }
        let manifest: Manifest =
            serde_json::from_str(&manifest_line).map_err(|e| damaged(format!("its manifest: {e}")))?;
        if manifest.format != format {
            return Err(damaged("its manifest is of another format than its first line"));
        }
        if manifest.definition_bytes > MAX_DEFINITION {
            return Err(damaged("its definition is larger than a definition can be"));
        }
        let mut definition = Vec::new();
        (&mut input).take(manifest.definition_bytes).read_to_end(&mut definition)?;
        if definition.len() as u64 != manifest.definition_bytes {
            return Err(damaged("it ends early"));
        }
        if hex(&Sha256::digest(&definition)) != manifest.definition_sha256 {
            return Err(damaged("its definition does not match its checksum"));
        }
        let mut digest = Sha256::new();
        digest.update(&with_newline);
        let parts = manifest.datasets.iter().cloned().collect();
        Ok((Reader { input, digest, parts, end: None }, manifest, definition))
    }

    /// The next part, in manifest order; None once every part was read and
    /// the end line checked.
    pub fn part(&mut self) -> Result<Option<PartReader<'_, R>>, ArchiveError> {
        let l = line(&mut self.input)?;
        match self.parts.pop_front() {
            Some(want) => {
                if l.strip_prefix("part ") != Some(want.as_str()) {
                    return Err(damaged(format!("part {want} is not where the manifest says")));
                }
                Ok(Some(PartReader {
                    archive: self,
                    name: want,
                    frame: Vec::new(),
                    at: 0,
                    hash: Sha256::new(),
                    done: false,
                }))
            }
            None => {
                if l.strip_prefix("end ") != Some(hex(&self.digest.finalize_reset()).as_str()) {
                    return Err(damaged("its end does not match its parts"));
                }
                self.end = Some(format!("{l}\n"));
                Ok(None)
            }
        }
    }
}

impl<R: BufRead> Reader<R> {
    /// Checks, once every part was read, that `key` signed the archive.
    pub fn verify(&mut self, key: &ed25519_dalek::VerifyingKey) -> Result<(), ArchiveError> {
        let end = self.end.clone().ok_or_else(|| damaged("it was not read to its end"))?;
        if self.input.fill_buf()?.is_empty() {
            return Err(ArchiveError::Unsigned);
        }
        let l = line(&mut self.input)?;
        let bytes = l.strip_prefix("signature ").and_then(unhex).ok_or(ArchiveError::BadSignature)?;
        let sig: [u8; 64] = bytes.try_into().map_err(|_| ArchiveError::BadSignature)?;
        key.verify_strict(end.as_bytes(), &ed25519_dalek::Signature::from_bytes(&sig))
            .map_err(|_| ArchiveError::BadSignature)
    }
}

/// Bytes from hex digits.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| text.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect()
}

/// One dataset's stream coming out of an archive. A read fails when the
/// archive is damaged; `finish` checks the part's sum.
pub struct PartReader<'a, R: BufRead> {
    archive: &'a mut Reader<R>,
    pub name: String,
    frame: Vec<u8>,
    at: usize,
    hash: Sha256,
    done: bool,
}

impl<R: BufRead> PartReader<'_, R> {
    /// The next frame, decompressed; false at the part's end.
    fn next_frame(&mut self) -> Result<bool, ArchiveError> {
        let mut len = [0u8; 4];
        self.archive.input.read_exact(&mut len).map_err(|_| damaged("it ends early"))?;
        self.hash.update(len);
        let len = u32::from_be_bytes(len);
        if len == 0 {
            return Ok(false);
        }
        if len > MAX_FRAME {
            return Err(damaged(format!("part {} has a frame past the format's limit", self.name)));
        }
        let mut compressed = vec![0u8; len as usize];
        self.archive.input.read_exact(&mut compressed).map_err(|_| damaged("it ends early"))?;
        self.hash.update(&compressed);
        // A frame's window is bounded too: a chunk needs no more.
        let mut decoder = ruzstd::decoding::StreamingDecoder::new_with_max_window_size(&compressed[..], CHUNK as u64)
            .map_err(|e| damaged(format!("part {}: {e}", self.name)))?;
        self.frame.clear();
        (&mut decoder)
            .take(CHUNK as u64 + 1)
            .read_to_end(&mut self.frame)
            .map_err(|e| damaged(format!("part {}: {e}", self.name)))?;
        if self.frame.len() > CHUNK {
            return Err(damaged(format!("part {} has a frame past the format's limit", self.name)));
        }
        self.at = 0;
        Ok(true)
    }

    /// Reads what is left of the part (nothing, when its stream was read
    /// whole) and checks its sum.
    pub fn finish(mut self) -> Result<(), ArchiveError> {
        let mut rest = Vec::new();
        self.read_to_end(&mut rest)?;
        if !rest.is_empty() {
            return Err(damaged(format!("part {} holds more than its stream", self.name)));
        }
        let l = line(&mut self.archive.input)?;
        let sum = hex(&self.hash.finalize_reset());
        if l.strip_prefix("sha256 ") != Some(sum.as_str()) {
            return Err(damaged(format!("part {} does not match its checksum", self.name)));
        }
        self.archive.digest.update(format!("{l}\n").as_bytes());
        Ok(())
    }
}

impl<R: BufRead> Read for PartReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.frame.len() {
            if self.done {
                return Ok(0);
            }
            match self.next_frame() {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    self.frame.clear();
                    self.at = 0;
                    return Ok(0);
                }
                Err(e) => return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())),
            }
        }
        let n = buf.len().min(self.frame.len() - self.at);
        buf[..n].copy_from_slice(&self.frame[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            format: FORMAT,
            brig: "0.1.0".into(),
            jail: "web".into(),
            release: Some("14.3-RELEASE".into()),
            snapshot: "s".into(),
            since: None,
            created: 1,
            datasets: vec!["root".into(), "data".into()],
            definition_bytes: 0,
            definition_sha256: String::new(),
            image: None,
        }
    }

    /// An archive of two parts: a big one that takes several frames, and a small one.
    fn archive() -> (Vec<u8>, Vec<u8>) {
        let big: Vec<u8> = (0..CHUNK + 17).map(|i| (i * 7 % 251) as u8).collect();
        let mut w = Writer::begin(Vec::new(), &manifest(), b"release = \"14.3-RELEASE\"\n").expect("head");
        let mut p = w.part("root").expect("part");
        p.write_all(&big).expect("write");
        p.close().expect("close");
        let mut p = w.part("data").expect("part");
        p.write_all(b"small").expect("write");
        p.close().expect("close");
        (w.finish(None).expect("end"), big)
    }

    fn read_all(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, ArchiveError> {
        let (mut r, m, def) = Reader::open(bytes)?;
        assert_eq!((m.jail.as_str(), def.as_slice()), ("web", &b"release = \"14.3-RELEASE\"\n"[..]));
        let mut out = Vec::new();
        while let Some(mut p) = r.part()? {
            let mut data = Vec::new();
            p.read_to_end(&mut data)?;
            let name = p.name.clone();
            p.finish()?;
            out.push((name, data));
        }
        Ok(out)
    }

    #[test]
    fn an_archive_reads_back_as_it_was_written() {
        let (bytes, big) = archive();
        assert!(bytes.len() < big.len(), "compressed");
        let parts = read_all(&bytes).expect("reads");
        assert_eq!(parts, vec![("root".to_string(), big), ("data".to_string(), b"small".to_vec())]);
    }

    #[test]
    fn every_flipped_byte_and_every_cut_is_refused() {
        let (bytes, _) = archive();
        // Every byte of the head and the small part, and a sample of the big one.
        let positions = (0..bytes.len()).filter(|i| *i < 400 || *i > bytes.len() - 200 || i % 7919 == 0);
        for at in positions {
            let mut bad = bytes.clone();
            bad[at] ^= 0x01;
            assert!(read_all(&bad).is_err(), "a flipped byte at {at} went unnoticed");
        }
        for cut in [0, 5, 40, bytes.len() / 2, bytes.len() - 1] {
            assert!(read_all(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn a_signed_archive_is_verified_by_its_key_and_by_no_other() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let other = ed25519_dalek::SigningKey::from_bytes(&[8u8; 32]);
        let write = |signer: Option<&ed25519_dalek::SigningKey>| {
            let mut w = Writer::begin(Vec::new(), &manifest(), b"x = 1\n").expect("head");
            for name in ["root", "data"] {
                let mut p = w.part(name).expect("part");
                p.write_all(name.as_bytes()).expect("write");
                p.close().expect("close");
            }
            w.finish(signer).expect("end")
        };
        let check = |bytes: &[u8], with: &ed25519_dalek::SigningKey| -> Result<(), ArchiveError> {
            let (mut r, _, _) = Reader::open(bytes)?;
            while let Some(mut p) = r.part()? {
                std::io::copy(&mut p, &mut std::io::sink())?;
                p.finish()?;
            }
            r.verify(&with.verifying_key())
        };
        let signed = write(Some(&key));
        check(&signed, &key).expect("its own key");
        assert!(matches!(check(&signed, &other), Err(ArchiveError::BadSignature)));
        assert!(matches!(check(&write(None), &key), Err(ArchiveError::Unsigned)));
        let mut flipped = signed.clone();
        let at = flipped.len() - 10;
        flipped[at] ^= 0x01;
        assert!(check(&flipped, &key).is_err());
    }

    #[test]
    fn a_newer_format_or_something_else_is_refused_with_a_sentence() {
        let (bytes, _) = archive();
        let newer = String::from_utf8_lossy(&bytes).replacen("brig-export 1", "brig-export 3", 1);
        let e = read_all(newer.as_bytes()).expect_err("newer");
        assert_eq!(e.to_string(), "the archive is of format 3, newer than this brig's 2; import it with a newer brig");
        // Its first line and its manifest must agree.
        let odd = String::from_utf8_lossy(&bytes).replacen("brig-export 1", "brig-export 2", 1);
        assert!(read_all(odd.as_bytes()).expect_err("odd").to_string().contains("another format"));
        assert!(matches!(read_all(b"PK\x03\x04zip"), Err(ArchiveError::NotAnArchive)));
    }
}
