//! Jail parameters as the byte buffers of jail_set(2)/jail_get(2) iovecs.
//!
//! Both syscalls take an array of iovecs in pairs: a NUL-terminated name,
//! then the value's bytes. This module is pure (no syscalls), so the exact
//! bytes are unit-tested on Linux; the FreeBSD host only points iovecs at
//! these buffers, and the simulated host parses the same buffers the way
//! kern_jail.c does, so a wrong encoding fails in tests exactly where the
//! kernel would refuse it.

use std::net::{Ipv4Addr, Ipv6Addr};

use nix::errno::Errno;

use super::params::{self, ParamDef, ParamType, MAX_AF_IPS};
use super::{JailKey, JailParam, JailSys, ParamValue};

/// One name/value iovec pair. `value: None` is an iovec with a NULL base and
/// zero length, which is how a boolean flag is passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IovPair {
    pub name: Vec<u8>,
    pub value: Option<Vec<u8>>,
}

/// A value that cannot be put into a C string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("jail parameter {name}: the value contains a NUL byte")]
pub struct EncodeError {
    pub name: String,
}

fn cstring(name: &str, s: &str) -> Result<Vec<u8>, EncodeError> {
    if s.as_bytes().contains(&0) {
        return Err(EncodeError { name: name.to_string() });
    }
    let mut v = Vec::with_capacity(s.len() + 1);
    v.extend_from_slice(s.as_bytes());
    v.push(0);
    Ok(v)
}

/// The bytes of a value for jail_set(2): strings with their NUL, `int` and
/// `unsigned long` in native byte order, addresses in network byte order.
fn value_bytes(name: &str, value: &ParamValue) -> Result<Option<Vec<u8>>, EncodeError> {
    Ok(Some(match value {
        ParamValue::Str(s) => cstring(name, s)?,
        ParamValue::Int(i) => i.to_ne_bytes().to_vec(),
        ParamValue::ULong(u) => u.to_ne_bytes().to_vec(),
        ParamValue::JailSys(s) => (*s as i32).to_ne_bytes().to_vec(),
        ParamValue::Bool(_) => return Ok(None),
        ParamValue::Ip4(addrs) => addrs.iter().flat_map(|a| a.octets()).collect(),
        ParamValue::Ip6(addrs) => addrs.iter().flat_map(|a| a.octets()).collect(),
    }))
}

/// Encodes one parameter for jail_set(2). A boolean is its name alone when
/// true and the `no` form of its name when false (`nopersist`,
/// `allow.noraw_sockets`), as libjail passes them.
pub fn encode_param(p: &JailParam) -> Result<IovPair, EncodeError> {
    let name = match p.value {
        ParamValue::Bool(false) => params::negated_name(&p.name),
        _ => p.name.clone(),
    };
    Ok(IovPair { name: cstring(&p.name, &name)?, value: value_bytes(&p.name, &p.value)? })
}

/// Encodes a whole jail_set(2) request, in the order given.
pub fn encode_set(params: &[JailParam]) -> Result<Vec<IovPair>, EncodeError> {
    params.iter().map(encode_param).collect()
}

/// The size of the buffer jail_get(2) needs for a parameter of this type.
pub fn buffer_size(ty: ParamType) -> usize {
    match ty {
        ParamType::Str { max } => max,
        ParamType::Int { .. } | ParamType::Bool | ParamType::JailSys { .. } => 4,
        ParamType::ULong => 8,
        ParamType::Ip4List => 4 * MAX_AF_IPS,
        ParamType::Ip6List => 16 * MAX_AF_IPS,
    }
}

/// A jail_get(2) request: the pairs to send and, for every name asked
/// for, the index of the pair whose buffer answers it (0 is the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetRequest {
    pub pairs: Vec<IovPair>,
    pub slots: Vec<usize>,
}

/// Encodes a jail_get(2) request: the key that selects the jail, then one
/// zeroed buffer per requested parameter, sized by its type (unknown names
/// get an `int`-sized buffer so the kernel reports them).
///
/// The kernel keeps only the *last* of several options with the same name
/// (vfs_sanitizeopts in vfs_mount.c), so a requested name equal to the
/// key's (`name` when looking up by name) would replace the key with an
/// empty buffer and the lookup would fail. Like libjail, such a name is
/// answered from the key's own buffer, which the kernel fills in too, and
/// a name asked twice is sent once. A name key is padded to
/// MAXHOSTNAMELEN so the jail's full name fits when written back.
pub fn encode_get(key: &JailKey, names: &[&str]) -> Result<GetRequest, EncodeError> {
    let (key_name, mut key_pair) = match key {
        JailKey::Jid(j) => ("jid", encode_param(&JailParam::int("jid", *j))?),
        JailKey::Name(n) => ("name", encode_param(&JailParam::str("name", n.as_str()))?),
        JailKey::After(j) => ("lastjid", encode_param(&JailParam::int("lastjid", *j))?),
    };
    if let (JailKey::Name(_), Some(v)) = (key, key_pair.value.as_mut()) {
        if v.len() < params::MAXHOSTNAMELEN {
            v.resize(params::MAXHOSTNAMELEN, 0);
        }
    }
    let mut pairs = vec![key_pair];
    let mut sent: Vec<&str> = Vec::with_capacity(names.len());
    let mut slots = Vec::with_capacity(names.len());
    for &name in names {
        if name == key_name {
            slots.push(0);
        } else if let Some(i) = sent.iter().position(|s| *s == name) {
            slots.push(i + 1);
        } else {
            let size = params::lookup(name).map(|l| buffer_size(l.def.ty)).unwrap_or(4);
            pairs.push(IovPair { name: cstring(name, name)?, value: Some(vec![0; size]) });
            sent.push(name);
            slots.push(sent.len());
        }
    }
    Ok(GetRequest { pairs, slots })
}

/// Why a buffer could not be read as a parameter value: the errno the kernel
/// gives for it and the text of its errmsg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub errno: Errno,
    pub detail: String,
}

fn bad(errno: Errno, detail: String) -> DecodeError {
    DecodeError { errno, detail }
}

fn int_of(name: &str, b: &[u8]) -> Result<i32, DecodeError> {
    let arr: [u8; 4] =
        b.try_into().map_err(|_| bad(Errno::EINVAL, format!("{name}: expected 4 bytes, got {}", b.len())))?;
    Ok(i32::from_ne_bytes(arr))
}

/// Reads a value the way the kernel does: fixed-size values must have
/// exactly their size (EINVAL otherwise), strings must be NUL-terminated
/// and fit their maximum (ENAMETOOLONG), address arrays must be a whole
/// number of addresses (EINVAL). `bytes` is what the caller passed to
/// jail_set(2), or what the kernel wrote back for jail_get(2).
pub fn decode_value(def: &ParamDef, bytes: &[u8]) -> Result<ParamValue, DecodeError> {
    let name = def.name;
    match def.ty {
        ParamType::Str { max } => {
            let Some(nul) = bytes.iter().position(|&c| c == 0) else {
                return Err(bad(Errno::EINVAL, format!("{name}: string is not NUL-terminated")));
            };
            if nul + 1 > max {
                return Err(bad(Errno::ENAMETOOLONG, format!("{name}: longer than {} bytes", max - 1)));
            }
            String::from_utf8(bytes[..nul].to_vec())
                .map(ParamValue::Str)
                .map_err(|_| bad(Errno::EINVAL, format!("{name}: not valid UTF-8")))
        }
        ParamType::Int { .. } => int_of(name, bytes).map(ParamValue::Int),
        ParamType::Bool => int_of(name, bytes).map(|v| ParamValue::Bool(v != 0)),
        ParamType::JailSys { .. } => {
            let v = int_of(name, bytes)?;
            JailSys::from_raw(v)
                .map(ParamValue::JailSys)
                .ok_or_else(|| bad(Errno::EINVAL, format!("{name}: {v} is not disable, new or inherit")))
        }
        ParamType::ULong => {
            let arr: [u8; 8] = bytes
                .try_into()
                .map_err(|_| bad(Errno::EINVAL, format!("{name}: expected 8 bytes, got {}", bytes.len())))?;
            Ok(ParamValue::ULong(u64::from_ne_bytes(arr)))
        }
        ParamType::Ip4List => {
            if !bytes.len().is_multiple_of(4) {
                return Err(bad(Errno::EINVAL, format!("{name}: length {} is not a multiple of 4", bytes.len())));
            }
            Ok(ParamValue::Ip4(bytes.chunks_exact(4).map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3])).collect()))
        }
        ParamType::Ip6List => {
            if !bytes.len().is_multiple_of(16) {
                return Err(bad(Errno::EINVAL, format!("{name}: length {} is not a multiple of 16", bytes.len())));
            }
            Ok(ParamValue::Ip6(
                bytes
                    .chunks_exact(16)
                    .map(|c| {
                        let mut a = [0u8; 16];
                        a.copy_from_slice(c);
                        Ipv6Addr::from(a)
                    })
                    .collect(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(p: JailParam) -> IovPair {
        encode_param(&p).expect("encodes")
    }

    #[test]
    fn string_is_its_bytes_and_a_nul() {
        let got = enc(JailParam::str("host.hostname", "web1"));
        assert_eq!(got.name, b"host.hostname\0");
        assert_eq!(got.value, Some(b"web1\0".to_vec()));
    }

    #[test]
    fn empty_string_is_a_lone_nul() {
        assert_eq!(enc(JailParam::str("host.domainname", "")).value, Some(vec![0]));
    }

    #[test]
    fn string_with_nul_is_refused() {
        let e = encode_param(&JailParam::str("path", "/a\0b")).expect_err("NUL inside");
        assert_eq!(e.name, "path");
    }

    #[test]
    fn int_is_four_native_endian_bytes() {
        let got = enc(JailParam::int("securelevel", 2));
        assert_eq!(got.name, b"securelevel\0");
        assert_eq!(got.value, Some(2i32.to_ne_bytes().to_vec()));
        assert_eq!(enc(JailParam::int("jid", -1)).value, Some(vec![0xff; 4]));
    }

    #[test]
    fn ulong_is_eight_native_endian_bytes() {
        let got = enc(JailParam::new("host.hostid", ParamValue::ULong(0x0102_0304_0506_0708)));
        assert_eq!(got.value, Some(0x0102_0304_0506_0708u64.to_ne_bytes().to_vec()));
        assert_eq!(got.value.as_ref().map(Vec::len), Some(8));
    }

    #[test]
    fn true_bool_is_its_name_with_a_null_value() {
        let got = enc(JailParam::bool("persist", true));
        assert_eq!(got.name, b"persist\0");
        assert_eq!(got.value, None);
    }

    #[test]
    fn false_bool_is_the_no_form_of_its_last_component() {
        assert_eq!(enc(JailParam::bool("persist", false)).name, b"nopersist\0");
        let got = enc(JailParam::bool("allow.raw_sockets", false));
        assert_eq!(got.name, b"allow.noraw_sockets\0");
        assert_eq!(got.value, None);
        assert_eq!(enc(JailParam::bool("allow.mount.zfs", false)).name, b"allow.mount.nozfs\0");
    }

    #[test]
    fn jailsys_is_an_int_zero_one_two() {
        let v = |s| enc(JailParam::new("ip4", ParamValue::JailSys(s))).value;
        assert_eq!(v(JailSys::Disable), Some(0i32.to_ne_bytes().to_vec()));
        assert_eq!(v(JailSys::New), Some(1i32.to_ne_bytes().to_vec()));
        assert_eq!(v(JailSys::Inherit), Some(2i32.to_ne_bytes().to_vec()));
    }

    #[test]
    fn ip4_array_is_addresses_in_network_order() {
        let got = enc(JailParam::new(
            "ip4.addr",
            ParamValue::Ip4(vec![Ipv4Addr::new(192, 0, 2, 10), Ipv4Addr::new(10, 0, 0, 1)]),
        ));
        assert_eq!(got.name, b"ip4.addr\0");
        assert_eq!(got.value, Some(vec![192, 0, 2, 10, 10, 0, 0, 1]));
    }

    #[test]
    fn ip6_array_is_sixteen_bytes_each() {
        let a: Ipv6Addr = "2001:db8::1".parse().expect("literal");
        let got = enc(JailParam::new("ip6.addr", ParamValue::Ip6(vec![a, Ipv6Addr::LOCALHOST])));
        let mut want = vec![0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        want.extend_from_slice(&[0; 15]);
        want.push(1);
        assert_eq!(got.value, Some(want));
    }

    #[test]
    fn empty_address_list_is_an_empty_buffer() {
        assert_eq!(enc(JailParam::new("ip4.addr", ParamValue::Ip4(vec![]))).value, Some(vec![]));
    }

    #[test]
    fn get_request_puts_the_key_first_and_sizes_buffers_by_type() {
        let req = encode_get(&JailKey::After(3), &["jid", "name", "ip4.addr", "host.hostid"]).expect("encodes");
        assert_eq!(req.pairs[0].name, b"lastjid\0");
        assert_eq!(req.pairs[0].value, Some(3i32.to_ne_bytes().to_vec()));
        let sizes: Vec<usize> = req.pairs[1..].iter().map(|p| p.value.as_ref().map_or(0, Vec::len)).collect();
        assert_eq!(sizes, vec![4, 256, 4 * 255, 8]);
        assert_eq!(req.slots, vec![1, 2, 3, 4]);
    }

    #[test]
    fn get_request_never_repeats_the_key_or_a_name() {
        let req = encode_get(&JailKey::Name("web".into()), &["jid", "name", "path", "jid"]).expect("encodes");
        let names: Vec<&[u8]> = req.pairs.iter().map(|p| p.name.as_slice()).collect();
        assert_eq!(names, vec![b"name\0".as_slice(), b"jid\0", b"path\0"]);
        assert_eq!(req.slots, vec![1, 0, 2, 1], "name is read back from the key");
        let mut key = b"web".to_vec();
        key.resize(256, 0);
        assert_eq!(req.pairs[0].value, Some(key), "room for the kernel to write the full name back");
        let by_jid = encode_get(&JailKey::Jid(3), &["jid", "name"]).expect("encodes");
        assert_eq!(by_jid.slots, vec![0, 1]);
        assert_eq!(by_jid.pairs.len(), 2);
    }

    fn def(name: &str) -> &'static ParamDef {
        params::lookup(name).expect("known").def
    }

    #[test]
    fn decode_round_trips_every_type() {
        let cases = vec![
            JailParam::str("host.hostname", "h"),
            JailParam::int("securelevel", 3),
            JailParam::new("host.hostid", ParamValue::ULong(7)),
            JailParam::new("vnet", ParamValue::JailSys(JailSys::New)),
            JailParam::new("ip4.addr", ParamValue::Ip4(vec![Ipv4Addr::new(192, 0, 2, 1)])),
            JailParam::new("ip6.addr", ParamValue::Ip6(vec![Ipv6Addr::LOCALHOST])),
        ];
        for p in cases {
            let bytes = enc(p.clone()).value.expect("has a value");
            assert_eq!(decode_value(def(&p.name), &bytes), Ok(p.value));
        }
        assert_eq!(decode_value(def("persist"), &1i32.to_ne_bytes()), Ok(ParamValue::Bool(true)));
    }

    #[test]
    fn decode_refuses_what_the_kernel_refuses() {
        let e = decode_value(def("securelevel"), &[1, 2]).expect_err("short int");
        assert_eq!(e.errno, Errno::EINVAL);
        let e = decode_value(def("ip4.addr"), &[1, 2, 3]).expect_err("partial address");
        assert_eq!(e.errno, Errno::EINVAL);
        let e = decode_value(def("path"), b"/no/nul").expect_err("unterminated");
        assert_eq!(e.errno, Errno::EINVAL);
        let long = format!("{}\0", "x".repeat(256));
        let e = decode_value(def("host.hostname"), long.as_bytes()).expect_err("too long");
        assert_eq!(e.errno, Errno::ENAMETOOLONG);
        let e = decode_value(def("ip4"), &7i32.to_ne_bytes()).expect_err("not a jailsys value");
        assert_eq!(e.errno, Errno::EINVAL);
    }
}
