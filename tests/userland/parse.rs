//! The syntax of the test userland's `sh`: only what the scripts that
//! brig's tests, benchmarks and README tour run inside simulated jails
//! use. Simple commands with single and double quotes, backslashes,
//! `$NAME`, `${NAME}`, `$1`..`$9`, `$*`, `$@`, `$#`, `$?`, `$$` and
//! `$(...)`; redirections `<`, `>`, `>>` and `N>&M`; `;`, newlines, `&`,
//! `&&`, `||`; `( ... )` subshells, `if`/`elif`/`else`/`fi`,
//! `while`/`until ... do ... done`; `#` comments; `NAME=value`
//! assignments. Pipelines, backquotes, `case`, `for`, functions and
//! globbing are refused or not special: a script that needs them gets a
//! syntax error, never a different meaning.

/// One piece of a word, before expansion.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Literal text; `quoted` text is never split into fields.
    Lit(String, bool),
    /// `$NAME`, `${NAME}`, `$1`, `$*`, `$?`...
    Param(String, bool),
    /// `$(...)`: the output of a list, trailing newlines removed.
    Sub(List, bool),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Word(pub Vec<Part>);

impl Word {
    /// The word's text when it is one unquoted literal (a reserved word,
    /// an assignment or a file descriptor number can only be that).
    pub fn plain(&self) -> Option<&str> {
        match self.0.as_slice() {
            [Part::Lit(s, false)] => Some(s),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RedirOp {
    /// `<`
    Read,
    /// `>`
    Write,
    /// `>>`
    Append,
    /// `>&M` / `<&M`: a copy of descriptor M.
    Dup,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Redir {
    pub fd: i32,
    pub op: RedirOp,
    pub target: Word,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Simple { assigns: Vec<(String, Word)>, words: Vec<Word>, redirs: Vec<Redir> },
    Subshell { body: List, redirs: Vec<Redir> },
    If { arms: Vec<(List, List)>, otherwise: Option<List> },
    Loop { until: bool, cond: List, body: List },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Connector {
    And,
    Or,
}

/// Commands joined by `&&` and `||`.
#[derive(Debug, Clone, PartialEq)]
pub struct AndOr {
    pub first: Command,
    pub rest: Vec<(Connector, Command)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub and_or: AndOr,
    /// Ended by `&`: run without waiting.
    pub background: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct List(pub Vec<Item>);

#[derive(Debug, Clone, PartialEq)]
pub enum ParseError {
    /// The text ends inside a quote or a compound command: an interactive
    /// shell reads another line.
    Incomplete,
    Syntax(String),
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            ParseError::Incomplete => write!(f, "unexpected end of file"),
            ParseError::Syntax(m) => write!(f, "{m}"),
        }
    }
}

/// Parses a whole script.
pub fn parse(text: &str) -> Result<List, ParseError> {
    let tokens = lex(text)?;
    let mut p = Parser { tokens, pos: 0 };
    let list = p.list()?;
    match p.peek() {
        None => Ok(list),
        Some(t) => Err(ParseError::Syntax(format!("syntax error near {}", t.show()))),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(Word),
    /// A run of digits right before `<` or `>`.
    IoNumber(i32),
    Op(&'static str),
}

impl Token {
    fn show(&self) -> String {
        match self {
            Token::Word(w) => format!("'{}'", w.plain().unwrap_or("word")),
            Token::IoNumber(n) => format!("'{n}'"),
            Token::Op("\n") => "newline".to_string(),
            Token::Op(o) => format!("'{o}'"),
        }
    }
}

/// Longest first, so `&&` is not read as two `&`.
const OPS: &[&str] = &["&&", "||", ">>", ">&", "<&", ";", "&", "|", "(", ")", "<", ">", "\n"];

fn lex(text: &str) -> Result<Vec<Token>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == ' ' || c == '\t' {
            i += 1;
        } else if c == '\\' && chars.get(i + 1) == Some(&'\n') {
            i += 2;
        } else if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if let Some(op) = OPS.iter().find(|op| chars[i..].starts_with(&op.chars().collect::<Vec<_>>())) {
            tokens.push(Token::Op(op));
            i += op.len();
        } else {
            let (word, next) = lex_word(&chars, i)?;
            let digits = word.plain().filter(|s| s.bytes().all(|b| b.is_ascii_digit()));
            match (digits.and_then(|d| d.parse().ok()), chars.get(next)) {
                (Some(n), Some('<' | '>')) => tokens.push(Token::IoNumber(n)),
                _ => tokens.push(Token::Word(word)),
            }
            i = next;
        }
    }
    Ok(tokens)
}

/// Adds literal text to a word, merging it with literal text of the same
/// quoting before it.
fn push_lit(parts: &mut Vec<Part>, c: char, quoted: bool) {
    if let Some(Part::Lit(s, q)) = parts.last_mut() {
        if *q == quoted {
            s.push(c);
            return;
        }
    }
    parts.push(Part::Lit(c.to_string(), quoted));
}

/// One word starting at `i`; returns it and where it ends.
fn lex_word(chars: &[char], mut i: usize) -> Result<(Word, usize), ParseError> {
    let mut parts = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        if " \t\n;&|()<>".contains(c) {
            break;
        }
        match c {
            '\\' => match chars.get(i + 1) {
                None => return Err(ParseError::Incomplete),
                Some('\n') => i += 2,
                Some(&n) => {
                    push_lit(&mut parts, n, true);
                    i += 2;
                }
            },
            '\'' => {
                let end = chars[i + 1..].iter().position(|&c| c == '\'').ok_or(ParseError::Incomplete)?;
                parts.push(Part::Lit(chars[i + 1..i + 1 + end].iter().collect(), true));
                i += end + 2;
            }
            '"' => {
                i += 1;
                // An empty "" is still a word (an empty field).
                parts.push(Part::Lit(String::new(), true));
                loop {
                    match chars.get(i) {
                        None => return Err(ParseError::Incomplete),
                        Some('"') => break,
                        Some('\\') if matches!(chars.get(i + 1), Some('$' | '`' | '"' | '\\' | '\n')) => {
                            if chars[i + 1] != '\n' {
                                push_lit(&mut parts, chars[i + 1], true);
                            }
                            i += 2;
                        }
                        Some('$') => i = lex_dollar(chars, i, true, &mut parts)?,
                        Some('`') => return Err(backquote()),
                        Some(&c) => {
                            push_lit(&mut parts, c, true);
                            i += 1;
                        }
                    }
                }
                i += 1;
            }
            '$' => i = lex_dollar(chars, i, false, &mut parts)?,
            '`' => return Err(backquote()),
            _ => {
                push_lit(&mut parts, c, false);
                i += 1;
            }
        }
    }
    Ok((Word(parts), i))
}

fn backquote() -> ParseError {
    ParseError::Syntax("`...` is not supported by this shell; use $(...)".to_string())
}

/// `$...` at `i`; returns where it ends.
fn lex_dollar(chars: &[char], i: usize, quoted: bool, parts: &mut Vec<Part>) -> Result<usize, ParseError> {
    let name_char = |c: &char| c.is_ascii_alphanumeric() || *c == '_';
    match chars.get(i + 1) {
        Some('(') => {
            let end = matching_paren(chars, i + 2)?;
            let inner: String = chars[i + 2..end].iter().collect();
            parts.push(Part::Sub(parse(&inner)?, quoted));
            Ok(end + 1)
        }
        Some('{') => {
            let end = chars[i + 2..].iter().position(|&c| c == '}').ok_or(ParseError::Incomplete)? + i + 2;
            let name: String = chars[i + 2..end].iter().collect();
            if !valid_param(&name) {
                return Err(ParseError::Syntax(format!("${{{name}}}: bad substitution")));
            }
            parts.push(Part::Param(name, quoted));
            Ok(end + 1)
        }
        Some(c) if "*@#?$!".contains(*c) || c.is_ascii_digit() => {
            parts.push(Part::Param(c.to_string(), quoted));
            Ok(i + 2)
        }
        Some(c) if c.is_ascii_alphabetic() || *c == '_' => {
            let len = chars[i + 1..].iter().take_while(|c| name_char(c)).count();
            parts.push(Part::Param(chars[i + 1..i + 1 + len].iter().collect(), quoted));
            Ok(i + 1 + len)
        }
        _ => {
            push_lit(parts, '$', quoted);
            Ok(i + 1)
        }
    }
}

fn valid_param(name: &str) -> bool {
    let special = name.len() == 1 && "*@#?$!".contains(name);
    let digits = !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit());
    special || digits || is_name(name)
}

/// A variable name: a letter or `_`, then letters, digits and `_`.
pub fn is_name(s: &str) -> bool {
    let mut b = s.bytes();
    b.next().is_some_and(|c| c.is_ascii_alphabetic() || c == b'_') && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// The `)` that closes a `$(` whose text starts at `i`, skipping quoted
/// text and nested parentheses.
fn matching_paren(chars: &[char], mut i: usize) -> Result<usize, ParseError> {
    let mut depth = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '\'' => i += chars[i + 1..].iter().position(|&c| c == '\'').ok_or(ParseError::Incomplete)? + 1,
            '"' => {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            '(' => depth += 1,
            ')' if depth == 0 => return Ok(i),
            ')' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    Err(ParseError::Incomplete)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

/// Words that end a list inside a compound command.
const TERMINATORS: &[&str] = &["then", "elif", "else", "fi", "do", "done"];

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Token::Op(o)) if *o == op)
    }

    /// The next token when it is this reserved word.
    fn peek_reserved(&self) -> Option<&str> {
        match self.peek() {
            Some(Token::Word(w)) => {
                w.plain().filter(|s| TERMINATORS.contains(s) || ["if", "while", "until"].contains(s))
            }
            _ => None,
        }
    }

    fn skip_newlines(&mut self) {
        while self.peek_op("\n") {
            self.pos += 1;
        }
    }

    fn expect_word(&mut self, word: &str) -> Result<(), ParseError> {
        self.skip_newlines();
        match self.peek() {
            None => Err(ParseError::Incomplete),
            Some(Token::Word(w)) if w.plain() == Some(word) => {
                self.pos += 1;
                Ok(())
            }
            Some(t) => Err(ParseError::Syntax(format!("syntax error near {}: expected '{word}'", t.show()))),
        }
    }

    /// and-or lists separated by `;`, `&` and newlines, up to the end, a
    /// `)` or a word that ends a compound command's part.
    fn list(&mut self) -> Result<List, ParseError> {
        let mut items = Vec::new();
        loop {
            self.skip_newlines();
            match self.peek() {
                None | Some(Token::Op(")")) => break,
                _ if self.peek_reserved().is_some_and(|w| TERMINATORS.contains(&w)) => break,
                _ => {}
            }
            let and_or = self.and_or()?;
            let background = self.peek_op("&");
            if background || self.peek_op(";") {
                self.pos += 1;
            } else if !matches!(self.peek(), None | Some(Token::Op("\n" | ")"))) && self.peek_reserved().is_none() {
                return Err(self.unexpected());
            }
            items.push(Item { and_or, background });
        }
        Ok(List(items))
    }

    fn unexpected(&self) -> ParseError {
        match self.peek() {
            None => ParseError::Incomplete,
            Some(Token::Op("|")) => ParseError::Syntax("pipelines are not supported by this shell".to_string()),
            Some(t) => ParseError::Syntax(format!("syntax error near {}", t.show())),
        }
    }

    fn and_or(&mut self) -> Result<AndOr, ParseError> {
        let first = self.command()?;
        let mut rest = Vec::new();
        loop {
            let connector = match self.peek() {
                Some(Token::Op("&&")) => Connector::And,
                Some(Token::Op("||")) => Connector::Or,
                _ => break,
            };
            self.pos += 1;
            self.skip_newlines();
            rest.push((connector, self.command()?));
        }
        Ok(AndOr { first, rest })
    }

    fn command(&mut self) -> Result<Command, ParseError> {
        match self.peek_reserved() {
            Some("if") => return self.if_command(),
            Some(w @ ("while" | "until")) => {
                let until = w == "until";
                self.pos += 1;
                let cond = self.list()?;
                self.expect_word("do")?;
                let body = self.list()?;
                self.expect_word("done")?;
                return Ok(Command::Loop { until, cond, body });
            }
            Some(_) => return Err(self.unexpected()),
            None => {}
        }
        if self.peek_op("(") {
            self.pos += 1;
            let body = self.list()?;
            if !self.peek_op(")") {
                return Err(self.unexpected());
            }
            self.pos += 1;
            let mut redirs = Vec::new();
            while let Some(r) = self.redir()? {
                redirs.push(r);
            }
            return Ok(Command::Subshell { body, redirs });
        }
        let (mut assigns, mut words, mut redirs) = (Vec::new(), Vec::new(), Vec::new());
        loop {
            if let Some(r) = self.redir()? {
                redirs.push(r);
                continue;
            }
            let Some(Token::Word(w)) = self.peek() else { break };
            let w = w.clone();
            self.pos += 1;
            match assignment(&w) {
                Some(a) if words.is_empty() => assigns.push(a),
                _ => words.push(w),
            }
        }
        if assigns.is_empty() && words.is_empty() && redirs.is_empty() {
            return Err(self.unexpected());
        }
        Ok(Command::Simple { assigns, words, redirs })
    }

    fn if_command(&mut self) -> Result<Command, ParseError> {
        self.pos += 1;
        let mut arms = Vec::new();
        let mut otherwise = None;
        loop {
            let cond = self.list()?;
            self.expect_word("then")?;
            let body = self.list()?;
            arms.push((cond, body));
            match self.peek_reserved() {
                Some("elif") => self.pos += 1,
                Some("else") => {
                    self.pos += 1;
                    otherwise = Some(self.list()?);
                    self.expect_word("fi")?;
                    break;
                }
                _ => {
                    self.expect_word("fi")?;
                    break;
                }
            }
        }
        Ok(Command::If { arms, otherwise })
    }

    /// A redirection at the current token, if there is one.
    fn redir(&mut self) -> Result<Option<Redir>, ParseError> {
        let fd = match self.peek() {
            Some(Token::IoNumber(n)) => {
                let n = *n;
                self.pos += 1;
                Some(n)
            }
            _ => None,
        };
        let (op, default_fd) = match self.peek() {
            Some(Token::Op("<")) => (RedirOp::Read, 0),
            Some(Token::Op(">")) => (RedirOp::Write, 1),
            Some(Token::Op(">>")) => (RedirOp::Append, 1),
            Some(Token::Op(">&")) => (RedirOp::Dup, 1),
            Some(Token::Op("<&")) => (RedirOp::Dup, 0),
            _ => return Ok(None),
        };
        self.pos += 1;
        let target = match self.peek() {
            Some(Token::Word(w)) => w.clone(),
            _ => return Err(self.unexpected()),
        };
        self.pos += 1;
        if op == RedirOp::Dup && target.plain().is_none_or(|t| t.parse::<i32>().is_err()) {
            return Err(ParseError::Syntax("a descriptor copy (>&N) takes a descriptor number".to_string()));
        }
        Ok(Some(Redir { fd: fd.unwrap_or(default_fd), op, target }))
    }
}

/// `NAME=value` at the start of a simple command.
fn assignment(w: &Word) -> Option<(String, Word)> {
    let Some(Part::Lit(first, false)) = w.0.first() else { return None };
    let (name, value) = first.split_once('=')?;
    if !is_name(name) {
        return None;
    }
    let mut parts = w.0.clone();
    parts[0] = Part::Lit(value.to_string(), false);
    Some((name.to_string(), Word(parts)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Word {
        Word(vec![Part::Lit(s.into(), false)])
    }

    fn simple(words: &[&str]) -> Command {
        Command::Simple { assigns: vec![], words: words.iter().map(|w| lit(w)).collect(), redirs: vec![] }
    }

    /// The only command of a one-command script.
    fn only(text: &str) -> Command {
        let list = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(list.0.len(), 1, "{list:?}");
        assert!(list.0[0].and_or.rest.is_empty());
        list.0[0].and_or.first.clone()
    }

    #[test]
    fn simple_commands_lists_and_background() {
        assert_eq!(only("exit 3"), simple(&["exit", "3"]));
        let l = parse("sleep 300 &\necho a; echo b\n\n# a comment\n").expect("parse");
        assert_eq!(l.0.len(), 3);
        assert!(l.0[0].background && !l.0[1].background && !l.0[2].background);
        assert_eq!(l.0[0].and_or.first, simple(&["sleep", "300"]));
        let l = parse("test -f /ready && echo yes || echo no").expect("parse");
        assert_eq!(l.0[0].and_or.rest.iter().map(|r| r.0).collect::<Vec<_>>(), [Connector::And, Connector::Or]);
        assert_eq!(parse("").expect("empty"), List::default());
    }

    #[test]
    fn quotes_and_expansions() {
        let Command::Simple { words, .. } = only(r#"echo "brig test release: rc.shutdown ran ($*)" 'a $b' c\ d"#)
        else {
            panic!()
        };
        assert_eq!(
            words[1].0,
            vec![
                Part::Lit("brig test release: rc.shutdown ran (".into(), true),
                Part::Param("*".into(), true),
                Part::Lit(")".into(), true)
            ]
        );
        assert_eq!(words[2].0, vec![Part::Lit("a $b".into(), true)]);
        assert_eq!(
            words[3].0,
            vec![Part::Lit("c".into(), false), Part::Lit(" ".into(), true), Part::Lit("d".into(), false)]
        );
        let Command::Simple { words, .. } = only("echo $HOME${USER}x $1 \"\"") else { panic!() };
        assert_eq!(
            words[1].0,
            vec![Part::Param("HOME".into(), false), Part::Param("USER".into(), false), Part::Lit("x".into(), false)]
        );
        assert_eq!(words[2].0, vec![Part::Param("1".into(), false)]);
        assert_eq!(words[3].0, vec![Part::Lit(String::new(), true)], "an empty quoted word stays");
        // A lone $ is literal.
        assert_eq!(only("echo $"), simple(&["echo", "$"]));
    }

    #[test]
    fn command_substitution_parses_its_own_list() {
        let Command::Simple { words, redirs, .. } = only(r#"echo "$(id -u) $USER" > /tmp/mark"#) else { panic!() };
        let Part::Sub(inner, true) = &words[1].0[1] else { panic!("{:?}", words[1]) };
        assert_eq!(inner.0[0].and_or.first, simple(&["id", "-u"]));
        assert_eq!(redirs, vec![Redir { fd: 1, op: RedirOp::Write, target: lit("/tmp/mark") }]);
        // Parentheses and quotes inside do not end it early.
        let Command::Simple { words, .. } = only("echo $( (echo ')') )") else { panic!() };
        let Part::Sub(inner, false) = &words[1].0[0] else { panic!() };
        assert!(matches!(inner.0[0].and_or.first, Command::Subshell { .. }));
    }

    #[test]
    fn redirections() {
        let Command::Simple { redirs, .. } = only("echo rc is broken >&2 2>>log <in") else { panic!() };
        assert_eq!(
            redirs,
            vec![
                Redir { fd: 1, op: RedirOp::Dup, target: lit("2") },
                Redir { fd: 2, op: RedirOp::Append, target: lit("log") },
                Redir { fd: 0, op: RedirOp::Read, target: lit("in") },
            ]
        );
        // A number not touching the operator is an argument.
        let Command::Simple { words, redirs, .. } = only("echo 2 >x") else { panic!() };
        assert_eq!((words.len(), redirs[0].fd), (2, 1));
        assert!(matches!(parse("echo >&x"), Err(ParseError::Syntax(_))));
    }

    #[test]
    fn compound_commands() {
        let Command::Subshell { body, redirs } =
            only("(trap 'echo bye > /termed; exit 0' TERM; while :; do sleep 1; done) >/dev/null 2>&1")
        else {
            panic!()
        };
        assert_eq!(redirs.len(), 2);
        assert_eq!(body.0.len(), 2);
        let Command::Loop { until: false, cond, body } = &body.0[1].and_or.first else { panic!() };
        assert_eq!(cond.0[0].and_or.first, simple(&[":"]));
        assert_eq!(body.0[0].and_or.first, simple(&["sleep", "1"]));
        let Command::If { arms, otherwise } =
            only("if test -e /.sim; then echo escaped; elif true\nthen echo b; else echo c; fi")
        else {
            panic!()
        };
        assert_eq!(arms.len(), 2);
        assert_eq!(otherwise.expect("else").0[0].and_or.first, simple(&["echo", "c"]));
        // Reserved words are ordinary arguments.
        assert_eq!(only("echo done fi"), simple(&["echo", "done", "fi"]));
    }

    #[test]
    fn assignments_only_before_the_command_name() {
        let Command::Simple { assigns, words, .. } = only("A=1 B=\"x y\" env C=2") else { panic!() };
        assert_eq!(assigns.iter().map(|a| a.0.as_str()).collect::<Vec<_>>(), ["A", "B"]);
        assert_eq!(assigns[1].1 .0, vec![Part::Lit(String::new(), false), Part::Lit("x y".into(), true)]);
        assert_eq!(words, vec![lit("env"), lit("C=2")]);
        let Command::Simple { assigns, .. } = only("1A=2") else { panic!() };
        assert!(assigns.is_empty(), "not a name");
    }

    #[test]
    fn unfinished_text_asks_for_more_and_errors_say_why() {
        for text in ["echo 'abc", "echo \"abc", "if true; then echo", "while :; do", "(echo", "echo $(id", "echo \\"] {
            assert_eq!(parse(text), Err(ParseError::Incomplete), "{text}");
        }
        for (text, why) in [
            ("echo a | cat", "pipelines are not supported"),
            ("echo `id`", "use $(...)"),
            ("fi", "syntax error near 'fi'"),
            ("echo )", "syntax error near ')'"),
            ("echo ${a-b}", "bad substitution"),
            (";", "syntax error near ';'"),
        ] {
            match parse(text) {
                Err(ParseError::Syntax(m)) => assert!(m.contains(why), "{text}: {m}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }
}
