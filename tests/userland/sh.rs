//! `sh`: runs what parse.rs reads. `sh FILE [ARGS]`, `sh -c TEXT [NAME
//! [ARGS]]`, or commands from standard input (a `# `/`$ ` prompt on a
//! terminal, as `brig console` shows it). Builtins: `exit`, `:`, `true`,
//! `false`, `cd`, `export` and `trap`; everything else is a program found
//! on PATH. A builtin's redirections create their files but its own output
//! (only error messages) stays where it was. `"$@"` is one field, like
//! `"$*"`. Subshells, background jobs and `$(...)` are forked copies of
//! the shell; the last command of a script, of `-c` or of a forked copy
//! replaces the shell (exec), so `sh -c 'sleep 300'` or `sleep 300 &`
//! leave one process, not two.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::process::CommandExt;

use crate::parse::{self, AndOr, Command, Connector, List, Part, Redir, RedirOp, Word};
use crate::sys;

struct Shell {
    /// `$0`, then the positional parameters.
    args: Vec<String>,
    /// `$?`
    status: i32,
    /// `trap` actions by signal number.
    traps: BTreeMap<i32, String>,
}

pub fn main(args: &[String]) -> i32 {
    let (mut shell, text) = match args.first().map(String::as_str) {
        Some("-c") => {
            let Some(text) = args.get(1) else {
                eprintln!("sh: -c needs a command string");
                return 2;
            };
            let rest = if args.len() > 2 { args[2..].to_vec() } else { vec!["sh".to_string()] };
            (Shell::new(rest), text.clone())
        }
        Some(opt) if opt.starts_with('-') && opt != "-s" => {
            eprintln!("sh: option {opt} is not supported by this shell");
            return 2;
        }
        Some("-s") | None => return Shell::new(vec!["sh".to_string()]).interactive(),
        Some(file) => match std::fs::read_to_string(file) {
            Ok(t) => (Shell::new(args.to_vec()), t),
            Err(e) => {
                eprintln!("sh: cannot open {file}: {e}");
                return 127;
            }
        },
    };
    match parse::parse(&text) {
        Ok(list) => shell.run_list(&list, true),
        Err(e) => {
            eprintln!("sh: {e}");
            2
        }
    }
}

impl Shell {
    fn new(args: Vec<String>) -> Shell {
        Shell { args, status: 0, traps: BTreeMap::new() }
    }

    /// Commands read from standard input, a line at a time (a byte at a
    /// time, so a program the shell starts reads what follows).
    fn interactive(&mut self) -> i32 {
        // SAFETY: descriptor 0 stays open; ManuallyDrop never closes it.
        let stdin = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(0) });
        let prompt = sys::is_terminal(0);
        let mut text = String::new();
        loop {
            if prompt {
                let p = if !text.is_empty() {
                    "> "
                } else if sys::uid() == 0 {
                    "# "
                } else {
                    "$ "
                };
                eprint!("{p}");
            }
            let mut line = Vec::new();
            let mut byte = [0u8];
            while let Ok(1) = (&*stdin).read(&mut byte) {
                line.push(byte[0]);
                if byte[0] == b'\n' {
                    break;
                }
            }
            if line.is_empty() {
                return self.status;
            }
            text.push_str(&String::from_utf8_lossy(&line));
            match parse::parse(&text) {
                Ok(list) => {
                    text.clear();
                    self.run_list(&list, false);
                }
                Err(parse::ParseError::Incomplete) => continue,
                Err(e) => {
                    text.clear();
                    eprintln!("sh: {e}");
                    self.status = 2;
                }
            }
        }
    }

    /// Runs `list`; `last` when nothing follows it in this process, so its
    /// last command may replace the shell.
    fn run_list(&mut self, list: &List, last: bool) -> i32 {
        for (i, item) in list.0.iter().enumerate() {
            if item.background {
                match sys::fork_process() {
                    Ok(0) => {
                        let status = self.run_and_or(&item.and_or, true);
                        sys::exit_now(status)
                    }
                    Ok(_) => self.status = 0,
                    Err(e) => {
                        eprintln!("sh: fork: {e}");
                        self.status = 2;
                    }
                }
            } else {
                let tail = last && i + 1 == list.0.len();
                self.status = self.run_and_or(&item.and_or, tail);
            }
            self.run_traps();
        }
        self.status
    }

    fn run_and_or(&mut self, a: &AndOr, tail: bool) -> i32 {
        self.status = self.run_command(&a.first, tail && a.rest.is_empty());
        for (n, (connector, cmd)) in a.rest.iter().enumerate() {
            if (*connector == Connector::And) == (self.status == 0) {
                self.status = self.run_command(cmd, tail && n + 1 == a.rest.len());
            }
        }
        self.status
    }

    /// The actions of signals caught since the last look.
    fn run_traps(&mut self) {
        let pending = sys::PENDING.swap(0, std::sync::atomic::Ordering::SeqCst);
        let due: Vec<String> =
            self.traps.iter().filter(|(sig, _)| pending & (1 << **sig) != 0).map(|(_, a)| a.clone()).collect();
        for action in due {
            match parse::parse(&action) {
                Ok(list) => {
                    let saved = self.status;
                    self.run_list(&list, false);
                    self.status = saved;
                }
                Err(e) => eprintln!("sh: trap: {e}"),
            }
        }
    }

    fn run_command(&mut self, cmd: &Command, tail: bool) -> i32 {
        match cmd {
            Command::Simple { assigns, words, redirs } => self.simple(assigns, words, redirs, tail),
            Command::Subshell { body, redirs } => self.forked(tail, |sh| {
                if let Err(e) = sh.redirect(redirs) {
                    eprintln!("sh: {e}");
                    return 1;
                }
                sh.run_list(body, true)
            }),
            Command::If { arms, otherwise } => {
                for (cond, body) in arms {
                    if self.run_list(cond, false) == 0 {
                        return self.run_list(body, tail);
                    }
                }
                otherwise.as_ref().map_or(0, |o| self.run_list(o, tail))
            }
            Command::Loop { until, cond, body } => {
                let mut status = 0;
                while (self.run_list(cond, false) == 0) != *until {
                    status = self.run_list(body, false);
                }
                status
            }
        }
    }

    /// Runs `f` in a forked copy of the shell and waits for it; in `tail`
    /// position the shell itself is that copy.
    fn forked(&mut self, tail: bool, f: impl FnOnce(&mut Shell) -> i32) -> i32 {
        if tail && self.traps.is_empty() {
            let status = f(self);
            sys::exit_now(status);
        }
        match sys::fork_process() {
            Ok(0) => {
                let status = f(self);
                sys::exit_now(status)
            }
            Ok(pid) => sys::wait_for(pid),
            Err(e) => {
                eprintln!("sh: fork: {e}");
                2
            }
        }
    }

    fn simple(&mut self, assigns: &[(String, Word)], words: &[Word], redirs: &[Redir], tail: bool) -> i32 {
        let mut argv = Vec::new();
        for w in words {
            argv.extend(self.expand(w));
        }
        let values: Vec<(String, String)> = assigns.iter().map(|(n, w)| (n.clone(), self.expand_one(w))).collect();
        let Some(name) = argv.first().cloned() else {
            for (n, v) in values {
                std::env::set_var(n, v);
            }
            return self.open_only(redirs);
        };
        if let Some(status) = self.builtin(&argv, redirs) {
            return status;
        }
        // A shell that is about to exit and catches no signal execs the
        // program itself.
        self.forked(tail, |sh| {
            if let Err(e) = sh.redirect(redirs) {
                eprintln!("sh: {e}");
                return 1;
            }
            let err = std::process::Command::new(&name).args(&argv[1..]).envs(values).exec();
            match err.kind() {
                std::io::ErrorKind::NotFound => {
                    eprintln!("sh: {name}: not found");
                    127
                }
                _ => {
                    eprintln!("sh: {name}: {err}");
                    126
                }
            }
        })
    }

    /// A builtin's status, or None for a program.
    fn builtin(&mut self, argv: &[String], redirs: &[Redir]) -> Option<i32> {
        let status = match argv[0].as_str() {
            ":" | "true" => 0,
            "false" => 1,
            "exit" => {
                let code = match argv.get(1).map(|a| a.parse::<i32>()) {
                    None => self.status,
                    Some(Ok(n)) => n & 0xff,
                    Some(Err(_)) => {
                        eprintln!("sh: exit: {}: a number is needed", argv[1]);
                        2
                    }
                };
                sys::exit_now(code)
            }
            "cd" => {
                let dir = argv.get(1).cloned().or_else(|| std::env::var("HOME").ok()).unwrap_or_else(|| "/".into());
                match std::env::set_current_dir(&dir) {
                    Ok(()) => 0,
                    Err(e) => {
                        eprintln!("sh: cd: {dir}: {e}");
                        1
                    }
                }
            }
            "export" => {
                for a in &argv[1..] {
                    match a.split_once('=') {
                        Some((n, v)) if parse::is_name(n) => std::env::set_var(n, v),
                        None if parse::is_name(a) => {}
                        _ => {
                            eprintln!("sh: export: {a}: not a variable name");
                            return Some(1);
                        }
                    }
                }
                0
            }
            "trap" => self.trap(&argv[1..]),
            _ => return None,
        };
        let opened = self.open_only(redirs);
        Some(if opened != 0 { opened } else { status })
    }

    /// `trap ACTION SIG...`: '' ignores, '-' restores the default.
    fn trap(&mut self, args: &[String]) -> i32 {
        let Some((action, sigs)) = args.split_first().filter(|(_, s)| !s.is_empty()) else {
            eprintln!("sh: trap: usage: trap ACTION SIGNAL...");
            return 2;
        };
        for s in sigs {
            let Some(sig) = sys::signal_number(s) else {
                eprintln!("sh: trap: {s}: no such signal");
                return 1;
            };
            match action.as_str() {
                "-" => {
                    self.traps.remove(&sig);
                    sys::set_signal(sig, None);
                }
                "" => {
                    self.traps.remove(&sig);
                    sys::set_signal(sig, Some(false));
                }
                _ => {
                    self.traps.insert(sig, action.clone());
                    sys::set_signal(sig, Some(true));
                }
            }
        }
        0
    }

    /// Opens (creates) a builtin's redirection targets; 1 when one fails.
    fn open_only(&mut self, redirs: &[Redir]) -> i32 {
        for r in redirs {
            if r.op != RedirOp::Dup {
                if let Err(e) = self.open(r) {
                    eprintln!("sh: {e}");
                    return 1;
                }
            }
        }
        0
    }

    fn open(&mut self, r: &Redir) -> Result<std::fs::File, String> {
        let path = self.expand_one(&r.target);
        let mut o = std::fs::OpenOptions::new();
        match r.op {
            RedirOp::Read => o.read(true),
            RedirOp::Write => o.write(true).create(true).truncate(true),
            RedirOp::Append => o.append(true).create(true),
            RedirOp::Dup => unreachable!("a descriptor copy opens nothing"),
        };
        o.open(&path).map_err(|e| format!("cannot open {path}: {e}"))
    }

    /// Applies redirections to this process's own descriptors.
    fn redirect(&mut self, redirs: &[Redir]) -> Result<(), String> {
        for r in redirs {
            if r.op == RedirOp::Dup {
                let from: i32 = self.expand_one(&r.target).parse().map_err(|_| "bad descriptor".to_string())?;
                sys::dup_to(from, r.fd).map_err(|e| format!("{}>&{from}: {e}", r.fd))?;
            } else {
                let f = self.open(r)?;
                sys::dup_to(f.as_raw_fd(), r.fd).map_err(|e| format!("{}: {e}", r.fd))?;
            }
        }
        Ok(())
    }

    fn param(&self, name: &str) -> String {
        match name {
            "*" | "@" => self.args.get(1..).unwrap_or_default().join(" "),
            "#" => self.args.len().saturating_sub(1).to_string(),
            "?" => self.status.to_string(),
            "$" => std::process::id().to_string(),
            n if n.bytes().all(|b| b.is_ascii_digit()) => {
                n.parse::<usize>().ok().and_then(|i| self.args.get(i)).cloned().unwrap_or_default()
            }
            n => std::env::var(n).unwrap_or_default(),
        }
    }

    /// The output of `list`, run in a forked copy, without trailing
    /// newlines.
    fn substitute(&mut self, list: &List) -> String {
        let (mut r, w) = match sys::pipe() {
            Ok(p) => p,
            Err(e) => {
                eprintln!("sh: pipe: {e}");
                return String::new();
            }
        };
        match sys::fork_process() {
            Ok(0) => {
                drop(r);
                if let Err(e) = sys::dup_to(w.as_raw_fd(), 1) {
                    eprintln!("sh: {e}");
                    sys::exit_now(2);
                }
                drop(w);
                let status = self.run_list(list, true);
                sys::exit_now(status)
            }
            Ok(pid) => {
                drop(w);
                let mut out = String::new();
                let _ = r.read_to_string(&mut out);
                self.status = sys::wait_for(pid);
                out.truncate(out.trim_end_matches('\n').len());
                out
            }
            Err(e) => {
                eprintln!("sh: fork: {e}");
                String::new()
            }
        }
    }

    /// A word's fields: unquoted expansions split at blanks; quoted text,
    /// even empty, stays one field.
    fn expand(&mut self, w: &Word) -> Vec<String> {
        let mut fields = Vec::new();
        let mut cur = String::new();
        let mut have = false;
        for part in &w.0 {
            let (value, quoted) = match part {
                Part::Lit(s, q) => {
                    cur.push_str(s);
                    have |= *q || !s.is_empty();
                    continue;
                }
                Part::Param(n, q) => (self.param(n), *q),
                Part::Sub(list, q) => (self.substitute(list), *q),
            };
            if quoted {
                cur.push_str(&value);
                have = true;
                continue;
            }
            let starts_blank = value.starts_with([' ', '\t', '\n']);
            for (i, piece) in value.split([' ', '\t', '\n']).filter(|p| !p.is_empty()).enumerate() {
                if (i > 0 || starts_blank) && have {
                    fields.push(std::mem::take(&mut cur));
                }
                cur.push_str(piece);
                have = true;
            }
            if value.ends_with([' ', '\t', '\n']) && have {
                fields.push(std::mem::take(&mut cur));
                have = false;
            }
        }
        if have {
            fields.push(cur);
        }
        fields
    }

    /// A word as one string (redirection targets, assignments).
    fn expand_one(&mut self, w: &Word) -> String {
        self.expand(w).join(" ")
    }
}
