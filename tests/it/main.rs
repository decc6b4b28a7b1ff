//! brig's integration tests: the CLI and the library against the
//! simulated FreeBSD host. One binary, so cargo links once.

mod common;

mod apply;
mod audit;
mod bad_inputs;
mod batch;
mod boot;
mod cli_basics;
pub mod crash;
mod docs;
mod doctor;
mod fuzz;
mod init;
mod lifecycle;
pub mod limits;
mod locks;
mod rcd;
mod readme_tour;
mod release;
mod run;
mod sim_jail;
mod sim_misc;
mod sim_zfs;
mod tenant;
mod validate;
