//! Plans: what must happen, in order, to make the machine match what the
//! user asked for. Pure functions of (wanted, observed); printable, and
//! tested as golden values. `exec` carries them out.

pub mod addresses;
pub mod apply;
pub mod audit;
pub mod boot;
pub mod dummynet;
pub mod gc;
pub mod image;
mod init;
pub mod jail;
mod op;
pub mod order;
pub mod pf;
pub mod provision;
pub mod release;
pub mod run;
pub mod snapshot;
pub mod supervise;
pub mod upgrade;
pub mod usage;

pub use init::{init, InitObserved, InitPlanError};
pub use op::{cpu_list, Op};

/// Fixtures shared by the planners' golden tests.
#[cfg(test)]
pub(crate) mod testing {
    use std::path::Path;

    use super::Op;
    use crate::config::HostConfig;
    use crate::model::jail::JailType;
    use crate::model::jail::{validate, JailSpec};
    use crate::model::{DatasetName, JailName};

    /// `zroot/brig` mounted at `/usr/local/brig`.
    pub fn cfg() -> HostConfig {
        HostConfig::new(DatasetName::parse("zroot/brig").expect("valid"), "/usr/local/brig".into())
    }

    /// Jail `web` defined by `text`.
    pub fn spec(text: &str) -> JailSpec {
        let raw = crate::config::jail::parse(Path::new("web.toml"), text).expect("parses");
        validate(&JailName::parse("web").expect("name"), &raw, &[], JailType::Thin).expect("valid")
    }

    /// An empty jail `name` defined by `text` (after `type = "empty"`).
    pub fn empty(name: &str, text: &str) -> JailSpec {
        let raw =
            crate::config::jail::parse(Path::new("t.toml"), &format!("type = \"empty\"\n{text}")).expect("parses");
        validate(&JailName::parse(name).expect("name"), &raw, &[], JailType::Thin).expect("valid")
    }

    /// A kernel that knows every parameter of brig's table, running
    /// `release`, without those `missing`.
    pub fn kernel(release: &str, missing: &[&str]) -> crate::kernel::params::KernelParams {
        let known = crate::kernel::params::PARAMS.iter().map(|d| d.name).filter(|n| !missing.contains(n));
        crate::kernel::params::KernelParams::new(known.map(str::to_string).collect(), release)
    }

    /// A mount as getfsstat shows it, with a filesystem ID of its own.
    pub fn mount(target: &str, fstype: &str, source: &str, readonly: bool) -> crate::kernel::MountEntry {
        static NEXT: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(1);
        let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        crate::kernel::MountEntry {
            fstype: fstype.into(),
            source: source.into(),
            target: target.into(),
            readonly,
            fsid: [id, 0],
        }
    }

    /// An rctl rule as the kernel lists it.
    pub fn rule(text: &str) -> crate::kernel::rctl_rules::Rule {
        crate::kernel::rctl_rules::Rule::parse(text).expect("a complete rule")
    }

    /// A plan as the lines `--dry-run` prints.
    pub fn lines(ops: &[Op]) -> Vec<String> {
        ops.iter().map(ToString::to_string).collect()
    }

    /// Compares a plan, whole, with its golden file `src/plan/golden/NAME`
    /// (one step a line). `BRIG_BLESS=1 cargo test` writes the files
    /// instead, for a change of plan that is meant; `git diff` then shows
    /// it step by step.
    #[track_caller]
    pub fn golden(name: &str, ops: &[Op]) {
        let got: String = lines(ops).iter().map(|l| format!("{l}\n")).collect();
        golden_text(name, &got);
    }

    /// Compares text, whole, with its golden file `src/plan/golden/NAME`.
    #[track_caller]
    pub fn golden_text(name: &str, got: &str) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/plan/golden").join(name);
        if std::env::var_os("BRIG_BLESS").is_some() {
            std::fs::write(&path, got).expect("write the golden file");
            return;
        }
        let want = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; BRIG_BLESS=1 cargo test writes it", path.display()));
        assert!(
            got == want,
            "the plan differs from {} (BRIG_BLESS=1 cargo test rewrites it)\n--- want\n{want}--- got\n{got}",
            path.display()
        );
    }
}
