//! unmount(2) by filesystem ID. A path inside a jail root is the jail's to
//! redirect (a parent directory swapped for a symbolic link), and
//! kern_unmount resolves a path with FOLLOW before it looks for the mount:
//! unmounting by path could take away a mount of the host or of another
//! jail. With MNT_BYFSID the path argument is `FSID:val0:val1`, the
//! `f_fsid` getfsstat(2) reported, and the kernel finds the mount with
//! vfs_getvfs (ENOENT when there is none), never through a path.

/// `f_fsid.val` of struct statfs.
pub type Fsid = [i32; 2];

/// The path argument of unmount(2) with MNT_BYFSID, as kern_unmount
/// parses it (`sscanf(..., "FSID:%d:%d", ...)`) and umount(8) and
/// autounmountd write it.
pub fn fsid_path(fsid: Fsid) -> String {
    format!("FSID:{}:{}", fsid[0], fsid[1])
}

#[cfg(test)]
mod tests {
    #[test]
    fn as_kern_unmount_reads_it() {
        assert_eq!(super::fsid_path([-1_828_716_288, 222]), "FSID:-1828716288:222");
        assert_eq!(super::fsid_path([0, 0]), "FSID:0:0");
    }
}
