//! Ctrl-C and SIGTERM during long work (downloads, extraction): the signal
//! only raises a flag, the work stops at its next check, and the plan's
//! undo runs, so an interrupted command leaves nothing half-made.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};

static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// The flag, raised once SIGINT or SIGTERM arrives after [`catch`].
pub fn flag() -> &'static AtomicBool {
    FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// From now on SIGINT and SIGTERM raise the flag instead of killing brig;
/// the flag, for a loop that ends when it is raised.
pub fn catch() -> std::io::Result<&'static AtomicBool> {
    let f = FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(f))?;
    }
    Ok(f)
}
