//! The heartbeat check of `#[activity]`: an activity that heartbeats needs a
//! heartbeat timeout, or nobody notices when its heartbeats stop.
//!
//! A heartbeat is a `.heartbeat(..)` call on the context or on an alias of
//! it, or `ActivityContext::heartbeat(..)`. Aliases are the bindings whose
//! initializer is the context or holds it (`let c = ctx.clone();`,
//! `let moved = ctx;`, `let s = State { ctx }`, `for c in [ctx.clone()]`,
//! `if let Some(c) = Some(&ctx)`),
//! bindings and parameters typed `ActivityContext` (`|c: &ActivityContext|`),
//! and closure parameters the closure heartbeats on. What the check cannot
//! see: a helper function, defined elsewhere, that is given the context and
//! heartbeats (see `docs/dsl.md`). A `heartbeat` method of another value
//! (`lease.heartbeat()`) is not the context's and is left alone: requiring a
//! heartbeat timeout there would time the activity out.

use std::collections::HashSet;

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::visit::{self, Visit};
use syn::{Expr, Pat, PatType};

use crate::ast::last_segment;
use crate::errors::Errors;
use crate::options::DeclaredOptions;

/// Errs on the first heartbeat of `body` when `options` declare no
/// `heartbeat_timeout`. `context` is the `ActivityContext` parameter.
pub(crate) fn check(context: &PatType, body: &syn::Block, options: &DeclaredOptions, errors: &mut Errors) {
    if options.heartbeat.is_some() {
        return;
    }
    let mut aliases = HashSet::new();
    if let Pat::Ident(ctx) = &*context.pat {
        aliases.insert(ctx.ident.to_string());
    }
    let aliases = collect_aliases(body, aliases);
    if let Some(span) = find_heartbeat(body.to_token_stream(), &aliases) {
        errors.push(
            span,
            "this activity heartbeats, but declares no `heartbeat_timeout`, so nobody would notice its heartbeats \
             stop until the whole attempt times out; add `heartbeat_timeout = \"..\"` to its `#[activity(...)]`"
                .to_owned(),
        );
    }
}

/// The context's name and its aliases in `body`, to a fixpoint (an alias of
/// an alias is one too).
fn collect_aliases(body: &syn::Block, mut aliases: HashSet<String>) -> HashSet<String> {
    loop {
        let mut collector = Aliases { known: &aliases, found: HashSet::new() };
        collector.visit_block(body);
        let before = aliases.len();
        aliases.extend(collector.found);
        if aliases.len() == before {
            return aliases;
        }
    }
}

struct Aliases<'a> {
    known: &'a HashSet<String>,
    found: HashSet<String>,
}

impl Aliases<'_> {
    /// Every name `pat` binds.
    fn bind_all(&mut self, pat: &Pat) {
        struct Names<'n>(&'n mut HashSet<String>);
        impl<'ast> Visit<'ast> for Names<'_> {
            fn visit_pat_ident(&mut self, pat: &'ast syn::PatIdent) {
                self.0.insert(pat.ident.to_string());
                visit::visit_pat_ident(self, pat);
            }
        }
        Names(&mut self.found).visit_pat(pat);
    }

    fn bind_if_context(&mut self, pat: &Pat, expr: &Expr) {
        if self.is_context(expr) {
            self.bind_all(pat);
        }
    }

    /// Whether `expr` is the context or holds it: an alias, `&c`, `c.clone()`,
    /// `Arc::new(c)`, `Some(c)`, a tuple, array or struct with it, `state.ctx`
    /// for an alias `state`. Not any expression that merely mentions it
    /// (`acquire_lease(&ctx)` returns something else).
    fn is_context(&self, expr: &Expr) -> bool {
        match expr {
            Expr::Path(p) => {
                p.qself.is_none() && p.path.get_ident().is_some_and(|i| self.known.contains(&i.to_string()))
            }
            Expr::Reference(r) => self.is_context(&r.expr),
            Expr::Paren(p) => self.is_context(&p.expr),
            Expr::Group(g) => self.is_context(&g.expr),
            Expr::Field(f) => self.is_context(&f.base),
            Expr::MethodCall(m) => {
                m.args.is_empty()
                    && matches!(m.method.to_string().as_str(), "clone" | "to_owned")
                    && self.is_context(&m.receiver)
            }
            Expr::Call(c) => {
                let wraps = matches!(&*c.func, Expr::Path(p)
                    if p.path.segments.last().is_some_and(|s| matches!(s.ident.to_string().as_str(), "new" | "from" | "Some" | "Ok")));
                wraps && c.args.iter().any(|a| self.is_context(a))
            }
            Expr::Tuple(t) => t.elems.iter().any(|e| self.is_context(e)),
            Expr::Array(a) => a.elems.iter().any(|e| self.is_context(e)),
            Expr::Struct(s) => s.fields.iter().any(|f| self.is_context(&f.expr)),
            _ => false,
        }
    }
}

impl<'ast> Visit<'ast> for Aliases<'_> {
    fn visit_local(&mut self, local: &'ast syn::Local) {
        if let Some(init) = &local.init {
            self.bind_if_context(&local.pat, &init.expr);
        }
        visit::visit_local(self, local);
    }

    fn visit_expr_let(&mut self, expr: &'ast syn::ExprLet) {
        self.bind_if_context(&expr.pat, &expr.expr);
        visit::visit_expr_let(self, expr);
    }

    fn visit_expr_for_loop(&mut self, expr: &'ast syn::ExprForLoop) {
        self.bind_if_context(&expr.pat, &expr.expr);
        visit::visit_expr_for_loop(self, expr);
    }

    fn visit_expr_match(&mut self, expr: &'ast syn::ExprMatch) {
        if self.is_context(&expr.expr) {
            for arm in &expr.arms {
                self.bind_all(&arm.pat);
            }
        }
        visit::visit_expr_match(self, expr);
    }

    /// `c: ActivityContext`, `c: &ActivityContext`, `c: Arc<ActivityContext>`, in a
    /// binding, a closure's or a nested function's parameters.
    fn visit_pat_type(&mut self, pat: &'ast PatType) {
        if mentions_context_type(&pat.ty) {
            self.bind_all(&pat.pat);
        }
        visit::visit_pat_type(self, pat);
    }

    /// A closure parameter that the closure heartbeats on (`|c| c.heartbeat(..)`).
    fn visit_expr_closure(&mut self, closure: &'ast syn::ExprClosure) {
        for input in &closure.inputs {
            if let Pat::Ident(param) = input {
                let own = HashSet::from([param.ident.to_string()]);
                if find_heartbeat(closure.body.to_token_stream(), &own).is_some() {
                    self.found.insert(param.ident.to_string());
                }
            }
        }
        visit::visit_expr_closure(self, closure);
    }
}

fn mentions_context_type(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Reference(r) => mentions_context_type(&r.elem),
        ty => last_segment(ty).is_some_and(|s| {
            s.ident == "ActivityContext"
                || matches!(&s.arguments, syn::PathArguments::AngleBracketed(args)
                    if args.args.iter().any(|a| matches!(a, syn::GenericArgument::Type(t) if mentions_context_type(t))))
        }),
    }
}

/// The span of the first heartbeat in `tokens`: `.heartbeat(` on a receiver
/// chain rooted at an alias (`c.heartbeat(`, `ctx.clone().heartbeat(`,
/// `(&c).heartbeat(`, `state.ctx.heartbeat(` for an alias `state`), or
/// `ActivityContext::heartbeat(`.
fn find_heartbeat(tokens: TokenStream, aliases: &HashSet<String>) -> Option<Span> {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, tree) in trees.iter().enumerate() {
        if let TokenTree::Group(group) = tree
            && let Some(span) = find_heartbeat(group.stream(), aliases)
        {
            return Some(span);
        }
        let TokenTree::Ident(method) = tree else { continue };
        if method != "heartbeat"
            || !matches!(trees.get(i + 1), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis)
        {
            continue;
        }
        let before = &trees[..i];
        let is_path_call = matches!(before, [.., TokenTree::Ident(ty), TokenTree::Punct(a), TokenTree::Punct(b)]
            if ty == "ActivityContext" && a.as_char() == ':' && b.as_char() == ':');
        if is_path_call || receiver_is_alias(before, aliases) {
            return Some(method.span());
        }
    }
    None
}

/// Whether the tokens before `.heartbeat` end in a receiver chain
/// (`a.b().c`) whose root is an alias or a group mentioning one.
fn receiver_is_alias(before: &[TokenTree], aliases: &HashSet<String>) -> bool {
    let mut rest = match before {
        [rest @ .., TokenTree::Punct(dot)] if dot.as_char() == '.' => rest,
        _ => return false,
    };
    loop {
        // Step back over one link of the chain: `.name` or `.name(..)`; stop at its root.
        rest = match rest {
            [r @ .., TokenTree::Ident(_), TokenTree::Group(g)] if g.delimiter() == Delimiter::Parenthesis => {
                match r {
                    [r2 @ .., TokenTree::Punct(dot)] if dot.as_char() == '.' => r2,
                    // A function call's result (`helper(ctx).heartbeat(`): look into its arguments.
                    _ => return group_mentions(g.stream(), aliases),
                }
            }
            [r @ .., TokenTree::Ident(name)] => match r {
                [r2 @ .., TokenTree::Punct(dot)] if dot.as_char() == '.' => r2,
                _ => return aliases.contains(&name.to_string()),
            },
            [.., TokenTree::Group(g)] => return group_mentions(g.stream(), aliases),
            _ => return false,
        };
    }
}

fn group_mentions(tokens: TokenStream, aliases: &HashSet<String>) -> bool {
    tokens.into_iter().any(|tree| match tree {
        TokenTree::Ident(ident) => aliases.contains(&ident.to_string()),
        TokenTree::Group(group) => group_mentions(group.stream(), aliases),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aliases(names: &[&str]) -> HashSet<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn heartbeat_calls_are_found_in_nested_groups() {
        let ctx = aliases(&["ctx"]);
        assert!(
            find_heartbeat(
                quote::quote!({
                    let _ = ctx.heartbeat(&1);
                }),
                &ctx
            )
            .is_some()
        );
        assert!(
            find_heartbeat(
                quote::quote!({
                    other.heartbeat(&1);
                }),
                &ctx
            )
            .is_none()
        );
        assert!(
            find_heartbeat(
                quote::quote!({
                    ctx.clone().heartbeat(&1);
                }),
                &ctx
            )
            .is_some()
        );
        assert!(
            find_heartbeat(
                quote::quote!({
                    (&ctx).heartbeat(&1);
                }),
                &ctx
            )
            .is_some()
        );
        assert!(
            find_heartbeat(
                quote::quote!({
                    ActivityContext::heartbeat(c, &1);
                }),
                &ctx
            )
            .is_some()
        );
        assert!(
            find_heartbeat(
                quote::quote!({
                    lease(1).heartbeat();
                }),
                &ctx
            )
            .is_none()
        );
    }
}
