//! A VNET jail's own stack, set up and read from inside it
//! (docs/freebsd/vnet-config.md). A socket acts in the vnet of the thread
//! that made it (socreate: soalloc(CRED_TO_VNET(cred))), so the work runs
//! in a child that jail_attach(2)es to the jail: there the same ioctls
//! that configure the host's interfaces (`net`, `ifclone`) act on the
//! jail's, and a routing socket writes the jail's routes. The child
//! sends its result back over a pipe and exits; nothing it opened
//! outlives it (a socket made in the jail holds the jail's credential,
//! and with it the dying jail's vnet, for as long as it is open).
//!
//! The child allocates: brig may have threads (boot), and after fork(2)
//! only the forking thread exists; FreeBSD's libthr takes the malloc
//! locks around fork for that reason (lib/libthr/thread/thr_fork.c:
//! _malloc_prefork/_malloc_postfork), so the child's allocations cannot
//! meet a lock another thread held.

use std::io::Read;
use std::net::{IpAddr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use ipnet::IpNet;
use nix::errno::Errno;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use super::net::{self, dgram_socket, ioctl, name_err};
use super::{ifclone, jail};
use crate::host::{GetFlags, HostError, HostResult, JailKey, JailSys, Jid, ParamValue, VnetSetup, VnetView};
use crate::kernel::net::IN6_IFF_TENTATIVE;
use crate::kernel::vnet as wire;

/// The largest answer a child may send (a view of a jail's interfaces).
const ANSWER_LIMIT: u64 = 1 << 20;

/// An error as it crosses the pipe: `HostError::op` is a static name,
/// which the parent finds again among the names the child may use.
#[derive(Serialize, Deserialize)]
struct Failure {
    op: String,
    errno: i32,
    detail: String,
}

const OPS: &[&str] = &[
    "jail_attach",
    "SIOCAIFADDR",
    "SIOCAIFADDR_IN6",
    "SIOCGIFFLAGS",
    "SIOCSIFFLAGS",
    "SIOCGIFINFO_IN6",
    "SIOCSIFINFO_IN6",
    "SIOCGIFINDEX",
    "RTM_ADD",
    "RTM_GET",
    "SIOCGIFAFLAG_IN6",
    "getifaddrs",
];

/// Refuses a jail that is not alive (EINVAL, as jail_attach(2) would)
/// or shares the host's stack (EINVAL): a socket made in such a jail is
/// the host's, and brig would configure the host.
fn own_stack(op: &'static str, jid: Jid) -> HostResult<()> {
    let vnet = jail::get(&JailKey::Jid(jid), &["vnet"], GetFlags::ALIVE)
        .map_err(|e| HostError::new(op, Errno::EINVAL, format!("jail {jid}: {}", e.detail)))?;
    match vnet.first().map(|p| &p.value) {
        Some(ParamValue::JailSys(JailSys::New)) => Ok(()),
        _ => Err(HostError::new(op, Errno::EINVAL, format!("jail {jid} shares the host's network stack"))),
    }
}

/// Runs `work` in a child attached to jail `jid` and returns what it
/// returned.
fn in_jail<T: Serialize + DeserializeOwned>(
    op: &'static str,
    jid: Jid,
    work: impl FnOnce() -> HostResult<T>,
) -> HostResult<T> {
    let (read_end, write_end) = super::spawn::pipe(op, "making a pipe")?;
    // SAFETY: the child runs `work` (see the module comment on allocating
    // after fork), writes, and leaves with _exit, never returning into
    // the caller's code.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(HostError::last(op, format!("fork to work in jail {jid}")));
    }
    if pid == 0 {
        drop(read_end);
        // A panic must not unwind into the caller's code, which would then
        // go on inside the jail: it ends the child like an error.
        // SAFETY: a plain system call on an integer.
        let result = if unsafe { libc::jail_attach(jid) } != 0 {
            Err(HostError::last("jail_attach", format!("attaching to jail {jid}")))
        } else {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or_else(|_| {
                Err(HostError::new(op, Errno::EIO, format!("the child working in jail {jid} panicked")))
            })
        };
        let answer: Result<T, Failure> =
            result.map_err(|e| Failure { op: e.op.to_string(), errno: e.errno as i32, detail: e.detail });
        let bytes = serde_json::to_vec(&answer).unwrap_or_default();
        let mut sent = 0;
        while sent < bytes.len() {
            // SAFETY: writing our own buffer to our own descriptor.
            let n = unsafe { libc::write(write_end.as_raw_fd(), bytes[sent..].as_ptr().cast(), bytes.len() - sent) };
            if n <= 0 {
                break;
            }
            sent += n as usize;
        }
        // SAFETY: ends the child without unwinding or running destructors
        // that belong to the parent.
        unsafe { libc::_exit(0) };
    }
    drop(write_end);
    let mut bytes = Vec::new();
    let read = std::fs::File::from(read_end).take(ANSWER_LIMIT).read_to_end(&mut bytes);
    let mut status = 0;
    // SAFETY: waiting for the child forked above.
    while unsafe { libc::waitpid(pid, &mut status, 0) } < 0 {
        if Errno::last() != Errno::EINTR {
            return Err(HostError::last(op, format!("waiting for the child working in jail {jid}")));
        }
    }
    read.map_err(|e| HostError::new(op, Errno::EIO, format!("reading the answer from jail {jid}: {e}")))?;
    let answer: Result<T, Failure> = serde_json::from_slice(&bytes).map_err(|_| {
        HostError::new(op, Errno::EIO, format!("the child working in jail {jid} ended without an answer"))
    })?;
    answer.map_err(|f| {
        let name = OPS.iter().find(|o| **o == f.op).copied().unwrap_or(op);
        HostError::new(name, Errno::from_raw(f.errno), f.detail)
    })
}

/// Reads and rewrites the ND6 flags of `iface` (SIOCSIFINFO_IN6 replaces
/// them all).
fn nd6_flags(iface: &str, set: u32, clear: u32) -> HostResult<()> {
    let sock = dgram_socket("SIOCGIFINFO_IN6", libc::AF_INET6)?;
    let mut get = wire::in6_ndireq(iface).map_err(name_err("SIOCGIFINFO_IN6"))?;
    ioctl("SIOCGIFINFO_IN6", &sock, wire::SIOCGIFINFO_IN6, &mut get, format!("reading the IPv6 flags of {iface}"))?;
    let mut put = wire::ndireq_with_flags(get, set, clear);
    ioctl("SIOCSIFINFO_IN6", &sock, wire::SIOCSIFINFO_IN6, &mut put, format!("setting the IPv6 flags of {iface}"))
}

fn if_index(iface: &str) -> HostResult<u32> {
    let sock = dgram_socket("SIOCGIFINDEX", libc::AF_INET)?;
    let mut req = crate::kernel::ifclone::ifreq(iface).map_err(name_err("SIOCGIFINDEX"))?;
    ioctl("SIOCGIFINDEX", &sock, wire::SIOCGIFINDEX, &mut req, format!("reading the index of {iface}"))?;
    Ok(wire::ifreq_index(&req))
}

/// A routing socket whose reads give up after a second: an answer the
/// kernel dropped (a full socket buffer) must not hang brig.
fn route_socket(op: &'static str) -> HostResult<OwnedFd> {
    // SAFETY: plain system call; a non-negative result is ours alone.
    let fd = unsafe { libc::socket(libc::PF_ROUTE, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(HostError::last(op, "opening a routing socket"));
    }
    // SAFETY: just returned by socket(2).
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    let timeout = libc::timeval { tv_sec: 1, tv_usec: 0 };
    // SAFETY: the option value is a live timeval of the size given.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&raw const timeout).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(HostError::last(op, "setting the routing socket's timeout"));
    }
    Ok(sock)
}

fn send(op: &'static str, sock: &OwnedFd, msg: &[u8], what: String) -> HostResult<()> {
    // SAFETY: writing our own buffer; the kernel takes the whole message
    // or fails with the errno of rts_send.
    let n = unsafe { libc::write(sock.as_raw_fd(), msg.as_ptr().cast(), msg.len()) };
    if n < 0 {
        return Err(HostError::last(op, what));
    }
    Ok(())
}

/// `route add default GW`: RTM_ADD on a routing socket of this stack.
fn add_default(gw: IpAddr, iface: &str) -> HostResult<()> {
    let scope = match gw {
        IpAddr::V6(a) if a.is_unicast_link_local() => if_index(iface)?,
        _ => 0,
    };
    let sock = route_socket("RTM_ADD")?;
    send("RTM_ADD", &sock, &wire::rtm_add_default(gw, scope, 1), format!("adding the default route via {gw}"))
}

/// The gateway of the default route of one family, if there is one:
/// RTM_GET, then the answer with our sequence number among what the
/// socket reads (every routing socket of the stack hears every message).
fn default_gateway(ipv6: bool) -> HostResult<Option<IpAddr>> {
    const SEQ: i32 = 0x6272_6967;
    let sock = route_socket("RTM_GET")?;
    match send("RTM_GET", &sock, &wire::rtm_get_default(ipv6, SEQ), "reading the default route".into()) {
        Err(e) if e.errno == Errno::ESRCH => return Ok(None),
        other => other?,
    }
    // SAFETY: a plain system call.
    let me = unsafe { libc::getpid() };
    let mut buf = vec![0u8; 2048];
    // A bounded number of reads: the answer to our message comes first
    // unless another process of the jail is talking to the kernel.
    for _ in 0..64 {
        // SAFETY: reading into our own buffer of that length.
        let n = unsafe { libc::read(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            return Err(HostError::last("RTM_GET", "reading the answer about the default route"));
        }
        let m = &buf[..n as usize];
        // Every routing socket of the stack hears every message: ours is
        // the one with our pid and sequence number.
        match wire::rtm_reply(m) {
            Some(r) if r.kind != wire::RTM_GET || r.pid != me || r.seq != SEQ => {}
            Some(r) if r.errno == 0 => return Ok(wire::rtm_gateway(m)),
            Some(r) if r.errno == libc::ESRCH => return Ok(None),
            Some(r) => return Err(HostError::new("RTM_GET", Errno::from_raw(r.errno), "reading the default route")),
            None => {}
        }
    }
    Err(HostError::new("RTM_GET", Errno::EIO, "no answer to reading the default route"))
}

/// What `Host::vnet_configure` does, inside the jail.
fn configure_here(setup: &VnetSetup) -> HostResult<()> {
    for lo in ["127.0.0.1/8", "::1/128"] {
        let addr: IpNet = lo.parse().map_err(|_| HostError::new("SIOCAIFADDR", Errno::EINVAL, lo))?;
        net::addr_add("lo0", addr)?;
    }
    ifclone::up("lo0")?;
    let iface = setup.interface.as_str();
    // IPv6 is off on a moved interface (nd6_ifattach sets IFDISABLED):
    // on before it goes up, so that it gets its link-local address (a
    // link-local gateway is reached from it) and, with slaac, listens to
    // router advertisements.
    let ipv6 = setup.slaac || setup.ip6_gateway.is_some() || setup.addrs.iter().any(|a| a.addr().is_ipv6());
    if ipv6 {
        let accept = if setup.slaac { wire::ND6_IFF_ACCEPT_RTADV } else { 0 };
        nd6_flags(iface, accept, wire::ND6_IFF_IFDISABLED)?;
    }
    ifclone::up(iface)?;
    for a in &setup.addrs {
        net::addr_add(iface, *a)?;
    }
    for gw in setup.ip4_gateway.map(IpAddr::V4).into_iter().chain(setup.ip6_gateway.map(IpAddr::V6)) {
        add_default(gw, iface)?;
    }
    Ok(())
}

pub(super) fn configure(jid: Jid, setup: &VnetSetup) -> HostResult<()> {
    own_stack("vnet_configure", jid)?;
    in_jail("vnet_configure", jid, || configure_here(setup))
}

pub(super) fn view(jid: Jid) -> HostResult<VnetView> {
    own_stack("vnet_view", jid)?;
    in_jail("vnet_view", jid, || {
        Ok(VnetView {
            interfaces: net::interfaces()?,
            ip4_gateway: match default_gateway(false)? {
                Some(IpAddr::V4(a)) => Some(a),
                _ => None,
            },
            ip6_gateway: match default_gateway(true)? {
                Some(IpAddr::V6(a)) => Some(a),
                _ => None,
            },
        })
    })
}

/// Polls the flags of `addrs` inside the jail (one child, which sleeps
/// between looks) until none is tentative or `within` has passed.
pub(super) fn await_dad(jid: Jid, iface: &str, addrs: &[Ipv6Addr], within: Duration) -> HostResult<Vec<u32>> {
    own_stack("vnet_await_dad", jid)?;
    in_jail("vnet_await_dad", jid, || {
        let deadline = Instant::now() + within;
        loop {
            let flags = addrs.iter().map(|a| net::addr6_flags(iface, *a)).collect::<HostResult<Vec<u32>>>()?;
            let settled = flags.iter().all(|f| f & IN6_IFF_TENTATIVE == 0);
            if settled || Instant::now() >= deadline {
                return Ok(flags);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    })
}

/// SIOCSIFLLADDR on the host.
pub(super) fn set_lladdr(name: &str, mac: [u8; 6]) -> HostResult<()> {
    const OP: &str = "SIOCSIFLLADDR";
    let sock = dgram_socket(OP, libc::AF_INET)?;
    let mut req = wire::ifreq_lladdr(name, mac).map_err(name_err(OP))?;
    ioctl(OP, &sock, wire::SIOCSIFLLADDR, &mut req, format!("setting the Ethernet address of {name}"))
}

/// SIOCSIFMTU on the host.
pub(super) fn set_mtu(name: &str, mtu: u32) -> HostResult<()> {
    const OP: &str = "SIOCSIFMTU";
    let sock = dgram_socket(OP, libc::AF_INET)?;
    let mut req = wire::ifreq_mtu(name, mtu).map_err(name_err(OP))?;
    ioctl(OP, &sock, wire::SIOCSIFMTU, &mut req, format!("setting the MTU of {name} to {mtu}"))
}

/// SIOCGIFMTU on the host.
pub(super) fn mtu(name: &str) -> HostResult<u32> {
    const OP: &str = "SIOCGIFMTU";
    let sock = dgram_socket(OP, libc::AF_INET)?;
    let mut req = crate::kernel::ifclone::ifreq(name).map_err(name_err(OP))?;
    ioctl(OP, &sock, wire::SIOCGIFMTU, &mut req, format!("reading the MTU of {name}"))?;
    Ok(wire::ifreq_mtu_of(&req))
}
