//! `brig stats --prometheus`: jails' resource usage in the Prometheus
//! text exposition format (version 0.0.4), for node_exporter's textfile
//! collector or a scrape. Pure rendering.

use std::fmt::Write;

use crate::app::limits::Usage;

/// A label value as the format quotes it: `\`, `"` and newlines escaped.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Every running jail: up, its CPU time as a counter, and every racct
/// resource as a gauge labelled with its name (rctl(8)'s units: bytes,
/// seconds, counts, percent).
pub fn render(rows: &[Usage]) -> String {
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
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_format_with_help_type_and_escaped_labels() {
        let usage = [("cputime".to_string(), 12u64), ("memoryuse".to_string(), 1 << 20)].into_iter().collect();
        let text = render(&[Usage { name: "we\"b".into(), jid: 3, usage }]);
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
    }
}
