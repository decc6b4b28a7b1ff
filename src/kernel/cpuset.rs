//! The bitmask cpuset_setaffinity(2) and cpuset_getaffinity(2) take: bit
//! `n % 64` of little-endian 64-bit word `n / 64` for CPU `n`, exactly as
//! many bytes as the kernel's `cpuset_t` (`kern.sched.cpusetsize`; the
//! kernel refuses any other size with ERANGE). Pure, so it is tested here.

use nix::errno::Errno;

/// The mask of `cpus` in a set of `size` bytes; a CPU beyond it is EINVAL.
pub fn encode(cpus: &[u32], size: usize) -> Result<Vec<u8>, (Errno, String)> {
    let mut mask = vec![0u8; size];
    for &c in cpus {
        let byte = usize::try_from(c / 8).unwrap_or(usize::MAX);
        let slot = mask
            .get_mut(byte)
            .ok_or_else(|| (Errno::EINVAL, format!("CPU {c} is beyond this kernel's {} CPUs", size * 8)))?;
        *slot |= 1 << (c % 8);
    }
    Ok(mask)
}

/// The CPU numbers set in a mask, ascending.
pub fn decode(mask: &[u8]) -> Vec<u32> {
    let mut out = Vec::new();
    for (i, b) in mask.iter().enumerate() {
        for bit in 0..8 {
            if b & (1 << bit) != 0 {
                out.push(u32::try_from(i * 8 + bit).unwrap_or(u32::MAX));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_are_little_endian_words() {
        // 64-bit longs, little-endian: byte order equals bit order.
        let m = encode(&[0, 3, 6, 9, 64, 1023], 128).expect("fits");
        assert_eq!(m.len(), 128);
        assert_eq!(&m[..2], &[0b0100_1001, 0b0000_0010]);
        assert_eq!(m[8], 1, "CPU 64 is bit 0 of the second long");
        assert_eq!(m[127], 0x80);
        assert_eq!(decode(&m), vec![0, 3, 6, 9, 64, 1023]);
        assert_eq!(encode(&[256], 32).map_err(|e| e.0), Err(Errno::EINVAL));
        assert_eq!(encode(&[], 32), Ok(vec![0; 32]));
    }
}
