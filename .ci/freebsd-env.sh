# shellcheck shell=bash
# Source this to cross-check and cross-link brig for x86_64-unknown-freebsd
# from Linux:
#
#     source .ci/freebsd-env.sh [STUB_DIR]     # default: target/freebsd-stubs
#
# (From a script, pass STUB_DIR explicitly: `source` without arguments
# would see the script's own $1.)
#
# zfs-core-sys's build script decides by the *build* machine's OS, so on
# Linux it asks pkg-config for libzfs_core, and the final link needs
# libzfs_core, libnvpair (and libzfs, which nvpair-sys names) for FreeBSD.
# This writes, under STUB_DIR only:
#   - libzfs_core.pc, pointing the linker at STUB_DIR;
#   - link-time stub shared libraries built for x86_64 FreeBSD with
#     `python3 -m ziglang cc`: every function the Rust bindings declare,
#     with empty bodies, and the SONAME of the real library in FreeBSD's
#     /lib (libzfs_core.so.2, libnvpair.so.2, libzfs.so.4) so the binary
#     loads the real ones at run time.
# The stubs exist only to satisfy the linker. They live under target/ (or
# STUB_DIR) and are never installed or shipped.

_brig_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_brig_stubs="${1:-$_brig_root/target/freebsd-stubs}"
mkdir -p "$_brig_stubs"
_brig_stubs="$(cd "$_brig_stubs" && pwd)"

# The function names the -sys crates declare, from the sources cargo uses.
(cd "$_brig_root" && cargo metadata --format-version 1 --filter-platform x86_64-unknown-freebsd) |
    python3 -c '
import json, os, re, sys
out = sys.argv[1]
meta = json.load(sys.stdin)
wanted = {"zfs-core-sys": "zfs_core", "nvpair-sys": "nvpair"}
found = {}
for pkg in meta["packages"]:
    lib = wanted.get(pkg["name"])
    if lib is None:
        continue
    src = os.path.join(os.path.dirname(pkg["manifest_path"]), "src")
    names = set()
    for root, _, files in os.walk(src):
        for f in files:
            if f.endswith(".rs"):
                with open(os.path.join(root, f), encoding="utf-8") as fh:
                    names.update(re.findall(r"\bpub fn (\w+)\s*\(", fh.read()))
    found[lib] = sorted(names)
missing = set(wanted.values()) - set(found)
if missing:
    sys.exit("freebsd-env.sh: no sources for " + ", ".join(sorted(missing)))
found["zfs"] = []
for lib, names in found.items():
    with open(os.path.join(out, "lib%s.c" % lib), "w") as fh:
        fh.write("/* Link-time stub for lib%s; never shipped. */\n" % lib)
        fh.write("void brig_link_stub_%s(void) {}\n" % lib)
        for n in names:
            fh.write("void %s(void) {}\n" % n)
' "$_brig_stubs"

for _brig_lib in zfs_core:2 nvpair:2 zfs:4; do
    _brig_name="${_brig_lib%%:*}"
    _brig_major="${_brig_lib##*:}"
    python3 -m ziglang cc -target x86_64-freebsd -shared -fPIC -nostdlib \
        -Wl,-soname,"lib${_brig_name}.so.${_brig_major}" \
        -o "$_brig_stubs/lib${_brig_name}.so" "$_brig_stubs/lib${_brig_name}.c"
done

cat >"$_brig_stubs/libzfs_core.pc" <<EOF
libdir=$_brig_stubs

Name: libzfs_core
Description: link-time stub of FreeBSD's libzfs_core (never shipped)
Version: 2.2.0
Libs: -L\${libdir} -lzfs_core -lnvpair
Cflags:
EOF

export PKG_CONFIG_ALLOW_CROSS=1
export PKG_CONFIG_PATH="$_brig_stubs${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
# For the FreeBSD target, look only at the stubs, never at the build
# machine's own .pc files.
export PKG_CONFIG_LIBDIR_x86_64_unknown_freebsd="$_brig_stubs"
export PKG_CONFIG_PATH_x86_64_unknown_freebsd="$_brig_stubs"
# The linker finds the stubs through the .pc file: zfs-core-sys turns its
# -L into cargo:rustc-link-search, which also serves the -lnvpair -lzfs that
# nvpair-sys asks for.
export BRIG_FREEBSD_STUBS="$_brig_stubs"

unset _brig_root _brig_stubs _brig_lib _brig_name _brig_major
