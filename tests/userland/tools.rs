//! The small programs besides `sh`, each with only the options brig's
//! tests, the README tour and a curious `brig console` user reach for.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;

use crate::sys;

/// An error line `NAME: MESSAGE` and status 1.
fn fail(name: &str, msg: impl std::fmt::Display) -> i32 {
    eprintln!("{name}: {msg}");
    1
}

pub fn echo(args: &[String]) -> i32 {
    let (newline, words) = match args.first().map(String::as_str) {
        Some("-n") => (false, &args[1..]),
        _ => (true, args),
    };
    let mut out = std::io::stdout().lock();
    let text = words.join(" ") + if newline { "\n" } else { "" };
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(e) => fail("echo", e),
    }
}

pub fn cat(args: &[String]) -> i32 {
    let mut out = std::io::stdout().lock();
    let mut status = 0;
    let files = if args.is_empty() { vec!["-".to_string()] } else { args.to_vec() };
    for f in files {
        let copied = if f == "-" {
            std::io::copy(&mut std::io::stdin().lock(), &mut out)
        } else {
            std::fs::File::open(&f).and_then(|mut file| std::io::copy(&mut file, &mut out))
        };
        if let Err(e) = copied {
            status = fail("cat", format!("{f}: {e}"));
        }
    }
    status
}

pub fn sleep(args: &[String]) -> i32 {
    match args.first().and_then(|a| a.parse::<f64>().ok()).filter(|s| s.is_finite() && *s >= 0.0) {
        Some(secs) if args.len() == 1 => {
            std::thread::sleep(std::time::Duration::from_secs_f64(secs));
            0
        }
        _ => fail("sleep", "usage: sleep SECONDS"),
    }
}

/// Lines of a colon-separated database (/etc/passwd, /etc/group).
fn records(path: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines().map(|l| l.split(':').map(str::to_string).collect()).collect()
}

/// The name /etc/passwd (`field` 2) or /etc/group gives to an id.
fn name_of(path: &str, id: u32) -> Option<String> {
    records(path).into_iter().find(|r| r.len() > 2 && r[2] == id.to_string()).map(|r| r[0].clone())
}

pub fn id(args: &[String]) -> i32 {
    let (uid, gid) = (sys::uid(), sys::gid());
    let user = name_of("/etc/passwd", uid);
    let group = name_of("/etc/group", gid);
    let named = |id: u32, name: &Option<String>| match name {
        Some(n) => format!("{id}({n})"),
        None => id.to_string(),
    };
    let line = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] => format!("uid={} gid={} groups={}", named(uid, &user), named(gid, &group), named(gid, &group)),
        ["-u"] => uid.to_string(),
        ["-g"] => gid.to_string(),
        ["-un"] | ["-u", "-n"] | ["-nu"] => user.unwrap_or_else(|| uid.to_string()),
        ["-gn"] | ["-g", "-n"] | ["-ng"] => group.unwrap_or_else(|| gid.to_string()),
        _ => return fail("id", "usage: id [-u|-g] [-n]"),
    };
    println!("{line}");
    0
}

pub fn hostname(args: &[String]) -> i32 {
    if !args.is_empty() {
        return fail("hostname", "only prints the name; set host.hostname with brig instead");
    }
    match sys::hostname() {
        Ok(h) => {
            println!("{h}");
            0
        }
        Err(e) => fail("hostname", e),
    }
}

/// Splits `-abc` style flags from operands; None when a flag is not in
/// `known`.
fn flags<'a>(args: &'a [String], known: &str) -> Option<(String, &'a [String])> {
    let mut set = String::new();
    let mut i = 0;
    while let Some(a) = args.get(i).filter(|a| a.starts_with('-') && a.len() > 1) {
        if a == "--" {
            i += 1;
            break;
        }
        if !a[1..].chars().all(|c| known.contains(c)) {
            return None;
        }
        set.push_str(&a[1..]);
        i += 1;
    }
    Some((set, &args[i..]))
}

pub fn ls(args: &[String]) -> i32 {
    let Some((opts, paths)) = flags(args, "al1") else { return fail("ls", "usage: ls [-a] [-l] [PATH...]") };
    let (all, long) = (opts.contains('a'), opts.contains('l'));
    let paths = if paths.is_empty() { vec![".".to_string()] } else { paths.to_vec() };
    let mut status = 0;
    for p in &paths {
        let meta = match std::fs::symlink_metadata(p) {
            Ok(m) => m,
            Err(e) => {
                status = fail("ls", format!("{p}: {e}"));
                continue;
            }
        };
        if paths.len() > 1 && meta.is_dir() {
            println!("{p}:");
        }
        let mut names: Vec<String> = if meta.is_dir() {
            match std::fs::read_dir(p) {
                Ok(rd) => rd.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect(),
                Err(e) => {
                    status = fail("ls", format!("{p}: {e}"));
                    continue;
                }
            }
        } else {
            vec![String::new()]
        };
        names.retain(|n| all || !n.starts_with('.'));
        names.sort();
        for n in names {
            let path = if n.is_empty() { p.clone() } else { format!("{p}/{n}") };
            let shown = if n.is_empty() { p.as_str() } else { n.as_str() };
            if long {
                println!("{}", long_line(&path, shown));
            } else {
                println!("{shown}");
            }
        }
    }
    status
}

/// `-rwxr-xr-x  1 root  wheel  1234 name -> target`, numeric ids where
/// the jail has no name for them.
fn long_line(path: &str, shown: &str) -> String {
    let Ok(m) = std::fs::symlink_metadata(path) else { return format!("?????????? {shown}") };
    let kind = match m.mode() & 0o170000 {
        0o040000 => 'd',
        0o120000 => 'l',
        0o020000 => 'c',
        0o060000 => 'b',
        0o010000 => 'p',
        0o140000 => 's',
        _ => '-',
    };
    let mut mode = String::from(kind);
    for (bit, c) in [(0o400, 'r'), (0o200, 'w'), (0o100, 'x'), (0o40, 'r'), (0o20, 'w'), (0o10, 'x')]
        .into_iter()
        .chain([(0o4, 'r'), (0o2, 'w'), (0o1, 'x')])
    {
        mode.push(if m.mode() & bit != 0 { c } else { '-' });
    }
    let user = name_of("/etc/passwd", m.uid()).unwrap_or_else(|| m.uid().to_string());
    let group = name_of("/etc/group", m.gid()).unwrap_or_else(|| m.gid().to_string());
    let target = std::fs::read_link(path).map(|t| format!(" -> {}", t.display())).unwrap_or_default();
    format!("{mode} {:>2} {user:<8} {group:<8} {:>8} {shown}{target}", m.nlink(), m.size())
}

/// Reads Linux's /proc, which a jail of the simulated host has only when
/// something mounted it there.
pub fn ps(args: &[String]) -> i32 {
    if !args.is_empty() {
        return fail("ps", "takes no options");
    }
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return fail("ps", "/proc is not mounted in this jail, so there is nothing to list");
    };
    let mut pids: Vec<u32> = rd.flatten().filter_map(|e| e.file_name().to_str()?.parse().ok()).collect();
    pids.sort_unstable();
    println!("  PID COMMAND");
    for pid in pids {
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmd: Vec<String> =
            cmd.split(|&b| b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        println!("{pid:>5} {}", cmd.join(" "));
    }
    0
}

pub fn kill(args: &[String]) -> i32 {
    let (sig, pids) = match args.first().map(String::as_str) {
        Some("-s") => (args.get(1).and_then(|s| sys::signal_number(s)), args.get(2..).unwrap_or_default()),
        Some(s) if s.starts_with('-') => (sys::signal_number(&s[1..]), &args[1..]),
        _ => (Some(15), args),
    };
    let Some(sig) = sig.filter(|_| !pids.is_empty()) else { return fail("kill", "usage: kill [-SIGNAL] PID...") };
    let mut status = 0;
    for p in pids {
        let sent = p
            .parse()
            .map_err(|_| "not a process id".to_string())
            .and_then(|pid| sys::send_signal(pid, sig).map_err(|e| e.to_string()));
        if let Err(e) = sent {
            status = fail("kill", format!("{p}: {e}"));
        }
    }
    status
}

pub fn mkdir(args: &[String]) -> i32 {
    let Some((opts, dirs)) = flags(args, "p").filter(|(_, d)| !d.is_empty()) else {
        return fail("mkdir", "usage: mkdir [-p] DIR...");
    };
    let mut status = 0;
    for d in dirs {
        let made = if opts.contains('p') { std::fs::create_dir_all(d) } else { std::fs::create_dir(d) };
        if let Err(e) = made {
            status = fail("mkdir", format!("{d}: {e}"));
        }
    }
    status
}

pub fn rm(args: &[String]) -> i32 {
    let Some((opts, paths)) = flags(args, "rRf").filter(|(o, p)| !p.is_empty() || o.contains('f')) else {
        return fail("rm", "usage: rm [-r] [-f] PATH...");
    };
    let (recursive, force) = (opts.contains('r') || opts.contains('R'), opts.contains('f'));
    let mut status = 0;
    for p in paths {
        let removed = match std::fs::symlink_metadata(p) {
            Ok(m) if m.is_dir() && recursive => std::fs::remove_dir_all(p),
            Ok(m) if m.is_dir() => Err(std::io::Error::other("is a directory")),
            Ok(_) => std::fs::remove_file(p),
            Err(e) => Err(e),
        };
        match removed {
            Err(e) if !(force && e.kind() == std::io::ErrorKind::NotFound) => status = fail("rm", format!("{p}: {e}")),
            _ => {}
        }
    }
    status
}

pub fn touch(args: &[String]) -> i32 {
    if args.is_empty() {
        return fail("touch", "usage: touch FILE...");
    }
    let mut status = 0;
    for f in args {
        let touched = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(f)
            .and_then(|file| file.set_modified(std::time::SystemTime::now()));
        if let Err(e) = touched {
            status = fail("touch", format!("{f}: {e}"));
        }
    }
    status
}

/// `env [-i] [NAME=VALUE...] [PROGRAM ARGS...]`
pub fn env(args: &[String]) -> i32 {
    let (clear, rest) = match args.first().map(String::as_str) {
        Some("-i") => (true, &args[1..]),
        _ => (false, args),
    };
    let n = rest.iter().take_while(|a| a.contains('=')).count();
    let vars = rest[..n].iter().filter_map(|a| a.split_once('='));
    let Some((program, program_args)) = rest[n..].split_first() else {
        let mut all: Vec<(String, String)> = if clear { Vec::new() } else { std::env::vars().collect() };
        all.extend(vars.map(|(k, v)| (k.to_string(), v.to_string())));
        for (k, v) in all {
            println!("{k}={v}");
        }
        return 0;
    };
    let mut c = std::process::Command::new(program);
    if clear {
        c.env_clear();
    }
    let err = c.envs(vars).args(program_args).exec();
    eprintln!("env: {program}: {err}");
    if err.kind() == std::io::ErrorKind::NotFound {
        127
    } else {
        126
    }
}

/// `[ EXPR ]` / `test EXPR`: one or two operands, `!`, file tests,
/// string and integer comparisons.
pub fn test(name: &str, args: &[String]) -> i32 {
    let args = if name == "[" {
        match args.split_last() {
            Some((last, rest)) if last == "]" => rest,
            _ => {
                eprintln!("[: missing ]");
                return 2;
            }
        }
    } else {
        args
    };
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    match evaluate(&a) {
        Some(true) => 0,
        Some(false) => 1,
        None => {
            eprintln!("{name}: bad expression: {}", a.join(" "));
            2
        }
    }
}

fn evaluate(a: &[&str]) -> Option<bool> {
    let meta = |p: &str| std::fs::metadata(p);
    Some(match a {
        [] => false,
        ["!", rest @ ..] => !evaluate(rest)?,
        [s] => !s.is_empty(),
        ["-n", s] => !s.is_empty(),
        ["-z", s] => s.is_empty(),
        ["-e", p] => meta(p).is_ok(),
        ["-f", p] => meta(p).is_ok_and(|m| m.is_file()),
        ["-d", p] => meta(p).is_ok_and(|m| m.is_dir()),
        ["-c", p] => meta(p).is_ok_and(|m| m.mode() & 0o170000 == 0o020000),
        ["-h" | "-L", p] => std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink()),
        ["-s", p] => meta(p).is_ok_and(|m| m.len() > 0),
        ["-x", p] => meta(p).is_ok_and(|m| m.permissions().mode() & 0o111 != 0) && sys::can(p, 1),
        ["-w", p] => sys::can(p, 2),
        ["-r", p] => sys::can(p, 4),
        [x, "=", y] => x == y,
        [x, "!=", y] => x != y,
        [x, op, y] => {
            let (x, y) = (x.parse::<i64>().ok()?, y.parse::<i64>().ok()?);
            match *op {
                "-eq" => x == y,
                "-ne" => x != y,
                "-lt" => x < y,
                "-le" => x <= y,
                "-gt" => x > y,
                "-ge" => x >= y,
                _ => return None,
            }
        }
        _ => return None,
    })
}

/// `login -f USER`: no password asked (the jail's host already decided,
/// as jexec does); the user's ids, HOME, SHELL, USER and directory from
/// the jail's /etc/passwd, then the user's shell as a login shell.
pub fn login(args: &[String]) -> i32 {
    let [flag, user] = args else { return fail("login", "only `login -f USER` is supported") };
    if flag != "-f" {
        return fail("login", "only `login -f USER` is supported");
    }
    let Some(pw) = records("/etc/passwd").into_iter().find(|r| r.len() >= 7 && r[0] == *user) else {
        return fail("login", format!("{user}: no such user in /etc/passwd"));
    };
    let (Ok(uid), Ok(gid)) = (pw[2].parse::<u32>(), pw[3].parse::<u32>()) else {
        return fail("login", format!("{user}: /etc/passwd has no numeric ids for it"));
    };
    if (uid, gid) != (sys::uid(), sys::gid()) {
        if let Err(e) = sys::become_user(uid, gid) {
            return fail("login", format!("cannot become {user}: {e}"));
        }
    }
    let (home, shell) = (&pw[5], if pw[6].is_empty() { "/bin/sh" } else { pw[6].as_str() });
    if std::env::set_current_dir(home).is_err() {
        eprintln!("login: no home directory {home}, logging in with / instead");
        let _ = std::env::set_current_dir("/");
    }
    let base = shell.rsplit('/').next().unwrap_or(shell);
    let err = std::process::Command::new(shell)
        .arg0(format!("-{base}"))
        .env("HOME", home)
        .env("SHELL", shell)
        .env("USER", user)
        .env("LOGNAME", user)
        .exec();
    fail("login", format!("{shell}: {err}"))
}

pub fn nologin() -> i32 {
    fail("nologin", "This account is currently not available.")
}
