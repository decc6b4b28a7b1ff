//! Path lookup on the simulated machine, the way namei(9) does it: `/` is
//! the sim directory, symlinks are followed (an absolute link target starts
//! again at the sim root, never at the Linux root), at most 32 links.
//!
//! The kernel follows symlinks in `path` and mount targets, so the sim does
//! too: a jail root that plants `/mnt -> /` really redirects a mount here,
//! and tests can prove that brig refuses such paths before it calls the
//! kernel.

use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;

const MAXSYMLINKS: usize = 32;

/// Resolves a path of the simulated machine to a machine path without
/// symlinks, or the errno namei would return (ENOENT, ENOTDIR, ELOOP).
pub fn resolve(root: &Path, path: &Path) -> Result<PathBuf, Errno> {
    let mut out = PathBuf::from("/");
    let mut links = 0;
    let mut queue = std::collections::VecDeque::new();
    push_components(&mut queue, path);
    while let Some(comp) = queue.pop_front() {
        match comp.as_str() {
            "/" => out = PathBuf::from("/"),
            ".." => {
                out.pop();
            }
            name => {
                let candidate = out.join(name);
                let local = local(root, &candidate);
                let meta = std::fs::symlink_metadata(&local).map_err(|_| Errno::ENOENT)?;
                if meta.file_type().is_symlink() {
                    links += 1;
                    if links > MAXSYMLINKS {
                        return Err(Errno::ELOOP);
                    }
                    let target = std::fs::read_link(&local).map_err(|_| Errno::ENOENT)?;
                    let rest: Vec<String> = queue.drain(..).collect();
                    push_components(&mut queue, &target);
                    queue.extend(rest);
                } else {
                    if !queue.is_empty() && !meta.is_dir() {
                        return Err(Errno::ENOTDIR);
                    }
                    out = candidate;
                }
            }
        }
    }
    Ok(out)
}

fn push_components(queue: &mut std::collections::VecDeque<String>, p: &Path) {
    for c in p.components() {
        match c {
            Component::RootDir => queue.push_back("/".to_string()),
            Component::ParentDir => queue.push_back("..".to_string()),
            Component::Normal(s) => queue.push_back(s.to_string_lossy().into_owned()),
            Component::CurDir | Component::Prefix(_) => {}
        }
    }
}

/// The local path of a machine path, without any lookup: `DIR/a/b` for
/// `/a/b`. `..` cannot climb above the sim root.
pub fn local(root: &Path, path: &Path) -> PathBuf {
    let mut out = root.to_path_buf();
    let mut depth = 0usize;
    for c in path.components() {
        match c {
            Component::Normal(s) => {
                out.push(s);
                depth += 1;
            }
            Component::ParentDir if depth > 0 => {
                out.pop();
                depth -= 1;
            }
            _ => {}
        }
    }
    out
}

/// Resolves a directory: ENOTDIR if the path names something else.
pub fn resolve_dir(root: &Path, path: &Path) -> Result<PathBuf, Errno> {
    let p = resolve(root, path)?;
    if local(root, &p).is_dir() {
        Ok(p)
    } else {
        Err(Errno::ENOTDIR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn absolute_symlinks_stay_in_the_sim_root() {
        let t = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(t.path().join("jail/root")).expect("mkdir");
        std::fs::create_dir_all(t.path().join("etc")).expect("mkdir");
        symlink("/", t.path().join("jail/root/mnt")).expect("symlink");
        assert_eq!(resolve(t.path(), Path::new("/jail/root/mnt/etc")), Ok(PathBuf::from("/etc")));
    }

    #[test]
    fn relative_symlinks_and_dotdot() {
        let t = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(t.path().join("a/b")).expect("mkdir");
        symlink("../b", t.path().join("a/b/up")).expect("symlink");
        assert_eq!(resolve(t.path(), Path::new("/a/b/up/../..")), Ok(PathBuf::from("/")));
        assert_eq!(resolve(t.path(), Path::new("/../../a")), Ok(PathBuf::from("/a")));
    }

    #[test]
    fn missing_file_and_loops() {
        let t = tempfile::tempdir().expect("tempdir");
        std::fs::write(t.path().join("f"), "x").expect("write");
        symlink("/loop", t.path().join("loop")).expect("symlink");
        assert_eq!(resolve(t.path(), Path::new("/nope")), Err(Errno::ENOENT));
        assert_eq!(resolve(t.path(), Path::new("/f/x")), Err(Errno::ENOTDIR));
        assert_eq!(resolve(t.path(), Path::new("/loop")), Err(Errno::ELOOP));
        assert_eq!(resolve_dir(t.path(), Path::new("/f")), Err(Errno::ENOTDIR));
    }
}
