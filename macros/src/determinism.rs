//! The determinism check of `#[workflow]` bodies: calls whose result or
//! effect differs between the recorded run and a replay are compile errors on
//! the call, naming what to use instead.
//!
//! The check is syntactic: it matches the call's path as written
//! (`SystemTime::now`, `std::time::SystemTime::now`, `tokio::time::sleep`, ...),
//! in the body and in the arguments of macros. A statement marked
//! `#[nondeterministic]` is skipped (the attribute is removed).

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};
use syn::visit_mut::{self, VisitMut};
use syn::{Attribute, Expr, Stmt};

use crate::errors::Errors;

/// What a forbidden call does wrong, and what to use instead.
#[derive(Debug, Clone, Copy)]
enum Rule {
    Clock,
    Sleep,
    Spawn,
    Random,
    Uuid,
    Io,
    Env,
}

impl Rule {
    fn message(self, path: &str) -> String {
        let (why, instead) = match self {
            Rule::Clock => (
                "reads the clock, which gives another time on replay",
                "use `ctx.now()`, the workflow time recorded in history",
            ),
            Rule::Sleep => (
                "waits on a timer that is not in history, so a restart forgets it",
                "use `ctx.sleep(duration).await?`, a durable timer",
            ),
            Rule::Spawn => (
                "runs work outside the workflow, where replay cannot follow it",
                "start activities with `ctx.start_activity(..)` and await them together (e.g. `futures::future::join_all`)",
            ),
            Rule::Random => ("draws other numbers on replay", "use `ctx.random()`, seeded from history"),
            Rule::Uuid => ("makes another id on replay", "use `ctx.uuid()`, seeded from history"),
            Rule::Io => (
                "does I/O, which a replay would repeat and might see differently",
                "do it in an activity and pass the result to the workflow",
            ),
            Rule::Env => (
                "reads the environment, which may differ on replay",
                "read it in an activity, or pass it in the workflow's input",
            ),
        };
        format!(
            "`{path}` {why}; {instead}. (If this call cannot affect the workflow, mark its statement \
             `#[nondeterministic]`.)"
        )
    }
}

/// Forbidden paths. A pattern matches the end of a path (`SystemTime::now`
/// matches `std::time::SystemTime::now`); `^` anchors it at the start; a final
/// `*` matches any rest (at least one segment).
const RULES: &[(&str, Rule)] = &[
    ("SystemTime::now", Rule::Clock),
    ("Instant::now", Rule::Clock),
    ("Utc::now", Rule::Clock),
    ("Local::now", Rule::Clock),
    ("OffsetDateTime::now_utc", Rule::Clock),
    ("OffsetDateTime::now_local", Rule::Clock),
    ("Timestamp::now", Rule::Clock),
    ("Zoned::now", Rule::Clock),
    ("thread::sleep", Rule::Sleep),
    ("time::sleep", Rule::Sleep),
    ("time::sleep_until", Rule::Sleep),
    ("time::interval", Rule::Sleep),
    ("time::interval_at", Rule::Sleep),
    ("time::timeout", Rule::Sleep),
    ("time::timeout_at", Rule::Sleep),
    ("task::sleep", Rule::Sleep),
    ("^tokio::spawn", Rule::Spawn),
    ("task::spawn", Rule::Spawn),
    ("task::spawn_blocking", Rule::Spawn),
    ("task::spawn_local", Rule::Spawn),
    ("task::block_in_place", Rule::Spawn),
    ("thread::spawn", Rule::Spawn),
    ("thread::scope", Rule::Spawn),
    ("^rand::*", Rule::Random),
    ("^thread_rng", Rule::Random),
    ("^getrandom::*", Rule::Random),
    ("^fastrand::*", Rule::Random),
    ("from_entropy", Rule::Random),
    ("from_os_rng", Rule::Random),
    ("Uuid::new_v4", Rule::Uuid),
    ("Uuid::now_v1", Rule::Uuid),
    ("Uuid::now_v6", Rule::Uuid),
    ("Uuid::now_v7", Rule::Uuid),
    ("^std::fs::*", Rule::Io),
    ("^tokio::fs::*", Rule::Io),
    ("^fs::*", Rule::Io),
    ("File::open", Rule::Io),
    ("File::create", Rule::Io),
    ("File::create_new", Rule::Io),
    ("File::options", Rule::Io),
    ("OpenOptions::new", Rule::Io),
    ("^std::net::*", Rule::Io),
    ("^tokio::net::*", Rule::Io),
    ("TcpStream::connect", Rule::Io),
    ("TcpListener::bind", Rule::Io),
    ("UdpSocket::bind", Rule::Io),
    ("^reqwest::*", Rule::Io),
    ("Command::new", Rule::Io),
    ("^std::process::*", Rule::Io),
    ("io::stdin", Rule::Io),
    ("env::var", Rule::Env),
    ("env::var_os", Rule::Env),
    ("env::vars", Rule::Env),
    ("env::args", Rule::Env),
    ("env::current_dir", Rule::Env),
];

fn rule_for(path: &[String]) -> Option<Rule> {
    RULES.iter().find(|(pattern, _)| matches(pattern, path)).map(|(_, rule)| *rule)
}

fn matches(pattern: &str, path: &[String]) -> bool {
    let (anchored, pattern) = match pattern.strip_prefix('^') {
        Some(rest) => (true, rest),
        None => (false, pattern),
    };
    let parts: Vec<&str> = pattern.split("::").collect();
    if let Some((&"*", fixed)) = parts.split_last() {
        // `^prefix::*`: the path starts with `prefix` and goes on.
        return anchored && path.len() > fixed.len() && fixed.iter().zip(path).all(|(p, s)| p == s);
    }
    if anchored {
        return path.len() == parts.len() && parts.iter().zip(path).all(|(p, s)| p == s);
    }
    path.len() >= parts.len() && parts.iter().rev().zip(path.iter().rev()).all(|(p, s)| p == s)
}

/// Checks `block` (a workflow's body), pushing one error per forbidden call,
/// and removes the `#[nondeterministic]` markers.
pub(crate) fn check(block: &mut syn::Block, errors: &mut Errors) {
    Checker { errors }.visit_block_mut(block);
}

struct Checker<'e> {
    errors: &'e mut Errors,
}

impl Checker<'_> {
    fn check_path(&mut self, path: &syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if let Some(rule) = rule_for(&segments) {
            let message = rule.message(&segments.join("::"));
            self.errors.add(syn::Error::new_spanned(path, message));
        }
    }

    /// Calls inside a macro's arguments (`println!("{:?}", SystemTime::now())`,
    /// `tokio::join!(..)`), found in its tokens: a path followed by `( .. )`.
    fn check_tokens(&mut self, tokens: TokenStream) {
        let mut path: Vec<TokenTree> = Vec::new();
        let mut segments: Vec<String> = Vec::new();
        let mut after_colons = true;
        let mut colon = false;
        for tree in tokens {
            match &tree {
                TokenTree::Ident(ident) if after_colons => {
                    segments.push(ident.to_string());
                    path.push(tree.clone());
                    after_colons = false;
                    continue;
                }
                TokenTree::Punct(p) if p.as_char() == ':' && p.spacing() == Spacing::Joint && !colon => {
                    colon = true;
                    path.push(tree.clone());
                    continue;
                }
                TokenTree::Punct(p) if p.as_char() == ':' && colon => {
                    colon = false;
                    after_colons = true;
                    path.push(tree.clone());
                    continue;
                }
                TokenTree::Group(group) => {
                    if group.delimiter() == Delimiter::Parenthesis
                        && !segments.is_empty()
                        && let Some(rule) = rule_for(&segments)
                    {
                        let spanned: TokenStream = path.iter().cloned().collect();
                        self.errors.add(syn::Error::new_spanned(spanned, rule.message(&segments.join("::"))));
                    }
                    self.check_tokens(group.stream());
                }
                _ => {}
            }
            path.clear();
            segments.clear();
            after_colons = true;
            colon = false;
        }
    }

    fn check_macro(&mut self, mac: &syn::Macro) {
        let is_select = mac.path.segments.last().is_some_and(|s| s.ident == "select");
        if is_select && !starts_with_biased(&mac.tokens) {
            self.errors.add(syn::Error::new_spanned(
                &mac.path,
                "`select!` polls ready branches in random order, so a replay may take another branch than the \
                 recorded run; write `biased;` as its first line (`tokio::select!`) or use `futures::select_biased!`",
            ));
        }
        self.check_tokens(mac.tokens.clone());
    }
}

fn starts_with_biased(tokens: &TokenStream) -> bool {
    let mut trees = tokens.clone().into_iter();
    matches!(
        (trees.next(), trees.next()),
        (Some(TokenTree::Ident(i)), Some(TokenTree::Punct(p))) if i == "biased" && p.as_char() == ';'
    )
}

impl VisitMut for Checker<'_> {
    fn visit_stmt_mut(&mut self, stmt: &mut Stmt) {
        if let Some(attrs) = stmt_attrs(stmt)
            && take_marker(attrs)
        {
            return;
        }
        visit_mut::visit_stmt_mut(self, stmt);
    }

    fn visit_expr_call_mut(&mut self, call: &mut syn::ExprCall) {
        if let Expr::Path(func) = &*call.func {
            self.check_path(&func.path);
        }
        visit_mut::visit_expr_call_mut(self, call);
    }

    fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
        self.check_macro(mac);
        visit_mut::visit_macro_mut(self, mac);
    }
}

/// The attributes of a statement, where a marker may sit.
fn stmt_attrs(stmt: &mut Stmt) -> Option<&mut Vec<Attribute>> {
    match stmt {
        Stmt::Local(local) => Some(&mut local.attrs),
        Stmt::Macro(mac) => Some(&mut mac.attrs),
        Stmt::Item(_) => None,
        Stmt::Expr(expr, _) => expr_attrs(expr),
    }
}

fn expr_attrs(expr: &mut Expr) -> Option<&mut Vec<Attribute>> {
    Some(match expr {
        Expr::Assign(e) => &mut e.attrs,
        Expr::Async(e) => &mut e.attrs,
        Expr::Await(e) => &mut e.attrs,
        Expr::Block(e) => &mut e.attrs,
        Expr::Call(e) => &mut e.attrs,
        Expr::ForLoop(e) => &mut e.attrs,
        Expr::If(e) => &mut e.attrs,
        Expr::Loop(e) => &mut e.attrs,
        Expr::Macro(e) => &mut e.attrs,
        Expr::Match(e) => &mut e.attrs,
        Expr::MethodCall(e) => &mut e.attrs,
        Expr::Try(e) => &mut e.attrs,
        Expr::Unsafe(e) => &mut e.attrs,
        Expr::While(e) => &mut e.attrs,
        _ => return None,
    })
}

/// Removes `#[nondeterministic]` (or `#[weft::nondeterministic]`) from `attrs`; true if it was there.
fn take_marker(attrs: &mut Vec<Attribute>) -> bool {
    let before = attrs.len();
    attrs.retain(|a| a.path().segments.last().is_none_or(|s| s.ident != "nondeterministic"));
    attrs.len() != before
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> Vec<String> {
        p.split("::").map(str::to_owned).collect()
    }

    #[test]
    fn suffix_anchored_and_prefix_patterns() {
        assert!(matches("SystemTime::now", &path("std::time::SystemTime::now")));
        assert!(matches("SystemTime::now", &path("SystemTime::now")));
        assert!(!matches("SystemTime::now", &path("now")));
        assert!(matches("^tokio::spawn", &path("tokio::spawn")));
        assert!(!matches("^tokio::spawn", &path("my::tokio::spawn")));
        assert!(matches("^rand::*", &path("rand::random")));
        assert!(!matches("^rand::*", &path("rand")));
        assert!(!matches("^rand::*", &path("my_rand::random")));
        assert_eq!(rule_for(&path("ctx::now")).map(|r| r as u8), None);
    }

    #[test]
    fn tokens_of_a_macro_are_scanned() {
        let mut errors = Errors::default();
        let mut checker = Checker { errors: &mut errors };
        checker.check_tokens(quote::quote!("{:?}", std::time::SystemTime::now()));
        assert!(!errors.is_empty());
        let mut errors = Errors::default();
        Checker { errors: &mut errors }.check_tokens(quote::quote!("{:?}", ctx.now()));
        assert!(errors.is_empty());
    }
}
