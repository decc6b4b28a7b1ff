//! Where the scenarios run: the simulated host by default, or the real
//! FreeBSD kernel when `BRIG_CONFORMANCE_DATASET` names a scratch dataset
//! (as root on FreeBSD). Either way a scenario gets its own dataset under
//! the root, its own jail-name prefix, and a cleanup that takes down
//! whatever it made, even when it failed.

use std::path::{Path, PathBuf};

use brig::host::{Errno, GetFlags, Host, HostResult, JailKey};

/// A Host and the room one scenario may use on it.
pub struct Target {
    pub host: Box<dyn Host>,
    /// The scenario's own dataset (created empty, destroyed at the end).
    pub dataset: String,
    /// Every jail a scenario makes is named `PREFIX...`.
    pub prefix: String,
    /// A directory of the machine whose root has /bin/sh, /bin/sleep and
    /// /etc/passwd with root and nobody: `/` on FreeBSD, a root holding
    /// brig's test userland in the sim.
    pub shell_root: String,
    /// The interface aliases are added to and removed from.
    pub interface: String,
    /// Aliases a scenario added, removed at the end.
    pub aliases: Vec<ipnet::IpNet>,
    _sim: Option<tempfile::TempDir>,
}

/// The real host, when asked for: root on FreeBSD with
/// BRIG_CONFORMANCE_DATASET set.
#[cfg(target_os = "freebsd")]
fn real_host() -> Option<(Box<dyn Host>, String)> {
    // The simulated host runs its jails' commands as Linux processes, so
    // on FreeBSD there is only the real kernel to test.
    let root = std::env::var("BRIG_CONFORMANCE_DATASET").ok().filter(|d| !d.is_empty()).unwrap_or_else(|| {
        panic!("on FreeBSD the conformance suite runs against this kernel: set BRIG_CONFORMANCE_DATASET to a scratch dataset such as tank/brig-test")
    });
    assert!(nix::unistd::geteuid().is_root(), "the conformance suite on FreeBSD runs as root");
    let host = brig::host::freebsd::FreeBsdHost::with_helper(env!("CARGO_BIN_EXE_brig"));
    Some((Box::new(host), root))
}

#[cfg(not(target_os = "freebsd"))]
fn real_host() -> Option<(Box<dyn Host>, String)> {
    None
}

impl Target {
    /// The target for scenario `name` (a short word).
    pub fn new(name: &str) -> Target {
        let prefix = format!("bc{name}");
        match real_host() {
            Some((host, root)) => {
                let interface = std::env::var("BRIG_CONFORMANCE_INTERFACE").unwrap_or_else(|_| "lo0".to_string());
                let mut t = Target {
                    host,
                    dataset: format!("{root}/{name}"),
                    prefix,
                    shell_root: "/".into(),
                    interface,
                    aliases: Vec::new(),
                    _sim: None,
                };
                // A scenario that died before its cleanup left this.
                t.cleanup();
                t.host.zfs_create(&t.dataset, &[]).expect("the scenario's dataset");
                t
            }
            None => Target::sim(name, prefix),
        }
    }

    fn sim(name: &str, prefix: String) -> Target {
        let dir = tempfile::tempdir().expect("tempdir");
        // A host that has loaded dummynet.ko, as one with bandwidth limits has.
        drop(brig::host::sim::SimHost::open(dir.path()).expect("sim"));
        let config = dir.path().join("sim.toml");
        let text = std::fs::read_to_string(&config).expect("sim.toml");
        std::fs::write(&config, text.replace("modules = [", "modules = [\"dummynet\", ")).expect("sim.toml");
        let mut host = brig::host::sim::SimHost::open(dir.path()).expect("sim");
        host.zfs_create("zroot/conformance", &[]).expect("root dataset");
        let dataset = format!("zroot/conformance/{name}");
        host.zfs_create(&dataset, &[]).expect("the scenario's dataset");
        let shell_root = "/conformance-root".to_string();
        userland_root(&dir.path().join(shell_root.trim_start_matches('/')));
        // Scripts redirect to /dev/null.
        host.mount(&brig::host::MountRequest {
            fstype: "devfs".into(),
            source: "devfs".into(),
            target: PathBuf::from(format!("{shell_root}/dev")),
            readonly: false,
            options: vec![("ruleset".into(), Some("4".into()))],
        })
        .expect("devfs");
        Target {
            host: Box::new(host),
            dataset,
            prefix,
            shell_root,
            interface: "lo0".into(),
            aliases: Vec::new(),
            _sim: Some(dir),
        }
    }

    /// A root of the machine at an older patch level than its release's
    /// newest, and that version: on FreeBSD the directory
    /// BRIG_CONFORMANCE_UPDATE_ROOT names (a copy of a release such as
    /// 14.3-RELEASE as fetched, which freebsd-update may change); on the
    /// sim a small root at 14.3-RELEASE-p1, with the sim's update server
    /// offering p3.
    pub fn outdated_root(&mut self) -> (PathBuf, brig::model::version::Version) {
        let read = |host: &dyn Host, root: &Path| {
            let text =
                std::fs::read_to_string(host.local_path(&root.join("bin/freebsd-version"))).expect("freebsd-version");
            brig::model::version::Version::from_script(&text).expect("a version")
        };
        let Some(sim) = &self._sim else {
            let root = std::env::var("BRIG_CONFORMANCE_UPDATE_ROOT").unwrap_or_else(|_| {
                panic!("on FreeBSD this scenario updates a root: set BRIG_CONFORMANCE_UPDATE_ROOT to a copy of a fetched release, such as /tank/brig-test-root")
            });
            let root = PathBuf::from(root);
            let v = read(&*self.host, &root);
            return (root, v);
        };
        let server = sim.path().join("update-server/14.3-RELEASE");
        for (level, sh) in [("p2", "sh p2\n"), ("p3", "sh p3\n")] {
            std::fs::create_dir_all(server.join(level).join("bin")).expect("mkdir");
            std::fs::write(server.join(level).join("bin/sh"), sh).expect("write");
            let v = format!("USERLAND_VERSION=\"14.3-RELEASE-{level}\"\n");
            std::fs::write(server.join(level).join("bin/freebsd-version"), v).expect("write");
        }
        let config = sim.path().join("sim.toml");
        let text = std::fs::read_to_string(&config).expect("sim.toml");
        let server = sim.path().join("update-server").display().to_string();
        std::fs::write(&config, format!("update_server = {server:?}\n{text}")).expect("sim.toml");
        self.host = Box::new(brig::host::sim::SimHost::open(sim.path()).expect("sim"));
        let root = self.dir("update-root");
        let local = self.host.local_path(&root);
        std::fs::create_dir_all(local.join("bin")).expect("mkdir");
        std::fs::write(local.join("bin/sh"), "sh p1\n").expect("write");
        std::fs::write(local.join("bin/freebsd-version"), "USERLAND_VERSION=\"14.3-RELEASE-p1\"\n").expect("write");
        let v = read(&*self.host, &root);
        (root, v)
    }

    /// The host's kern.osrelease, after making the sim a FreeBSD 15.0
    /// host that trusts a pkgbase repository its pkg server holds. A real
    /// host is what it is: FreeBSD 15 has pkgbase keys and reaches
    /// pkg.FreeBSD.org, 14 has neither.
    pub fn pkgbase_host(&mut self) -> String {
        if let Some(sim) = &self._sim {
            let server = sim.path().join("pkg-server");
            crate::pkgrepo::publish(&server, &crate::pkgrepo::packages("15.0"), &crate::pkgrepo::key(7), false);
            crate::pkgrepo::trust(sim.path(), &crate::pkgrepo::key(7));
            let config = sim.path().join("sim.toml");
            let text = std::fs::read_to_string(&config).expect("sim.toml");
            let text = text.replace("osrelease = \"14.3-RELEASE\"", "osrelease = \"15.0-RELEASE\"");
            std::fs::write(&config, format!("pkg_server = {:?}\n{text}", server.display().to_string()))
                .expect("sim.toml");
            self.host = Box::new(brig::host::sim::SimHost::open(sim.path()).expect("sim"));
        }
        self.host.sysctl_get("kern.osrelease").expect("kern.osrelease").to_string()
    }

    /// The scenario dataset's mountpoint, a path of the machine.
    pub fn mountpoint(&self) -> PathBuf {
        let p = self.host.zfs_get(&self.dataset, &["mountpoint"]).expect("mountpoint");
        PathBuf::from(&p["mountpoint"])
    }

    /// A new directory `name` in the scenario's dataset, as a path of the
    /// machine.
    pub fn dir(&self, name: &str) -> PathBuf {
        let p = self.mountpoint().join(name);
        std::fs::create_dir_all(self.host.local_path(&p)).expect("mkdir");
        p
    }

    /// The newest mount on `target`, as getfsstat shows it.
    pub fn mounted_at(&self, target: &std::path::Path) -> brig::host::MountEntry {
        let mounts = self.host.mounts().expect("mounts");
        mounts.into_iter().rfind(|m| m.target == target).unwrap_or_else(|| panic!("nothing on {}", target.display()))
    }

    /// The full name of a scenario jail.
    pub fn jail(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Waits (bounded) until jail `jid` has left the kernel.
    pub fn await_gone(&self, jid: i32) -> bool {
        for _ in 0..200 {
            match self.host.jail_get(&JailKey::Jid(jid), &["jid"], GetFlags::DYING) {
                Err(e) if e.errno == Errno::ENOENT => return true,
                _ => std::thread::sleep(std::time::Duration::from_millis(25)),
            }
        }
        false
    }

    /// Takes down what a scenario made: its jails, their rules, mounts in
    /// its dataset, its aliases, its dataset. Nothing else is touched.
    fn cleanup(&mut self) {
        let h = &mut self.host;
        if let Ok(jails) = h.jail_list() {
            for j in jails.iter().filter(|j| j.name.starts_with(&self.prefix)) {
                let _ = h.jail_remove(j.jid);
            }
            for j in jails.iter().filter(|j| j.name.starts_with(&self.prefix)) {
                for _ in 0..200 {
                    if h.jail_get(&JailKey::Jid(j.jid), &["jid"], GetFlags::DYING).is_err() {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(25));
                }
            }
        }
        // Interfaces named for the scenario (those it moved into its jails
        // are back now that the jails are gone).
        if let Ok(ifs) = h.interfaces() {
            for i in ifs.iter().filter(|i| i.name.starts_with(&self.prefix)) {
                let _ = h.if_destroy(&i.name);
            }
        }
        if let Ok(rules) = h.rctl_rules("jail:") {
            for r in rules.iter().filter(|r| r.starts_with(&format!("jail:{}", self.prefix))) {
                let _ = h.rctl_remove(r);
            }
        }
        for a in self.aliases.drain(..) {
            let _ = h.addr_remove(&self.interface, a);
        }
        let mp = h.zfs_get(&self.dataset, &["mountpoint"]).ok().map(|p| PathBuf::from(&p["mountpoint"]));
        if let (Some(mp), Ok(mounts)) = (mp, h.mounts()) {
            let mut inside: Vec<brig::host::MountEntry> =
                mounts.into_iter().filter(|m| m.target.starts_with(&mp) && m.target != mp).collect();
            inside.reverse();
            inside.sort_by_key(|m| std::cmp::Reverse(m.target.components().count()));
            for m in inside {
                let _ = h.unmount(&m, true);
            }
        }
        let _ = h.zfs_destroy(&self.dataset, true);
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.cleanup();
    }
}

/// Where the sim's error `text` says it cannot run a jail's processes on
/// this machine at all (brig without root, and a kernel that refuses the
/// user namespace the sim needs then: src/host/sim/userns.rs), says on the
/// terminal (not captured) that the scenario is skipped, and returns
/// true: the scenario then ends. Anything else, or the real kernel, is the
/// scenario's to judge.
pub fn skip_if_refused(text: &str) -> bool {
    use std::io::Write;
    let refused = text.contains("refuses to make one");
    if refused {
        let _ = writeln!(std::io::stderr(), "skipped: {}", text.trim());
    }
    refused
}

/// The errno of a call the kernel must refuse.
#[track_caller]
pub fn errno<T: std::fmt::Debug>(r: HostResult<T>) -> Errno {
    r.expect_err("the kernel refuses this").errno
}

/// A root with brig's test userland as /bin/sh and friends, for the sim's
/// jails (their commands run chrooted there).
fn userland_root(root: &Path) {
    let program = crate::userland::build(Path::new(env!("CARGO_TARGET_TMPDIR"))).unwrap_or_else(|e| panic!("{e}"));
    crate::userland::install(&program, root).expect("install the test userland");
    std::fs::create_dir_all(root.join("etc")).expect("mkdir etc");
    std::fs::create_dir_all(root.join("dev")).expect("mkdir dev");
    std::fs::write(root.join("etc/passwd"), "root:*:0:0::/root:/bin/sh\nnobody:*:65534:65534::/nonexistent:/bin/sh\n")
        .expect("passwd");
}
