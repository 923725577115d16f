//! Attribute arguments: `name = "..."`, `crate = "path"`.

use proc_macro2::{Span, TokenStream};
use syn::parse::{ParseStream, Parser};
use syn::{LitStr, Token};

use crate::ast::Kind;

mod kw {
    syn::custom_keyword!(name);
}

/// The parsed arguments, each with the span of its value.
#[derive(Default)]
pub(crate) struct Args {
    pub(crate) name: Option<(String, Span)>,
    pub(crate) krate: Option<syn::Path>,
}

impl Args {
    pub(crate) fn parse(kind: Kind, tokens: TokenStream) -> syn::Result<Args> {
        (|input: ParseStream<'_>| parse_args(kind, input)).parse2(tokens)
    }
}

fn parse_args(kind: Kind, input: ParseStream<'_>) -> syn::Result<Args> {
    let mut args = Args::default();
    while !input.is_empty() {
        let lookahead = input.lookahead1();
        if lookahead.peek(kw::name) {
            let key = input.parse::<kw::name>()?;
            input.parse::<Token![=]>()?;
            let lit = string_literal(kind, "name", "name = \"Charge\"", input)?;
            if lit.value().trim().is_empty() {
                return Err(syn::Error::new(lit.span(), format!("`#[{kind}]` `name` must not be empty")));
            }
            set_once(kind, &mut args.name, (lit.value(), lit.span()), key.span, "name")?;
        } else if lookahead.peek(Token![crate]) {
            let key = input.parse::<Token![crate]>()?;
            input.parse::<Token![=]>()?;
            let lit = string_literal(kind, "crate", "crate = \"weft\"", input)?;
            let path = lit.parse_with(syn::Path::parse_mod_style).map_err(|_| {
                syn::Error::new(lit.span(), format!("`#[{kind}]` `crate` must name a path, e.g. `crate = \"my_weft\"`"))
            })?;
            set_once(kind, &mut args.krate, path, key.span, "crate")?;
        } else if input.peek(syn::Ident) {
            let unknown: syn::Ident = input.parse()?;
            return Err(syn::Error::new(
                unknown.span(),
                format!("unknown `#[{kind}]` argument `{unknown}`; expected `name = \"...\"` or `crate = \"...\"`"),
            ));
        } else {
            return Err(lookahead.error());
        }
        if !input.is_empty() {
            input.parse::<Token![,]>()?;
        }
    }
    Ok(args)
}

fn string_literal(kind: Kind, key: &str, example: &str, input: ParseStream<'_>) -> syn::Result<LitStr> {
    if input.peek(LitStr) {
        return input.parse();
    }
    let value: syn::Expr = input.parse()?;
    Err(syn::Error::new_spanned(value, format!("`#[{kind}]` `{key}` takes a string literal, e.g. `{example}`")))
}

/// Every argument goes through here, so each may appear once.
fn set_once<T>(kind: Kind, slot: &mut Option<T>, value: T, span: Span, key: &str) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(span, format!("`#[{kind}]` argument `{key}` is given twice; keep one")));
    }
    *slot = Some(value);
    Ok(())
}
