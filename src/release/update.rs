//! freebsd-update(8)'s configuration for updating a root other than the
//! running system. Pure: nothing here touches the host.
//!
//! brig runs freebsd-update with `-f` and a copy of the host's
//! /etc/freebsd-update.conf (so its KeyPrint and ServerName, the trust
//! the host already has, are used unchanged) in which only what a jail
//! root needs differs: `Components world` (a jail has no kernel and
//! wants no /usr/src) and `BackupKernel no` (otherwise every install
//! leaves a /boot/kernel.old in the root).

/// The settings brig replaces.
const REPLACED: &[&str] = &["Components", "BackupKernel"];

/// The host's configuration with brig's settings in place of its own.
pub fn config_for_root(host_conf: &str) -> String {
    let mut out: String = host_conf
        .lines()
        .filter(|l| !REPLACED.contains(&l.split_whitespace().next().unwrap_or_default()))
        .map(|l| format!("{l}\n"))
        .collect();
    out.push_str("# brig: a jail root has no kernel and wants no source.\nComponents world\nBackupKernel no\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hosts_keys_stay_and_only_components_and_kernel_backup_change() {
        let host = "# comment\nKeyPrint 800651ef4b4c71c27e60786d7b487188970f4b4169cc055784e21eb71d410cc5\n\
                    ServerName update.FreeBSD.org\nComponents src world kernel\nBackupKernel yes\nComponentsX keep\n";
        let got = config_for_root(host);
        assert!(got.starts_with("# comment\nKeyPrint 800651ef"), "{got}");
        assert!(got.contains("ServerName update.FreeBSD.org\n"));
        assert!(got.contains("ComponentsX keep\n"), "only whole keys are replaced");
        assert!(!got.contains("src world kernel") && !got.contains("BackupKernel yes"), "{got}");
        assert!(got.ends_with("Components world\nBackupKernel no\n"), "{got}");
    }
}
