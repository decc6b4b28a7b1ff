//! FreeBSD's interfaces as pure functions: the bytes and text that cross
//! into the kernel, libzfs_core and the base system's tools, encoded and
//! decoded without making a call. Compiled and unit-tested on every
//! platform, byte for byte; the FreeBSD backend (`host::freebsd`) only hands
//! these buffers to the system calls, and the simulated host parses the same
//! bytes the kernel would.

pub mod cpuset;
pub mod devfs;
pub mod dummynet;
pub mod encode;
pub mod ifclone;
pub mod ioccom;
pub mod login;
pub mod mount;
pub mod net;
pub mod params;
pub mod pf;
pub mod rctl;
pub mod rctl_rules;
pub mod sysctl;
pub mod types;
pub mod vnet;
pub mod zfs;

pub use types::*;
