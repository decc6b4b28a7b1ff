//! What setusercontext(3) sets, lib/libutil/login_cap.h: the flags jexec(8)
//! and jail(8) pass when they run a command inside a jail, so that the
//! user's login class (login.conf: resource limits, umask, PATH,
//! environment, priority, CPU mask) applies there as it would at login.

pub const LOGIN_SETGROUP: u32 = 0x0001;
pub const LOGIN_SETLOGIN: u32 = 0x0002;
pub const LOGIN_SETPATH: u32 = 0x0004;
pub const LOGIN_SETENV: u32 = 0x0080;
pub const LOGIN_SETALL: u32 = 0x07ff;

/// The flags of a command run in a jail (jexec.c, command.c): for a named
/// user everything but the groups (initgroups(3) set them already) and
/// setlogin(2); for a clean environment without a user, root's class
/// PATH and environment only; nothing otherwise (the command keeps brig's
/// environment and root's context, as `jexec JID cmd` does).
pub fn context_flags(user: bool, clean: bool) -> Option<u32> {
    if user {
        Some(LOGIN_SETALL & !LOGIN_SETGROUP & !LOGIN_SETLOGIN)
    } else if clean {
        Some(LOGIN_SETPATH | LOGIN_SETENV)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flags_are_those_of_jexec() {
        assert_eq!(context_flags(true, false), Some(0x7fc));
        assert_eq!(context_flags(true, true), Some(0x7fc));
        assert_eq!(context_flags(false, true), Some(0x84));
        assert_eq!(context_flags(false, false), None);
    }
}
