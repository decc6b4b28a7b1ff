//! brig: a FreeBSD jail manager.
//!
//! Data flows one way: `config` reads and writes TOML, `model` validates it
//! into typed values, `plan` turns them into operations, `exec` runs those
//! against a [`host::Host`], and `cli` parses arguments and renders results
//! (the only code that knows about clap and tables). docs/ARCHITECTURE.md
//! walks through the layers and where to add things.

pub mod app;
pub mod cli;
pub mod config;
pub mod exec;
pub mod host;
pub mod kernel;
pub mod model;
pub mod plan;
pub mod release;
pub mod state;
