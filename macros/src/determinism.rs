//! The determinism check of `#[workflow]` bodies: calls whose result or
//! effect differs between the recorded run and a replay are compile errors on
//! the call, naming what to use instead.
//!
//! The check is syntactic: it matches the call's path as written
//! (`SystemTime::now`, `std::time::SystemTime::now`, `tokio::time::sleep`, ...),
//! in the body and in the arguments of macros. A path whose first segment a
//! `use` item in the body imports is read through it (`use tokio::time::sleep;`
//! then `sleep(d)` is `tokio::time::sleep(d)`; a glob `use m::*;` lends its
//! prefix to bare names). A bare call of a name that is commonly imported
//! from a forbidden module ([`BARE`]: `sleep`, `spawn`, `timeout`, ...) errs
//! too, since the macro cannot see the module's `use` items, unless the body
//! defines or imports that name itself, or the call is given the workflow's
//! context (a helper of yours: tokio's and std's functions never take it).
//! A statement marked `#[nondeterministic]` is skipped (the attribute is removed).

use std::collections::{HashMap, HashSet};

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};
use quote::ToTokens;
use syn::visit::{self, Visit};
use syn::visit_mut::{self, VisitMut};
use syn::{Attribute, Expr, Ident, Stmt, UseTree};

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
        self.message_for(&format!("`{path}`"))
    }

    /// The message, with `what` (the call as the user wrote it, quoted) as its subject.
    fn message_for(self, what: &str) -> String {
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
            "{what} {why}; {instead}. (If this call cannot affect the workflow, mark its statement \
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

/// Bare names (a call `sleep(..)` with no path) that are most often imported
/// from a forbidden module, with the path they usually stand for.
const BARE: &[(&str, &str)] = &[
    ("sleep", "tokio::time::sleep"),
    ("sleep_until", "tokio::time::sleep_until"),
    ("interval", "tokio::time::interval"),
    ("interval_at", "tokio::time::interval_at"),
    ("timeout", "tokio::time::timeout"),
    ("timeout_at", "tokio::time::timeout_at"),
    ("spawn", "tokio::spawn"),
    ("spawn_blocking", "tokio::task::spawn_blocking"),
    ("spawn_local", "tokio::task::spawn_local"),
    ("block_in_place", "tokio::task::block_in_place"),
    ("thread_rng", "rand::thread_rng"),
    ("random", "rand::random"),
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
/// and removes the `#[nondeterministic]` markers. `context` is the name of
/// the workflow's context parameter, if it has one.
pub(crate) fn check(block: &mut syn::Block, context: Option<&Ident>, errors: &mut Errors) {
    let mut scope = Scope::default();
    scope.visit_block(block);
    let context = context.map(Ident::to_string);
    Checker { errors, scope, context }.visit_block_mut(block);
}

/// What the body's own items and bindings say about names: `use` aliases,
/// glob prefixes, and names it defines (functions, bindings), which a bare
/// call may mean instead of an imported function.
#[derive(Default)]
struct Scope {
    aliases: HashMap<String, Vec<String>>,
    globs: Vec<Vec<String>>,
    defined: HashSet<String>,
}

impl Scope {
    fn add_use(&mut self, prefix: &mut Vec<String>, tree: &UseTree) {
        match tree {
            UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.add_use(prefix, &p.tree);
                prefix.pop();
            }
            UseTree::Name(n) => self.alias(prefix, &n.ident, &n.ident),
            UseTree::Rename(r) => self.alias(prefix, &r.ident, &r.rename),
            UseTree::Glob(_) => self.globs.push(prefix.clone()),
            UseTree::Group(g) => g.items.iter().for_each(|t| self.add_use(prefix, t)),
        }
    }

    fn alias(&mut self, prefix: &[String], ident: &Ident, name: &Ident) {
        let mut path = prefix.to_vec();
        // `use a::b::{self}` names `a::b`.
        if ident != "self" {
            path.push(ident.to_string());
        }
        if name != "_" && !path.is_empty() {
            self.aliases.insert(name.to_string(), path);
        }
    }

    /// The path a call path stands for, given the body's `use` items.
    fn resolve(&self, segments: &[String]) -> Vec<String> {
        match segments.split_first() {
            Some((first, rest)) if let Some(target) = self.aliases.get(first) => {
                target.iter().chain(rest).cloned().collect()
            }
            _ => segments.to_vec(),
        }
    }

    /// The paths a bare function name may stand for through the body's glob
    /// imports. Only lowercase names (not a variant or tuple struct, such as
    /// `Ok`), and only matched against whole paths, not a `^prefix::*` rule:
    /// `use std::fs::*;` does not make every bare call I/O.
    fn through_globs(&self, segments: &[String]) -> Option<Rule> {
        let [name] = segments else { return None };
        if self.defined.contains(name) || !name.starts_with(|c: char| c.is_ascii_lowercase()) {
            return None;
        }
        self.globs.iter().find_map(|glob| {
            let path: Vec<String> = glob.iter().chain([name]).cloned().collect();
            RULES.iter().find(|(pattern, _)| !pattern.ends_with('*') && matches(pattern, &path)).map(|(_, rule)| *rule)
        })
    }
}

impl<'ast> Visit<'ast> for Scope {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.add_use(&mut Vec::new(), &item.tree);
    }

    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        self.defined.insert(item.sig.ident.to_string());
        visit::visit_item_fn(self, item);
    }

    fn visit_pat_ident(&mut self, pat: &'ast syn::PatIdent) {
        self.defined.insert(pat.ident.to_string());
        visit::visit_pat_ident(self, pat);
    }
}

struct Checker<'e> {
    errors: &'e mut Errors,
    scope: Scope,
    context: Option<String>,
}

impl Checker<'_> {
    /// The error for a call of `segments` with arguments `args`, if it is forbidden.
    fn forbidden(&self, segments: &[String], args: TokenStream) -> Option<String> {
        let path = self.scope.resolve(segments);
        let written = segments.join("::");
        if let Some(rule) = rule_for(&path) {
            let resolved = path.join("::");
            return Some(if written == resolved {
                rule.message(&written)
            } else {
                rule.message_for(&format!("`{written}` (`{resolved}`, as imported in this body)"))
            });
        }
        if let Some(rule) = self.scope.through_globs(segments) {
            return Some(rule.message_for(&format!("`{written}` (through a glob import in this body)")));
        }
        let [name] = segments else { return None };
        let (_, usual) = BARE.iter().find(|(bare, _)| bare == name)?;
        if self.scope.aliases.contains_key(name) || self.scope.defined.contains(name) || self.takes_context(args) {
            return None;
        }
        let rule = rule_for(&usual.split("::").map(str::to_owned).collect::<Vec<_>>())?;
        Some(format!(
            "{} If `{name}` is a function of yours that keeps the workflow deterministic, call it by its path \
             (`self::{name}(..)`) or import it in the workflow's body.",
            rule.message_for(&format!("`{name}(..)`, most likely an imported `{usual}` or the like,"))
        ))
    }

    /// Whether one of the call's arguments is the workflow's context itself
    /// (`ctx`, `&ctx`, `ctx.clone()`): a helper of the user's, not a library's.
    fn takes_context(&self, args: TokenStream) -> bool {
        let Some(context) = &self.context else { return false };
        let mut arg: Vec<String> = Vec::new();
        let is_context = |arg: &[String]| {
            let arg: Vec<&str> = arg.iter().map(String::as_str).filter(|t| *t != "&" && *t != "mut").collect();
            matches!(arg.as_slice(), [c] | [c, ".", "clone", "()"] if c == context)
        };
        for tree in args {
            match &tree {
                TokenTree::Punct(p) if p.as_char() == ',' => {
                    if is_context(&arg) {
                        return true;
                    }
                    arg.clear();
                }
                TokenTree::Group(g) if g.delimiter() == Delimiter::Parenthesis && g.stream().is_empty() => {
                    arg.push("()".to_owned())
                }
                other => arg.push(other.to_string()),
            }
        }
        is_context(&arg)
    }

    fn check_call(&mut self, path: &syn::Path, args: TokenStream) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        // `::tokio::time::sleep`: a crate path, which no `use` in the body renames.
        let message = match path.leading_colon {
            Some(_) => rule_for(&segments).map(|rule| rule.message(&segments.join("::"))),
            None => self.forbidden(&segments, args),
        };
        if let Some(message) = message {
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
        // `.name(..)` is a method call (`ctx.sleep(..)`), not a path.
        let (mut after_dot, mut method) = (false, false);
        for tree in tokens {
            match &tree {
                TokenTree::Ident(ident) => {
                    if !after_colons {
                        // `return sleep(..)`: a new path starts here.
                        path.clear();
                        segments.clear();
                    }
                    if segments.is_empty() {
                        method = after_dot;
                    }
                    segments.push(ident.to_string());
                    path.push(tree.clone());
                    after_colons = false;
                    after_dot = false;
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
                        && !method
                        && let Some(message) = self.forbidden(&segments, group.stream())
                    {
                        let spanned: TokenStream = path.iter().cloned().collect();
                        self.errors.add(syn::Error::new_spanned(spanned, message));
                    }
                    self.check_tokens(group.stream());
                }
                _ => {}
            }
            after_dot = matches!(&tree, TokenTree::Punct(p) if p.as_char() == '.');
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
        if let Expr::Path(func) = &*call.func
            && func.qself.is_none()
        {
            self.check_call(&func.path, call.args.to_token_stream());
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
        let mut checker = Checker { errors: &mut errors, scope: Scope::default(), context: None };
        checker.check_tokens(quote::quote!("{:?}", std::time::SystemTime::now()));
        assert!(!errors.is_empty());
        let mut errors = Errors::default();
        Checker { errors: &mut errors, scope: Scope::default(), context: None }
            .check_tokens(quote::quote!("{:?}", ctx.now()));
        assert!(errors.is_empty());
        // A method named like a forbidden function is not one; a bare call after a keyword is.
        let mut errors = Errors::default();
        Checker { errors: &mut errors, scope: Scope::default(), context: None }
            .check_tokens(quote::quote!(_ = ctx.sleep(d) => {}));
        assert!(errors.is_empty());
        let mut errors = Errors::default();
        Checker { errors: &mut errors, scope: Scope::default(), context: None }
            .check_tokens(quote::quote!(return sleep(d)));
        assert!(!errors.is_empty());
    }
}
