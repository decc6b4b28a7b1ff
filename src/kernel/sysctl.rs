//! What sysctl(3) says of a name without reading it: the `oid_kind` and
//! format string `{0,4}` (oidfmt) returns, as sys/sysctl.h defines them;
//! and how libjail reads a jail parameter's type from them
//! (jailparam_type in lib/libjail/jail.c).

use crate::kernel::params::ParamType;

/// The type bits of `oid_kind`.
pub const CTLTYPE: u32 = 0xf;
pub const CTLTYPE_NODE: u32 = 1;
pub const CTLTYPE_INT: u32 = 2;
pub const CTLTYPE_STRING: u32 = 3;
pub const CTLTYPE_STRUCT: u32 = 5;
pub const CTLTYPE_ULONG: u32 = 8;
/// Readable; a jail parameter's node has no read flag and no handler, so
/// reading it as a value is EISDIR (sysctl_root in kern_sysctl.c).
pub const CTLFLAG_RD: u32 = 0x8000_0000;
pub const CTLFLAG_WR: u32 = 0x4000_0000;
/// A tunable: on a jail parameter, CTLFLAG_RDTUN marks one that can be
/// set when the jail is made and never after (kern_jail.c).
pub const CTLFLAG_TUN: u32 = 0x0008_0000;
pub const CTLFLAG_MPSAFE: u32 = 0x0004_0000;

/// What oidfmt says of one sysctl name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysctlType {
    /// `oid_kind`: the CTLTYPE_* in the low bits, CTLFLAG_* above.
    pub kind: u32,
    /// The format: `I`, `IU`, `LU`, `A`, `B`, `E,jailsys`,
    /// `S,in_addr,a`, `N` for a node.
    pub fmt: String,
    /// For a node, the type of its empty-named child `NAME.`, which holds
    /// the node's own value: SYSCTL_JAIL_PARAM_SYS_NODE declares one for
    /// `host`, `ip4`, `ip6`, `vnet`-less jailsys parameters, and kern_jail.c
    /// one for `allow.mount`. libjail finds it as the OID next to the
    /// node's. None for a leaf, or a node without a value (`allow`).
    pub value: Option<Box<SysctlType>>,
}

impl SysctlType {
    pub fn leaf(kind: u32, fmt: &str) -> SysctlType {
        SysctlType { kind, fmt: fmt.to_string(), value: None }
    }

    pub fn node(value: Option<SysctlType>) -> SysctlType {
        SysctlType { kind: CTLTYPE_NODE | CTLFLAG_MPSAFE, fmt: "N".to_string(), value: value.map(Box::new) }
    }

    pub fn is_node(&self) -> bool {
        self.kind & CTLTYPE == CTLTYPE_NODE
    }

    /// The type of the value this name stands for, as jailparam_type
    /// resolves it: the leaf itself, or a node's empty-named child. None
    /// for a node without one, which is no parameter at all ("unknown
    /// parameter").
    pub fn value_type(&self) -> Option<&SysctlType> {
        if self.is_node() {
            self.value.as_deref()
        } else {
            Some(self)
        }
    }
}

/// The kind and format prefix `security.jail.param.NAME` has for a
/// parameter of this type (the SYSCTL_JAIL_PARAM* declarations in
/// kern_jail.c): what brig's table must agree with before it encodes a
/// value for the kernel.
pub fn expected(ty: ParamType) -> (u32, &'static str) {
    match ty {
        ParamType::Str { .. } => (CTLTYPE_STRING, "A"),
        ParamType::Int { .. } => (CTLTYPE_INT, "I"),
        ParamType::ULong => (CTLTYPE_ULONG, "LU"),
        ParamType::Bool => (CTLTYPE_INT, "B"),
        ParamType::JailSys { .. } => (CTLTYPE_INT, "E,jailsys"),
        ParamType::Ip4List => (CTLTYPE_STRUCT, "S,in_addr"),
        ParamType::Ip6List => (CTLTYPE_STRUCT, "S,in6_addr"),
    }
}

/// Whether the kernel's idea of a parameter matches brig's type.
pub fn agrees(ty: ParamType, kernel: &SysctlType) -> bool {
    let (kind, fmt) = expected(ty);
    kernel.kind & CTLTYPE == kind && kernel.fmt.starts_with(fmt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_stands_for_its_empty_named_child() {
        let host = SysctlType::node(Some(SysctlType::leaf(CTLTYPE_INT | CTLFLAG_RD | CTLFLAG_WR, "E,jailsys")));
        assert_eq!(host.value_type().map(|t| t.fmt.as_str()), Some("E,jailsys"));
        assert_eq!(SysctlType::node(None).value_type(), None, "`allow` is no parameter");
        let persist = SysctlType::leaf(CTLTYPE_INT | CTLFLAG_RD | CTLFLAG_WR, "B");
        assert_eq!(persist.value_type(), Some(&persist));
    }

    #[test]
    fn types_agree_on_kind_and_format() {
        let b = SysctlType::leaf(CTLTYPE_INT, "B");
        assert!(agrees(ParamType::Bool, &b));
        assert!(!agrees(ParamType::Int { min: 0, max: 1 }, &b));
        assert!(agrees(ParamType::Ip4List, &SysctlType::leaf(CTLTYPE_STRUCT, "S,in_addr,a")));
        assert!(agrees(ParamType::Str { max: 4096 }, &SysctlType::leaf(CTLTYPE_STRING, "A,keyvalue")));
        assert!(!agrees(ParamType::Ip6List, &SysctlType::leaf(CTLTYPE_STRUCT, "S,in_addr,a")));
    }
}
