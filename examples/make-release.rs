//! `cargo run --example make-release -- DIR`: builds brig's test release
//! into DIR (base.txz and MANIFEST), for `brig release fetch 14.3-RELEASE
//! --from DIR` on the simulated host, as the README tour does. Its base
//! system is brig's test userland (tests/userland), built with rustc; no
//! other tool is needed.

// Laying the userland into a jail root is for the tests; this only builds
// and packs it.
#[allow(dead_code)]
#[path = "../tests/userland/make.rs"]
mod userland;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir] = args.as_slice() else {
        eprintln!("usage: cargo run --example make-release -- DIR");
        std::process::exit(2);
    };
    let built = tempfile::tempdir()
        .map_err(|e| format!("a temporary directory: {e}"))
        .and_then(|tmp| userland::release(&userland::build(tmp.path())?, std::path::Path::new(dir)));
    match built {
        Ok(hash) => println!("built {dir}/base.txz ({hash}) and {dir}/MANIFEST"),
        Err(e) => {
            eprintln!("make-release: {e}");
            std::process::exit(1);
        }
    }
}
