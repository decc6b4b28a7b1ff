//! The template language of provisioning's `render` steps and of the
//! `{{ name }}` placeholders in step values: text with `{{ NAME }}`
//! replaced by the variable's value and `{{ "TEXT" }}` by TEXT (to write
//! a literal `{{`). Nothing else: no expressions, loops or calls, so a
//! template cannot run anything or read anything but its variables.
//! Pure.

use std::collections::BTreeMap;

/// The largest text a render makes: a template that blows up (a
/// variable used a million times) is refused instead of filling a disk.
pub const MAX_OUTPUT: usize = 4 << 20;

/// Why a text does not render: the line (1-based) and the sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderError {
    pub line: usize,
    pub why: String,
}

/// A variable name: a letter or `_`, then letters, digits, `_` and `.`
/// (`jail.name`).
pub fn is_var_name(n: &str) -> bool {
    let mut chars = n.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// `text` with every placeholder replaced from `vars`.
pub fn render(text: &str, vars: &BTreeMap<String, String>) -> Result<String, RenderError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // Counted only for an error: counting at every placeholder would make
    // a large template quadratic.
    let line_at = |rest: &str| text[..text.len() - rest.len()].matches('\n').count() + 1;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let here = &rest[open..];
        let close = after.find("}}").ok_or_else(|| RenderError {
            line: line_at(here),
            why: "'{{' is not closed by '}}'; write {{ \"{{\" }} for a literal '{{'".into(),
        })?;
        let inner = after[..close].trim();
        if let Some(literal) = inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
            out.push_str(literal);
        } else if is_var_name(inner) {
            let value = vars.get(inner).ok_or_else(|| RenderError {
                line: line_at(here),
                why: format!(
                    "{{{{ {inner} }}}} names no variable; define it in [vars] or the step's vars (known: {})",
                    known(vars)
                ),
            })?;
            out.push_str(value);
        } else {
            return Err(RenderError {
                line: line_at(here),
                why: format!(
                    "{} is not a variable name; write {{{{ NAME }}}} or {{{{ \"TEXT\" }}}}",
                    super::quoted(inner)
                ),
            });
        }
        if out.len() > MAX_OUTPUT {
            return Err(RenderError {
                line: line_at(here),
                why: format!("the text would be over {} bytes", MAX_OUTPUT),
            });
        }
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn known(vars: &BTreeMap<String, String>) -> String {
    if vars.is_empty() {
        return "none".into();
    }
    vars.keys().map(String::as_str).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> BTreeMap<String, String> {
        [("port", "8080"), ("jail.name", "web")].into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn placeholders_are_replaced_and_nothing_else_is_touched() {
        assert_eq!(
            render("listen {{port}};\nserver_name {{ jail.name }} { }\n", &vars()).expect("renders"),
            "listen 8080;\nserver_name web { }\n"
        );
        assert_eq!(render("a {{ \"{{\" }} b }}", &vars()).expect("renders"), "a {{ b }}");
        assert_eq!(render("${x} $(id) `id`", &vars()).expect("renders"), "${x} $(id) `id`");
    }

    #[test]
    fn errors_name_the_line() {
        let e = render("a\nb {{ nope }}\n", &vars()).expect_err("unknown");
        assert_eq!(e.line, 2);
        assert_eq!(
            e.why,
            "{{ nope }} names no variable; define it in [vars] or the step's vars (known: jail.name, port)"
        );
        assert_eq!(render("\n\n{{ port", &vars()).expect_err("open").line, 3);
        assert!(render("{{ port | upper }}", &vars()).expect_err("filter").why.starts_with("'port | upper' is not"));
    }

    #[test]
    fn output_is_bounded() {
        let big: BTreeMap<String, String> = [("x".to_string(), "y".repeat(1 << 20))].into_iter().collect();
        assert!(render(&"{{x}}".repeat(8), &big).expect_err("too big").why.contains("over"));
    }
}
