//! The scenario format's syntax: one line at a time, a header line (`hsms: 2`) or a step
//! (`c1@0: k1 = GenerateKey aes -> ok`). Lines are cut into tokens by `winnow` parsers; the
//! structure over the tokens is small enough to read by hand, which gives every mistake its own
//! message and column. Nothing here knows the model: [`super::resolve`] gives tokens meaning.

use super::Pos;
use crate::Error;
use winnow::combinator::{alt, delimited, preceded, repeat};
use winnow::prelude::*;
use winnow::token::{none_of, one_of, take_while};

/// A token of a line, with the column it starts at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Tok {
    pub kind: TokKind,
    pub pos: Pos,
}

/// What a token is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TokKind {
    /// A bare word: `alice`, `CU`, `k1`, `not-extractable`, `ShareLimit`.
    Word(String),
    /// A quoted text: `"alice-pw-01"` (`\"` and `\\` inside).
    Text(String),
    /// A number: an HSM, a policy value, an index.
    Int(u64),
    /// A key id written as such: `#3`.
    KeyId(u64),
    /// One of `@ : = [ ] ,` or the arrow `->` (as `>`).
    Punct(char),
}

impl TokKind {
    /// How the token reads in a message.
    pub fn describe(&self) -> String {
        match self {
            TokKind::Word(w) => format!("`{w}`"),
            TokKind::Text(t) => format!("the text {t:?}"),
            TokKind::Int(n) => format!("the number {n}"),
            TokKind::KeyId(n) => format!("the key id #{n}"),
            TokKind::Punct('>') => "`->`".into(),
            TokKind::Punct(c) => format!("`{c}`"),
        }
    }
}

/// An argument or a part of an expected answer: a word, a text, a number or a key id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Atom {
    pub kind: TokKind,
    pub pos: Pos,
}

/// A part of an expected `ok`: an atom, or a bracketed list of items, each a run of atoms
/// (`[admin CO, alice CU locked]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Detail {
    Atom(Atom),
    List { pos: Pos, items: Vec<Vec<Atom>> },
}

impl Detail {
    pub fn pos(&self) -> Pos {
        match self {
            Detail::Atom(a) => a.pos,
            Detail::List { pos, .. } => *pos,
        }
    }
}

/// What a step expects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    /// `ok`, then the parts of the answer that matter (none: any Ok).
    Ok(Vec<Detail>),
    /// An error code, by its name.
    Err(String),
}

/// One step line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StepLine {
    /// Where the line starts.
    pub pos: Pos,
    /// The client's name, as written.
    pub client: (String, Pos),
    /// The HSM after `@` (HSM 0 when absent).
    pub hsm: Option<(u64, Pos)>,
    /// The name bound to what the step returns.
    pub bind: Option<(String, Pos)>,
    /// The operation, as written.
    pub op: (String, Pos),
    /// The arguments.
    pub args: Vec<Atom>,
    /// The expected outcome and where it starts.
    pub expect: (Expect, Pos),
}

/// One header line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Header {
    /// `scenario: what it shows`.
    Purpose(String),
    /// `hsms: N`.
    Hsms(u64, Pos),
    /// `policy: shares 7, lockout 5`: each setting with its value.
    Policy(Vec<(String, Pos, u64, Pos)>),
    /// `au-password: "…"`.
    AuPassword(String, Pos),
}

/// The words that open a header line; no client may be called so.
pub(crate) const HEADER_KEYS: [&str; 4] = ["scenario", "hsms", "policy", "au-password"];

/// A parsed line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Line {
    Header(Header, Pos),
    Step(StepLine),
}

fn fail(pos: Pos, message: impl Into<String>) -> Error {
    Error::Scenario {
        line: pos.line,
        column: pos.column,
        message: message.into(),
    }
}

fn word<'s>(i: &mut &'s str) -> winnow::Result<&'s str> {
    (
        one_of(|c: char| c.is_ascii_alphabetic() || c == '_'),
        take_while(0.., |c: char| {
            c.is_ascii_alphanumeric() || c == '_' || c == '-'
        }),
    )
        .take()
        .parse_next(i)
}

fn digits<'s>(i: &mut &'s str) -> winnow::Result<&'s str> {
    take_while(1.., |c: char| c.is_ascii_digit()).parse_next(i)
}

fn text(i: &mut &str) -> winnow::Result<String> {
    delimited(
        '"',
        repeat(
            0..,
            alt((preceded('\\', one_of(['"', '\\'])), none_of(['"', '\\']))),
        )
        .fold(String::new, |mut s, c| {
            s.push(c);
            s
        }),
        '"',
    )
    .parse_next(i)
}

/// Cuts `line` (number `line_no`, from 1) into tokens; a `#` not followed by a digit starts a
/// comment that runs to the end of the line.
pub(crate) fn lex(line: &str, line_no: usize) -> Result<Vec<Tok>, Error> {
    let column = |rest: &str| Pos {
        line: line_no,
        column: line[..line.len() - rest.len()].chars().count() + 1,
    };
    let mut rest = line;
    let mut out = Vec::new();
    loop {
        rest = rest.trim_start();
        let pos = column(rest);
        let mut chars = rest.chars();
        let Some(first) = chars.next() else { break };
        let second = chars.next();
        let kind = match first {
            '#' if second.is_some_and(|c| c.is_ascii_digit()) => {
                rest = &rest[1..];
                let n = digits.parse_next(&mut rest).map_err(|_| fail(pos, "a key id"))?;
                TokKind::KeyId(number(n, pos)?)
            }
            '#' => break,
            '"' => match text.parse_next(&mut rest) {
                Ok(t) => TokKind::Text(t),
                Err(_) => return Err(fail(pos, "this text has no closing `\"`")),
            },
            '-' if second == Some('>') => {
                rest = &rest[2..];
                TokKind::Punct('>')
            }
            '@' | ':' | '=' | '[' | ']' | ',' => {
                rest = &rest[1..];
                TokKind::Punct(first)
            }
            c if c.is_ascii_digit() => {
                let n = digits.parse_next(&mut rest).map_err(|_| fail(pos, "a number"))?;
                TokKind::Int(number(n, pos)?)
            }
            _ => match word.parse_next(&mut rest) {
                Ok(w) => TokKind::Word(w.to_string()),
                Err(_) => {
                    return Err(fail(
                        pos,
                        format!(
                            "unexpected `{first}`: a step reads `client: Operation arguments -> outcome`; texts other than words go in quotes"
                        ),
                    ))
                }
            },
        };
        out.push(Tok { kind, pos });
    }
    Ok(out)
}

fn number(digits: &str, pos: Pos) -> Result<u64, Error> {
    digits
        .parse()
        .map_err(|_| fail(pos, format!("{digits} is too large a number")))
}

/// Reads one line (number `line_no`, from 1): `None` for a blank or comment line.
pub(crate) fn parse_line(line: &str, line_no: usize) -> Result<Option<Line>, Error> {
    let start = Pos {
        line: line_no,
        column: line.chars().take_while(|c| c.is_whitespace()).count() + 1,
    };
    // The purpose is free text: it is taken whole, not cut into tokens.
    if let Some(purpose) = line.trim_start().strip_prefix("scenario:") {
        return Ok(Some(Line::Header(
            Header::Purpose(purpose.trim().to_string()),
            start,
        )));
    }
    let toks = lex(line, line_no)?;
    if toks.is_empty() {
        return Ok(None);
    }
    let mut cur = Cursor {
        toks: &toks,
        at: 0,
        end: Pos {
            line: line_no,
            column: line.chars().count() + 1,
        },
    };
    if let (Some(TokKind::Word(w)), Some(TokKind::Punct(':'))) =
        (cur.peek().map(|t| &t.kind), toks.get(1).map(|t| &t.kind))
    {
        if HEADER_KEYS.contains(&w.as_str()) {
            let w = w.clone();
            cur.at = 2;
            return Ok(Some(Line::Header(header(&w, &mut cur)?, start)));
        }
    }
    step(&mut cur, start).map(|s| Some(Line::Step(s)))
}

struct Cursor<'t> {
    toks: &'t [Tok],
    at: usize,
    /// The column just past the line's end, for "something is missing here".
    end: Pos,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).cloned();
        self.at += usize::from(t.is_some());
        t
    }
    fn here(&self) -> Pos {
        self.peek().map_or(self.end, |t| t.pos)
    }
    fn is_punct(&self, c: char) -> bool {
        matches!(self.peek(), Some(Tok { kind: TokKind::Punct(p), .. }) if *p == c)
    }
    fn expect_punct(&mut self, c: char, what: &str) -> Result<Pos, Error> {
        let pos = self.here();
        if self.is_punct(c) {
            self.at += 1;
            Ok(pos)
        } else {
            Err(self.unexpected(what))
        }
    }
    fn word(&mut self, what: &str) -> Result<(String, Pos), Error> {
        match self.peek() {
            Some(Tok {
                kind: TokKind::Word(w),
                pos,
            }) => {
                let r = (w.clone(), *pos);
                self.at += 1;
                Ok(r)
            }
            _ => Err(self.unexpected(what)),
        }
    }
    fn int(&mut self, what: &str) -> Result<(u64, Pos), Error> {
        match self.peek() {
            Some(Tok {
                kind: TokKind::Int(n),
                pos,
            }) => {
                let r = (*n, *pos);
                self.at += 1;
                Ok(r)
            }
            _ => Err(self.unexpected(what)),
        }
    }
    fn unexpected(&self, what: &str) -> Error {
        match self.peek() {
            Some(t) => fail(
                t.pos,
                format!("expected {what}, found {}", t.kind.describe()),
            ),
            None => fail(
                self.end,
                format!("expected {what} before the end of the line"),
            ),
        }
    }
    fn done(&self, what: &str) -> Result<(), Error> {
        match self.peek() {
            None => Ok(()),
            Some(t) => Err(fail(
                t.pos,
                format!(
                    "{} after {what}: nothing more may follow",
                    t.kind.describe()
                ),
            )),
        }
    }
}

fn header(key: &str, cur: &mut Cursor) -> Result<Header, Error> {
    match key {
        "hsms" => {
            let (n, pos) = cur.int("the number of HSMs")?;
            cur.done("the number of HSMs")?;
            Ok(Header::Hsms(n, pos))
        }
        "au-password" => {
            let pos = cur.here();
            let pw = match cur.next().map(|t| t.kind) {
                Some(TokKind::Text(t) | TokKind::Word(t)) => t,
                _ => return Err(fail(pos, "expected the AU's password, in quotes")),
            };
            cur.done("the AU's password")?;
            Ok(Header::AuPassword(pw, pos))
        }
        _ => {
            // policy: setting value, setting value, …
            let mut items = Vec::new();
            loop {
                let (name, npos) = cur.word("a policy setting (shares, lockout, users, keys, name-max, password-min, password-max)")?;
                let (value, vpos) = cur.int(&format!("the value of `{name}`"))?;
                items.push((name, npos, value, vpos));
                if cur.peek().is_none() {
                    break;
                }
                cur.expect_punct(',', "`,` between policy settings")?;
            }
            Ok(Header::Policy(items))
        }
    }
}

fn atom(t: &Tok) -> Option<Atom> {
    match t.kind {
        TokKind::Word(_) | TokKind::Text(_) | TokKind::Int(_) | TokKind::KeyId(_) => Some(Atom {
            kind: t.kind.clone(),
            pos: t.pos,
        }),
        TokKind::Punct(_) => None,
    }
}

fn step(cur: &mut Cursor, start: Pos) -> Result<StepLine, Error> {
    let client =
        cur.word("a client's name (a step reads `client: Operation arguments -> outcome`)")?;
    let hsm = if cur.is_punct('@') {
        cur.at += 1;
        Some(cur.int("the HSM's number after `@`")?)
    } else {
        None
    };
    cur.expect_punct(':', "`:` after the client (and `@HSM`)")?;
    let first = cur.word("an operation (or `name =` then an operation)")?;
    let (bind, op) = if cur.is_punct('=') {
        cur.at += 1;
        (Some(first), cur.word("an operation after `=`")?)
    } else {
        (None, first)
    };
    let mut args = Vec::new();
    while let Some(t) = cur.peek() {
        if t.kind == TokKind::Punct('>') {
            break;
        }
        match atom(t) {
            Some(a) => args.push(a),
            None => return Err(cur.unexpected("an argument or `->`")),
        }
        cur.at += 1;
    }
    cur.expect_punct('>', "`->` and the expected outcome")?;
    let (outcome, opos) = cur.word("an outcome after `->`: `ok` or an error code")?;
    let expect = if outcome == "ok" {
        let mut details = Vec::new();
        while let Some(t) = cur.next() {
            if t.kind == TokKind::Punct('[') {
                details.push(list(cur, t.pos)?);
            } else if let Some(a) = atom(&t) {
                details.push(Detail::Atom(a));
            } else {
                return Err(fail(
                    t.pos,
                    format!("{} in the expected answer", t.kind.describe()),
                ));
            }
        }
        Expect::Ok(details)
    } else {
        cur.done("an error code")?;
        Expect::Err(outcome)
    };
    Ok(StepLine {
        pos: start,
        client,
        hsm,
        bind,
        op,
        args,
        expect: (expect, opos),
    })
}

fn list(cur: &mut Cursor, pos: Pos) -> Result<Detail, Error> {
    let mut items = Vec::new();
    let mut item = Vec::new();
    loop {
        let Some(t) = cur.next() else {
            return Err(fail(pos, "this list has no closing `]`"));
        };
        match &t.kind {
            TokKind::Punct(']') => {
                if !item.is_empty() {
                    items.push(item);
                }
                return Ok(Detail::List { pos, items });
            }
            TokKind::Punct(',') => {
                if item.is_empty() {
                    return Err(fail(t.pos, "an empty item in a list"));
                }
                items.push(std::mem::take(&mut item));
            }
            _ => match atom(&t) {
                Some(a) => item.push(a),
                None => return Err(fail(t.pos, format!("{} inside a list", t.kind.describe()))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_reads_client_hsm_binding_operation_arguments_and_outcome() {
        let line = parse_line(
            r#"  c1@1: k1 = Encrypt k2 "hi \"there\"" #3 -> ok # note"#,
            4,
        )
        .unwrap()
        .unwrap();
        let Line::Step(s) = line else {
            panic!("a step")
        };
        assert_eq!(s.client.0, "c1");
        assert_eq!(s.client.1, Pos { line: 4, column: 3 });
        assert_eq!(s.hsm.map(|h| h.0), Some(1));
        assert_eq!(s.bind.map(|b| b.0).as_deref(), Some("k1"));
        assert_eq!(s.op.0, "Encrypt");
        assert_eq!(s.args.len(), 3);
        assert_eq!(s.args[1].kind, TokKind::Text("hi \"there\"".into()));
        assert_eq!(s.args[2].kind, TokKind::KeyId(3));
        assert_eq!(s.expect.0, Expect::Ok(vec![]));
    }

    #[test]
    fn lists_of_the_expected_answer_keep_their_items() {
        let Some(Line::Step(s)) =
            parse_line("a: ListUsers -> ok [admin CO, alice CU locked]", 1).unwrap()
        else {
            panic!("a step")
        };
        let Expect::Ok(d) = s.expect.0 else {
            panic!("ok")
        };
        let Detail::List { items, .. } = &d[0] else {
            panic!("a list")
        };
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].len(), 3);
    }

    #[test]
    fn mistakes_are_reported_at_their_column() {
        let at = |text: &str| match parse_line(text, 7) {
            Err(Error::Scenario { line, column, .. }) => (line, column),
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(at("c1: Login alice \"pw"), (7, 17));
        assert_eq!(at("c1: Logout"), (7, 11));
        assert_eq!(at("c1 Logout -> ok"), (7, 4));
        assert_eq!(at("c1: Logout -> NotLoggedIn extra"), (7, 27));
        assert_eq!(at("c1: Logout -> ok [a, "), (7, 18));
        assert_eq!(at("hsms: two"), (7, 7));
        assert_eq!(at("c1: Login al!ce x -> ok"), (7, 13));
    }

    #[test]
    fn blank_and_comment_lines_are_nothing() {
        assert_eq!(parse_line("   ", 1).unwrap(), None);
        assert_eq!(parse_line("# the 8th share fails", 1).unwrap(), None);
    }

    #[test]
    fn headers_are_read_by_their_key() {
        assert_eq!(
            parse_line("scenario: the PRECO activates # not a comment", 1).unwrap(),
            Some(Line::Header(
                Header::Purpose("the PRECO activates # not a comment".into()),
                Pos { line: 1, column: 1 }
            ))
        );
        let Some(Line::Header(Header::Policy(items), _)) =
            parse_line("policy: shares 2, lockout 3", 1).unwrap()
        else {
            panic!("a policy")
        };
        assert_eq!(items.len(), 2);
        assert_eq!((items[1].0.as_str(), items[1].2), ("lockout", 3));
    }
}
