//! `brig stats --prometheus` and `brig metrics serve`: jails' resource
//! usage and what the supervisor counted, in the Prometheus text
//! exposition format (version 0.0.4), for node_exporter's textfile
//! collector or a scrape. Pure rendering.

use std::fmt::Write;

use crate::app::limits::Usage;
use crate::model::JailName;
use crate::plan::supervise::{Status, Watch};

/// A label value as the format quotes it: `\`, `"` and newlines escaped.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Every running jail: up, its CPU time as a counter, and every racct
/// resource as a gauge labelled with its name (rctl(8)'s units: bytes,
/// seconds, counts, percent); and for every jail the supervisor follows,
/// its restarts (a counter kept on disk, so it survives restarts of brig)
/// and whether it is healthy.
pub fn render(rows: &[Usage], watched: &[(JailName, Watch)]) -> String {
    let mut out = String::new();
    let jail = |r: &Usage| format!("jail=\"{}\",jid=\"{}\"", label(&r.name), r.jid);
    out.push_str("# HELP brig_jail_up Whether the jail runs (1).\n# TYPE brig_jail_up gauge\n");
    for r in rows {
        let _ = writeln!(out, "brig_jail_up{{{}}} 1", jail(r));
    }
    out.push_str("# HELP brig_jail_cpu_seconds_total CPU time the jail's processes used (racct cputime).\n");
    out.push_str("# TYPE brig_jail_cpu_seconds_total counter\n");
    for r in rows {
        if let Some(s) = r.usage.get("cputime") {
            let _ = writeln!(out, "brig_jail_cpu_seconds_total{{{}}} {s}", jail(r));
        }
    }
    out.push_str("# HELP brig_jail_resource A resource's current use by the jail, as rctl_get_racct(2) reports it.\n");
    out.push_str("# TYPE brig_jail_resource gauge\n");
    for r in rows {
        for (resource, amount) in &r.usage {
            let _ = writeln!(out, "brig_jail_resource{{{},resource=\"{}\"}} {amount}", jail(r), label(resource));
        }
    }
    if watched.is_empty() {
        return out;
    }
    out.push_str("# HELP brig_jail_restarts_total Restarts brig supervise made of the jail.\n");
    out.push_str("# TYPE brig_jail_restarts_total counter\n");
    for (name, w) in watched {
        let _ = writeln!(out, "brig_jail_restarts_total{{jail=\"{}\"}} {}", label(name.as_str()), w.restarts_total);
    }
    out.push_str("# HELP brig_jail_healthy Whether the jail's last check passed (1), as brig supervise saw it.\n");
    out.push_str("# TYPE brig_jail_healthy gauge\n");
    for (name, w) in watched.iter().filter(|(_, w)| w.status != Status::Stopped) {
        let healthy = u8::from(matches!(w.status, Status::Healthy | Status::Running));
        let _ = writeln!(
            out,
            "brig_jail_healthy{{jail=\"{}\",status=\"{}\"}} {healthy}",
            label(name.as_str()),
            w.status.as_str()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_format_with_help_type_and_escaped_labels() {
        let usage = [("cputime".to_string(), 12u64), ("memoryuse".to_string(), 1 << 20)].into_iter().collect();
        let text = render(&[Usage { name: "we\"b".into(), jid: 3, usage }], &[]);
        assert_eq!(
            text,
            "# HELP brig_jail_up Whether the jail runs (1).\n# TYPE brig_jail_up gauge\nbrig_jail_up{jail=\"we\\\"b\",jid=\"3\"} 1\n\
# HELP brig_jail_cpu_seconds_total CPU time the jail's processes used (racct cputime).\n# TYPE brig_jail_cpu_seconds_total counter\n\
brig_jail_cpu_seconds_total{jail=\"we\\\"b\",jid=\"3\"} 12\n\
# HELP brig_jail_resource A resource's current use by the jail, as rctl_get_racct(2) reports it.\n# TYPE brig_jail_resource gauge\n\
brig_jail_resource{jail=\"we\\\"b\",jid=\"3\",resource=\"cputime\"} 12\n\
brig_jail_resource{jail=\"we\\\"b\",jid=\"3\",resource=\"memoryuse\"} 1048576\n"
        );
        assert_eq!(label("a\\b\nc"), "a\\\\b\\nc");
        let web = crate::model::JailName::parse("web").expect("name");
        let w = Watch { status: Status::Unhealthy, restarts_total: 4, ..Watch::default() };
        let text = render(&[], &[(web, w)]);
        assert!(text.ends_with(
            "brig_jail_restarts_total{jail=\"web\"} 4\n\
# HELP brig_jail_healthy Whether the jail's last check passed (1), as brig supervise saw it.\n# TYPE brig_jail_healthy gauge\n\
brig_jail_healthy{jail=\"web\",status=\"unhealthy\"} 0\n"
        ), "{text}");
    }
}
