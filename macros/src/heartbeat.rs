//! The heartbeat check of `#[activity]`: an activity that heartbeats needs a
//! heartbeat timeout, or nobody notices when its heartbeats stop.

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::{Pat, PatType};

use crate::errors::Errors;
use crate::options::DeclaredOptions;

/// Errs on the first `ctx.heartbeat(..)` of `body` when `options` declare no
/// `heartbeat_timeout`. `context` is the `ActivityContext` parameter.
pub(crate) fn check(context: &PatType, body: &syn::Block, options: &DeclaredOptions, errors: &mut Errors) {
    if options.heartbeat.is_some() {
        return;
    }
    let Pat::Ident(ctx) = &*context.pat else { return };
    if let Some(span) = calls_method(body.to_token_stream(), &ctx.ident, "heartbeat") {
        errors.push(
            span,
            "this activity heartbeats, but declares no `heartbeat_timeout`, so nobody would notice its heartbeats \
             stop until the whole attempt times out; add `heartbeat_timeout = \"..\"` to its `#[activity(...)]`"
                .to_owned(),
        );
    }
}

/// Whether `tokens` contain a call to `ctx.<method>(..)`: used by the heartbeat check.
fn calls_method(tokens: TokenStream, receiver: &syn::Ident, method: &str) -> Option<Span> {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, tree) in trees.iter().enumerate() {
        if let TokenTree::Group(group) = tree
            && let Some(span) = calls_method(group.stream(), receiver, method)
        {
            return Some(span);
        }
        if let [TokenTree::Ident(r), TokenTree::Punct(dot), TokenTree::Ident(m), TokenTree::Group(args), ..] =
            &trees[i..]
            && r == receiver
            && dot.as_char() == '.'
            && m == method
            && args.delimiter() == Delimiter::Parenthesis
        {
            return Some(m.span());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeat_calls_are_found_in_nested_groups() {
        let ctx = syn::Ident::new("ctx", Span::call_site());
        assert!(
            calls_method(
                quote::quote!({
                    let _ = ctx.heartbeat(&1);
                }),
                &ctx,
                "heartbeat"
            )
            .is_some()
        );
        assert!(
            calls_method(
                quote::quote!({
                    other.heartbeat(&1);
                }),
                &ctx,
                "heartbeat"
            )
            .is_none()
        );
    }
}
