//! What `dnctl pipe show` prints, read back: list_pipes in
//! sbin/ipfw/dummynet.c begins each pipe with `%05d: %s %4d ms burst %s`
//! (the number, then the bandwidth as `%7.3f Mbit/s`, or `unlimited`);
//! the lines of its queue (`q131073 ...`, pipe + 2 * 65536) and scheduler
//! (` sched 65537 ...`) follow and are not pipes.

/// A sysctl dummynet.ko adds (ip_dn_io.c): there while it is loaded.
pub const LOADED_SYSCTL: &str = "net.inet.ip.dummynet.io_fast";

/// How to load dummynet, said wherever brig finds it missing. brig does
/// not load it: on releases where dummynet.ko depends on ipfw, loading it
/// brings ipfw's default rule, which blocks all traffic.
pub const LOAD_IT: &str = "run `kldload dummynet` and add dummynet_load=\"YES\" to /boot/loader.conf, then check with kldstat that ipfw did not come along (its default rule blocks all traffic)";

/// Each pipe's number and bandwidth in bit/s (0: unlimited), to the
/// precision dnctl prints.
pub fn parse_pipes(listing: &str) -> Vec<(u16, u32)> {
    listing.lines().filter_map(pipe_line).collect()
}

fn pipe_line(line: &str) -> Option<(u16, u32)> {
    let (number, rest) = line.split_once(": ")?;
    if number.len() != 5 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let pipe: u16 = number.parse().ok()?;
    let mut words = rest.split_whitespace();
    let amount = words.next()?;
    if amount == "unlimited" {
        return Some((pipe, 0));
    }
    let scale = match words.next()? {
        "Gbit/s" => 1e9,
        "Mbit/s" => 1e6,
        "Kbit/s" => 1e3,
        "bit/s" => 1.0,
        _ => return None,
    };
    let bits = (amount.parse::<f64>().ok()? * scale).round();
    (0.0..=f64::from(u32::MAX)).contains(&bits).then_some((pipe, bits as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipes_and_their_bandwidth_from_dnctls_listing() {
        let listing = "00001:  10.000 Mbit/s    0 ms burst 0\nq131073  50 sl. 0 flows (1 buckets) sched 65537 weight 0 lmax 0 pri 0 droptail\n sched 65537 type FIFO flags 0x0 0 buckets 0 active\n32768: unlimited         0 ms burst 0\nq163840  50 sl. 0 flows (1 buckets) sched 98304 weight 0 lmax 0 pri 0 droptail\n32769: 100.000 Kbit/s    5 ms burst 0\n32770:   1.500 Gbit/s    0 ms burst 0\n32771: 999.000 bit/s     0 ms burst 0\n";
        assert_eq!(
            parse_pipes(listing),
            vec![(1, 10_000_000), (32768, 0), (32769, 100_000), (32770, 1_500_000_000), (32771, 999)]
        );
        assert_eq!(parse_pipes(""), Vec::new());
        assert_eq!(parse_pipes("1234: 1.000 Mbit/s\n99999: 1.000 Mbit/s\n00002: fast\n"), Vec::new());
    }
}
