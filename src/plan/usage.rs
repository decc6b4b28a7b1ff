//! Accounting for billing: the samples `brig supervise` takes of each
//! running jail's racct usage, as fixed-size records (encoded and decoded
//! here, byte for byte), and what `brig usage` makes of them: CPU-seconds,
//! memory byte-hours and I/O bytes over a time. Pure.

use serde::Serialize;

/// One sample: Unix time, which start of the jail it is of (when its
/// start record was written), the jail's racct `cputime` (seconds,
/// counted from that start), `memoryuse` (bytes) and `readbps` +
/// `writebps` (bytes per second).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub unix: u64,
    pub started: u64,
    pub cputime: u64,
    pub memoryuse: u64,
    pub io_rate: u64,
}

/// The size of an encoded sample: five little-endian u64.
pub const RECORD: usize = 40;

impl Sample {
    pub fn encode(&self) -> [u8; RECORD] {
        let mut out = [0; RECORD];
        for (i, v) in [self.unix, self.started, self.cputime, self.memoryuse, self.io_rate].iter().enumerate() {
            out[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
        }
        out
    }

    pub fn decode(bytes: &[u8; RECORD]) -> Sample {
        let field = |i: usize| {
            let mut b = [0; 8];
            b.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
            u64::from_le_bytes(b)
        };
        Sample { unix: field(0), started: field(1), cputime: field(2), memoryuse: field(3), io_rate: field(4) }
    }
}

/// The samples of `bytes`, whole records only (a record a crash cut
/// short at the end is left out).
pub fn decode_all(bytes: &[u8]) -> Vec<Sample> {
    bytes.chunks_exact(RECORD).filter_map(|c| <&[u8; RECORD]>::try_from(c).ok()).map(Sample::decode).collect()
}

/// What a jail used over a time, as `brig usage` reports it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Totals {
    pub cpu_seconds: u64,
    pub memory_byte_hours: f64,
    pub io_bytes: u64,
    pub samples: usize,
    /// The first and last sample counted (Unix time).
    pub from: Option<u64>,
    pub to: Option<u64>,
    /// Seconds the samples stand for: gaps longer than `max_gap` (the
    /// supervisor was not running, or the jail was not) count only up to
    /// it.
    pub covered_seconds: u64,
}

/// Integrates the samples from `since` on: CPU time by the growth of the
/// `cputime` counter (a sample of another start, or a counter lower than
/// the last, counts from zero), memory and I/O rate by the time each
/// sample stands for, at most `max_gap` seconds.
pub fn integrate(samples: &[Sample], since: u64, max_gap: u64) -> Totals {
    let mut t = Totals::default();
    let mut prev: Option<&Sample> = None;
    for s in samples.iter().filter(|s| s.unix >= since) {
        t.samples += 1;
        t.from.get_or_insert(s.unix);
        t.to = Some(s.unix);
        if let Some(p) = prev {
            let dt = s.unix.saturating_sub(p.unix).min(max_gap);
            let same_start = s.started == p.started && s.cputime >= p.cputime;
            let grown = if same_start { s.cputime - p.cputime } else { s.cputime };
            t.cpu_seconds = t.cpu_seconds.saturating_add(grown);
            t.memory_byte_hours += p.memoryuse as f64 * dt as f64 / 3600.0;
            t.io_bytes = t.io_bytes.saturating_add(p.io_rate.saturating_mul(dt));
            t.covered_seconds += dt;
        }
        prev = Some(s);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_is_four_little_endian_words() {
        let s = Sample { unix: 0x0102, started: 9, cputime: 3, memoryuse: 1 << 40, io_rate: u64::MAX };
        let bytes = s.encode();
        assert_eq!(&bytes[..10], &[2, 1, 0, 0, 0, 0, 0, 0, 9, 0]);
        assert_eq!(bytes[16], 3);
        assert_eq!(&bytes[24..32], &(1u64 << 40).to_le_bytes());
        assert_eq!(Sample::decode(&bytes), s);
        let mut two = [bytes, bytes].concat();
        two.extend_from_slice(&[9; 7]);
        assert_eq!(decode_all(&two), vec![s, s]);
    }

    #[test]
    fn cpu_memory_and_io_are_integrated_over_the_covered_time() {
        let s = |unix, started, cputime, memoryuse, io_rate| Sample { unix, started, cputime, memoryuse, io_rate };
        let samples = [
            s(0, 1, 5, 1 << 30, 100),
            s(60, 1, 35, 1 << 30, 100),
            // The jail restarted: its counter began again.
            s(120, 2, 10, 2 << 30, 0),
            // A gap of an hour, counted as two minutes; another start,
            // whose counter is already past the last one's.
            s(3720, 3, 20, 0, 0),
        ];
        let t = integrate(&samples, 0, 120);
        assert_eq!((t.cpu_seconds, t.io_bytes, t.samples, t.covered_seconds), (60, 12_000, 4, 240));
        let gib_hours = t.memory_byte_hours / f64::from(1u32 << 30);
        assert!((gib_hours - (60.0 + 60.0 + 2.0 * 120.0) / 3600.0).abs() < 1e-9, "{gib_hours}");
        assert_eq!((t.from, t.to), (Some(0), Some(3720)));
        let late = integrate(&samples, 100, 120);
        assert_eq!((late.samples, late.cpu_seconds, late.from), (2, 20, Some(120)));
        assert_eq!(integrate(&[], 0, 120), Totals::default());
    }
}
