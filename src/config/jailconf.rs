//! jail.conf(5), read as jail(8) reads it (usr.sbin/jail/jailparse.y and
//! config.c): parameters outside a block apply to every jail, a `*` block
//! to every jail too, a named block to that jail; `name = value;`,
//! `name += value;` (appends to a list), `name;` (a boolean, or a `no`
//! name for false), lists separated by commas; strings in double or
//! single quotes; `$name` and `${name}` expand to a parameter of the same
//! jail (`$name` to the jail's name); `#`, `//` and `/* */` comments.

use std::collections::BTreeMap;

/// A jail's parameters, each a list of values, in the order written.
pub type Params = BTreeMap<String, Vec<String>>;

/// One jail of a jail.conf, its parameters resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfJail {
    pub name: String,
    pub params: Params,
}

/// A jail.conf that does not read: the line and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {why}")]
pub struct ConfError {
    pub line: usize,
    pub why: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    /// A quoted string: never a keyword, never split.
    Quoted(String),
    Open,
    Close,
    Semi,
    Comma,
    Assign,
    Append,
}

fn tokens(text: &str) -> Result<Vec<(usize, Token)>, ConfError> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let (mut i, mut line) = (0, 1);
    let err = |line, why: &str| ConfError { line, why: why.to_string() };
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\n' => {
                line += 1;
                i += 1;
            }
            c if c.is_whitespace() => i += 1,
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
                if i >= chars.len() {
                    return Err(err(line, "a /* comment is not closed"));
                }
                i += 2;
            }
            '{' | '}' | ';' | ',' => {
                out.push((
                    line,
                    [Token::Open, Token::Close, Token::Semi, Token::Comma]["{};,".find(c).unwrap_or(0)].clone(),
                ));
                i += 1;
            }
            '+' if chars.get(i + 1) == Some(&'=') => {
                out.push((line, Token::Append));
                i += 2;
            }
            '=' => {
                out.push((line, Token::Assign));
                i += 1;
            }
            '"' | '\'' => {
                let quote = c;
                let start = line;
                let mut s = String::new();
                i += 1;
                loop {
                    let Some(&d) = chars.get(i) else { return Err(err(start, "a quoted string is not closed")) };
                    i += 1;
                    match d {
                        d if d == quote => break,
                        '\\' if quote == '"' => {
                            let Some(&e) = chars.get(i) else {
                                return Err(err(start, "a quoted string is not closed"));
                            };
                            i += 1;
                            match e {
                                'n' => s.push('\n'),
                                't' => s.push('\t'),
                                '\n' => line += 1,
                                e => s.push(e),
                            }
                        }
                        d => {
                            if d == '\n' {
                                line += 1;
                            }
                            s.push(d);
                        }
                    }
                }
                out.push((line, Token::Quoted(s)));
            }
            _ => {
                let mut s = String::new();
                while let Some(&d) = chars.get(i) {
                    if d.is_whitespace() || "{};,=\"'".contains(d) || (d == '+' && chars.get(i + 1) == Some(&'=')) {
                        break;
                    }
                    s.push(d);
                    i += 1;
                }
                out.push((line, Token::Word(s)));
            }
        }
    }
    Ok(out)
}

/// One `name [= | +=] values;` as written.
#[derive(Debug, Clone)]
struct Assignment {
    line: usize,
    name: String,
    append: bool,
    /// None: `name;` alone.
    values: Option<Vec<String>>,
}

/// Reads a jail.conf: every named jail with its parameters (the global
/// ones and the `*` block's first, its own over them), variables
/// expanded.
pub fn parse(text: &str) -> Result<Vec<ConfJail>, ConfError> {
    let toks = tokens(text)?;
    let mut at = 0;
    let mut global: Vec<Assignment> = Vec::new();
    let mut wildcard: Vec<Assignment> = Vec::new();
    let mut jails: Vec<(String, Vec<Assignment>)> = Vec::new();
    let word = |t: &Token| match t {
        Token::Word(w) | Token::Quoted(w) => Some(w.clone()),
        _ => None,
    };
    while at < toks.len() {
        let (line, t) = &toks[at];
        let Some(name) = word(t) else {
            return Err(ConfError { line: *line, why: "expected a parameter or a jail name".into() });
        };
        if matches!(toks.get(at + 1), Some((_, Token::Open))) {
            at += 2;
            let mut body = Vec::new();
            loop {
                match toks.get(at) {
                    Some((_, Token::Close)) => {
                        at += 1;
                        break;
                    }
                    Some(_) => body.push(assignment(&toks, &mut at)?),
                    None => return Err(ConfError { line: *line, why: format!("the block of {name} is not closed") }),
                }
            }
            if name == "*" {
                wildcard.extend(body);
            } else {
                jails.push((name, body));
            }
        } else {
            global.push(assignment(&toks, &mut at)?);
        }
    }
    jails
        .into_iter()
        .map(|(name, own)| {
            let mut params = Params::new();
            for a in global.iter().chain(&wildcard).chain(&own) {
                apply(&mut params, a);
            }
            let params =
                expand(&name, &params).map_err(|why| ConfError { line: own.first().map_or(0, |a| a.line), why })?;
            Ok(ConfJail { name, params })
        })
        .collect()
}

fn assignment(toks: &[(usize, Token)], at: &mut usize) -> Result<Assignment, ConfError> {
    let (line, t) = &toks[*at];
    let bad = |why: &str| ConfError { line: *line, why: why.to_string() };
    let name = match t {
        Token::Word(w) | Token::Quoted(w) => w.clone(),
        _ => return Err(bad("expected a parameter name")),
    };
    *at += 1;
    let append = match toks.get(*at) {
        Some((_, Token::Semi)) => {
            *at += 1;
            return Ok(Assignment { line: *line, name, append: false, values: None });
        }
        Some((_, Token::Assign)) => false,
        Some((_, Token::Append)) => true,
        _ => return Err(bad(&format!("after {name}, expected =, += or ;"))),
    };
    *at += 1;
    let mut values = Vec::new();
    loop {
        match toks.get(*at) {
            Some((_, Token::Word(w) | Token::Quoted(w))) => values.push(w.clone()),
            _ => return Err(bad(&format!("{name}: expected a value"))),
        }
        *at += 1;
        match toks.get(*at) {
            Some((_, Token::Comma)) => *at += 1,
            Some((_, Token::Semi)) => {
                *at += 1;
                break;
            }
            _ => return Err(bad(&format!("{name}: expected , or ; after a value"))),
        }
    }
    Ok(Assignment { line: *line, name, append, values: Some(values) })
}

/// `name;` sets a boolean: true, or false for a `no` name.
fn apply(params: &mut Params, a: &Assignment) {
    match &a.values {
        None => match a.name.strip_prefix("no").filter(|_| a.name.len() > 2) {
            Some(positive) if !positive.starts_with('.') && crate::kernel::params::lookup(positive).is_some() => {
                params.insert(positive.to_string(), vec!["false".into()]);
            }
            _ => {
                params.insert(a.name.clone(), vec!["true".into()]);
            }
        },
        Some(v) if a.append => params.entry(a.name.clone()).or_default().extend(v.iter().cloned()),
        Some(v) => {
            params.insert(a.name.clone(), v.clone());
        }
    }
}

/// `$name`, `${name}` and `$name` of a parameter, in every value.
fn expand(jail: &str, params: &Params) -> Result<Params, String> {
    let lookup = |var: &str| -> Result<String, String> {
        if var == "name" {
            return Ok(jail.to_string());
        }
        params.get(var).map(|v| v.join(",")).ok_or_else(|| format!("${var} names no parameter of jail {jail}"))
    };
    let mut out = Params::new();
    for (k, values) in params {
        let mut expanded = Vec::new();
        for v in values {
            let mut s = String::new();
            let mut rest = v.as_str();
            while let Some(i) = rest.find('$') {
                s.push_str(&rest[..i]);
                rest = &rest[i + 1..];
                let (var, after) = if let Some(r) = rest.strip_prefix('{') {
                    let end = r.find('}').ok_or_else(|| format!("{k}: a ${{ is not closed"))?;
                    (&r[..end], &r[end + 1..])
                } else {
                    let end =
                        rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.')).unwrap_or(rest.len());
                    (&rest[..end], &rest[end..])
                };
                s.push_str(&lookup(var)?);
                rest = after;
            }
            s.push_str(rest);
            expanded.push(s);
        }
        out.insert(k.clone(), expanded);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jail_conf_reads_as_jail_8_reads_it() {
        let text = r#"
# defaults for all
exec.start = "/bin/sh /etc/rc";
exec.stop = "/bin/sh /etc/rc.shutdown jail";
mount.devfs;
path = "/usr/jails/$name";
* { allow.raw_sockets; }
/* the web jail */
web {
    host.hostname = "web.example.org";
    ip4.addr = "em0|192.0.2.10/24", 192.0.2.11;
    exec.poststart += "logger ${name} up";   // two
    exec.poststart += 'echo "hi"';
    nopersist;
}
db { path = /data/db; depend = web; }
"#;
        let jails = parse(text).expect("reads");
        assert_eq!(jails.len(), 2);
        let web = &jails[0].params;
        assert_eq!(web["path"], ["/usr/jails/web"]);
        assert_eq!(web["ip4.addr"], ["em0|192.0.2.10/24", "192.0.2.11"]);
        assert_eq!(web["exec.poststart"], ["logger web up", "echo \"hi\""]);
        assert_eq!(web["allow.raw_sockets"], ["true"]);
        assert_eq!(web["persist"], ["false"]);
        assert_eq!(web["mount.devfs"], ["true"]);
        let db = &jails[1].params;
        assert_eq!((db["path"][0].as_str(), db["depend"][0].as_str()), ("/data/db", "web"));
    }

    #[test]
    fn what_does_not_read_names_its_line() {
        for (text, line) in [
            ("web {\n path = /x\n}\n", 2),
            ("web { path = \"/x; }\n", 1),
            ("\n\nweb { path = $nope; }", 3),
            ("a = ;", 1),
        ] {
            assert_eq!(parse(text).expect_err(text).line, line, "{text}");
        }
    }
}
