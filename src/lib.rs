//! brig: a FreeBSD jail manager.
//!
//! `cli` parses arguments and renders results (the only code that knows
//! about clap, tables and exit codes) and calls one use case in `app`,
//! which does the work: `config` reads and writes TOML, `model` validates
//! it into typed values, `plan` turns them into operations (pure), `exec`
//! runs those against a [`host::Host`]; `kernel` holds FreeBSD's facts as
//! pure code and `state` brig's own files. Use cases report progress as
//! `app::Event`s; the only other writes to a terminal are `state::lock`'s
//! notice before it blocks on another brig (a person must know why brig
//! waits) and the FreeBSD jexec helper's own error. docs/ARCHITECTURE.md
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
