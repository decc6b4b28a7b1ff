//! brig's integration tests: the CLI and the library against the
//! simulated FreeBSD host. One binary, so cargo links once.

mod common;
/// A signed package repository for the simulated pkg (shared with the
/// conformance suite).
#[path = "../pkgrepo.rs"]
mod pkgrepo;
/// Builds brig's test userland and test release (shared with the
/// conformance suite, the benchmarks and examples/make-release.rs).
#[path = "../userland/make.rs"]
mod userland;
/// The test userland's shell syntax, whose unit tests run here; the
/// interpreter that uses the rest of it is built into the userland only.
#[allow(dead_code)]
#[path = "../userland/parse.rs"]
mod userland_sh;

mod apply;
mod audit;
mod bad_inputs;
pub mod bandwidth;
mod batch;
mod boot;
mod cli_basics;
pub mod crash;
mod docs;
mod doctor;
mod events;
mod firewall;
mod fuzz;
mod gc;
mod health;
mod init;
mod lifecycle;
pub mod limits;
mod locks;
mod logs;
mod pkgbase;
pub mod provision;
mod rcd;
mod readme_tour;
mod release;
mod run;
mod schemas;
mod scripted;
mod sim_jail;
mod sim_misc;
mod sim_zfs;
mod snapshot;
mod tenant;
pub mod transfer;
pub mod upgrade;
mod validate;
mod vnet;
