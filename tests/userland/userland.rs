//! brig's test userland: one small static program that the simulated
//! host's jails run instead of FreeBSD's base system, built from this
//! source by `rustc` when the tests need it (see make.rs). Like a
//! multi-call binary it is every program it is linked as, chosen by the
//! name it was started under; `-sh` (a login shell) is `sh`.
//!
//! Written for brig's tests only: each program does just what the scripts
//! and commands those tests, the benchmarks and the README tour run inside
//! jails need, and says so when asked for more.

mod parse;
mod sh;
mod sys;
mod tools;

fn main() {
    let argv: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
    let called = argv.first().map(String::as_str).unwrap_or("sh");
    let name = called.rsplit('/').next().unwrap_or(called).trim_start_matches('-');
    let args = argv.get(1..).unwrap_or_default();
    let status = match name {
        "sh" => sh::main(args),
        "cat" => tools::cat(args),
        "echo" => tools::echo(args),
        "env" => tools::env(args),
        "false" => 1,
        "hostname" => tools::hostname(args),
        "id" => tools::id(args),
        "kill" => tools::kill(args),
        "login" => tools::login(args),
        "ls" => tools::ls(args),
        "mkdir" => tools::mkdir(args),
        "nologin" => tools::nologin(),
        "ps" => tools::ps(args),
        "rm" => tools::rm(args),
        "sleep" => tools::sleep(args),
        "test" | "[" => tools::test(name, args),
        "touch" => tools::touch(args),
        "true" => 0,
        _ => {
            eprintln!("{name}: not a program of brig's test userland");
            127
        }
    };
    std::process::exit(status)
}
