//! The CLI lifecycle, as a sysadmin drives it: init, release fetch from a
//! local mirror, thin and thick jails created, started, entered, changed
//! live, limited, stopped and destroyed.
//!
//! Against the sim it always runs. On FreeBSD it writes brig's own files
//! (/usr/local/etc/brig, /var/db/brig), so it runs only when asked:
//! BRIG_CONFORMANCE_CLI=1 on a host where brig is not otherwise used,
//! with BRIG_CONFORMANCE_MIRROR (a directory with MANIFEST and base.txz)
//! and BRIG_CONFORMANCE_RELEASE (its name, such as 14.3-RELEASE).

use std::path::Path;
use std::process::Command;

/// How brig is run and what it works on.
struct Cli {
    host: Option<String>,
    dataset: String,
    mountpoint: String,
    mirror: String,
    release: String,
    _dirs: Vec<tempfile::TempDir>,
}

impl Cli {
    fn sim() -> Cli {
        let sim = tempfile::tempdir().expect("sim dir");
        let mirror = tempfile::tempdir().expect("mirror dir");
        let program = crate::userland::build(Path::new(env!("CARGO_TARGET_TMPDIR"))).unwrap_or_else(|e| panic!("{e}"));
        crate::userland::release(&program, mirror.path()).unwrap_or_else(|e| panic!("{e}"));
        Cli {
            host: Some(format!("sim:{}", sim.path().display())),
            dataset: "zroot/brig".into(),
            mountpoint: "/usr/local/brig".into(),
            mirror: mirror.path().display().to_string(),
            release: "14.3-RELEASE".into(),
            _dirs: vec![sim, mirror],
        }
    }

    #[cfg(target_os = "freebsd")]
    fn real() -> Option<Cli> {
        if std::env::var("BRIG_CONFORMANCE_CLI").as_deref() != Ok("1") {
            return None;
        }
        let var = |n: &str| std::env::var(n).unwrap_or_else(|_| panic!("BRIG_CONFORMANCE_CLI=1 needs {n}"));
        let dataset = format!("{}/cli", var("BRIG_CONFORMANCE_DATASET"));
        Some(Cli {
            host: None,
            mountpoint: format!("/{dataset}"),
            dataset,
            mirror: var("BRIG_CONFORMANCE_MIRROR"),
            release: var("BRIG_CONFORMANCE_RELEASE"),
            _dirs: Vec::new(),
        })
    }

    #[cfg(not(target_os = "freebsd"))]
    fn real() -> Option<Cli> {
        None
    }

    /// brig with these arguments; its exit code and output.
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        self.run_env(args, &[])
    }

    fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
        let mut c = Command::new(env!("CARGO_BIN_EXE_brig"));
        if let Some(h) = &self.host {
            c.args(["--host", h]);
        }
        c.env_remove("BRIG_HOST").env_remove("BRIG_SIM_FAIL").env_remove("VISUAL").envs(env.iter().copied());
        let out = c.args(args).output().expect("brig runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    #[track_caller]
    fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.run(args);
        assert_eq!(code, 0, "brig {}:\n{out}{err}", args.join(" "));
        out
    }
}

#[test]
fn the_cli_lifecycle() {
    let cli = Cli::real().unwrap_or_else(Cli::sim);
    cli.ok(&["init", "--dataset", &cli.dataset, "--mountpoint", &cli.mountpoint]);
    cli.ok(&["release", "fetch", &cli.release, "--from", &cli.mirror]);
    cli.ok(&["create", "bcthin", "--release", &cli.release, "--ip4", "127.0.3.10/32", "--interface", "lo0"]);
    cli.ok(&["create", "bcthick", "--release", &cli.release, "--type", "thick", "--depends", "bcthin"]);
    let (code, out, err) = cli.run(&["start", "bcthin", "bcthick"]);
    if crate::target::skip_if_refused(&err) {
        return;
    }
    assert_eq!(code, 0, "brig start bcthin bcthick:\n{out}{err}");
    assert_eq!(cli.run(&["exec", "bcthin", "--", "/bin/sh", "-c", "exit 3"]).0, 3);
    let listed = cli.ok(&["list", "--json"]);
    assert!(listed.matches("\"running\"").count() >= 2, "{listed}");
    // A live change through edit and apply: the editor puts a hostname
    // first in the definition's copy.
    let editor = r#"sh -c '{ echo "hostname = \"bcthin.example.org\""; cat "$1"; } > "$1.new" && mv "$1.new" "$1"' sh"#;
    let (code, out, err) = cli.run_env(&["edit", "bcthin"], &[("EDITOR", editor)]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(cli.ok(&["apply", "bcthin"]).contains("host.hostname=bcthin.example.org"));
    assert!(cli.ok(&["apply"]).contains("nothing to do"), "a second apply changes nothing");
    // Limits, where the kernel keeps them.
    let (code, _, err) = cli.run(&["limits", "bcthin", "set", "maxproc=50"]);
    assert!(code == 0 || err.contains("kern.racct.enable is 0"), "{err}");
    cli.ok(&["stop", "bcthick", "bcthin"]);
    cli.ok(&["destroy", "bcthick"]);
    cli.ok(&["destroy", "bcthin"]);
    cli.ok(&["release", "destroy", &cli.release]);
    assert_eq!(cli.run(&["info", "bcthin"]).0, 3, "gone");
}
