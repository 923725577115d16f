//! Parses the attribute's arguments (`name = "..."`, `crate = "..."`) into [`Args`].
//!
//! The arguments are split at top-level commas and each one is parsed on its
//! own, so that one build reports every bad argument. A new option is a
//! keyword, a field of [`Args`], and one branch in [`parse_one`] that ends
//! in [`set_once`].

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::ext::IdentExt as _;
use syn::parse::{ParseStream, Parser as _};
use syn::{Expr, ExprLit, Lit, LitStr, Token};

use crate::ast::{Args, Kind, Spanned};
use crate::errors::Errors;

mod kw {
    syn::custom_keyword!(name);
}

/// Parses the tokens between the attribute's parentheses.
///
/// Bad arguments go to `errors`; the good ones are still returned, so that
/// their values can be validated (and `crate` used by the fallback) too.
pub(crate) fn parse(kind: Kind, tokens: TokenStream, errors: &mut Errors) -> Args {
    let mut args = Args::default();
    for argument in split(kind, tokens, errors) {
        let parser = |input: ParseStream<'_>| parse_one(kind, input, &mut args);
        errors.ok(parser.parse2(argument));
    }
    args
}

/// One argument, from its first token to the comma after it.
fn parse_one(kind: Kind, input: ParseStream<'_>, args: &mut Args) -> syn::Result<()> {
    let lookahead = input.lookahead1();
    if lookahead.peek(kw::name) {
        let key: kw::name = input.parse()?;
        let value = string_value(kind, input, &key)?;
        set_once(kind, &mut args.name, &key, Spanned { value: value.value(), span: value.span() })
    } else if lookahead.peek(Token![crate]) {
        let key: Token![crate] = input.parse()?;
        let value = string_value(kind, input, &key)?;
        let path = value.parse_with(syn::Path::parse_mod_style).map_err(|_| {
            let message = format!(
                "`crate` in `{}` must be the path of the weft crate, such as `crate = \"::weft\"`",
                kind.attribute()
            );
            syn::Error::new(value.span(), message)
        })?;
        set_once(kind, &mut args.krate, &key, Spanned { value: path, span: value.span() })
    } else {
        Err(unknown(kind, input))
    }
}

/// Stores an option's value, refusing a second one: the only place options are set.
fn set_once<T>(kind: Kind, slot: &mut Option<Spanned<T>>, key: &impl ToTokens, value: Spanned<T>) -> syn::Result<()> {
    if slot.is_some() {
        let message =
            format!("`{}` is given twice in `{}`; remove one of them", key.to_token_stream(), kind.attribute());
        return Err(syn::Error::new_spanned(key, message));
    }
    *slot = Some(value);
    Ok(())
}

/// Parses `= "literal"` after `key`.
fn string_value(kind: Kind, input: ParseStream<'_>, key: &impl ToTokens) -> syn::Result<LitStr> {
    let key = key.to_token_stream();
    let attribute = kind.attribute();
    let eq: Option<Token![=]> = input.parse()?;
    if eq.is_none() || input.is_empty() {
        let message = format!("`{key}` in `{attribute}` takes a string: write `{key} = \"...\"`");
        return Err(syn::Error::new_spanned(quote::quote!(#key #eq), message));
    }
    match input.parse::<Expr>()? {
        Expr::Lit(ExprLit { lit: Lit::Str(lit), .. }) => Ok(lit),
        other => {
            let written = other.to_token_stream().to_string();
            let message = format!(
                "`{key}` in `{attribute}` must be a string literal: write `{key} = \"{}\"`",
                written.trim_matches('"')
            );
            Err(syn::Error::new_spanned(other, message))
        }
    }
}

/// The error for a token that starts no known argument.
fn unknown(kind: Kind, input: ParseStream<'_>) -> syn::Error {
    let valid: Vec<String> = kind.valid_args().iter().map(|arg| format!("`{arg}`")).collect();
    let valid = valid.join(", ");
    let attribute = kind.attribute();
    match input.fork().call(syn::Ident::parse_any) {
        Ok(ident) => syn::Error::new(
            ident.span(),
            format!("unknown argument `{ident}` in `{attribute}`; the valid arguments are {valid}"),
        ),
        Err(_) => input.error(format!("expected an argument of `{attribute}`; the valid arguments are {valid}")),
    }
}

/// Splits `tokens` at top-level commas; a trailing comma is allowed, an empty
/// argument between two commas is an error.
fn split(kind: Kind, tokens: TokenStream, errors: &mut Errors) -> Vec<TokenStream> {
    let mut arguments = Vec::new();
    let mut current = TokenStream::new();
    for token in tokens {
        match &token {
            TokenTree::Punct(punct) if punct.as_char() == ',' => {
                if current.is_empty() {
                    let message = format!("expected an argument of `{}` before this comma", kind.attribute());
                    errors.push(syn::Error::new(punct.span(), message));
                }
                arguments.push(std::mem::take(&mut current));
            }
            _ => current.extend([token]),
        }
    }
    if !current.is_empty() {
        arguments.push(current);
    }
    arguments.retain(|argument| !argument.is_empty());
    arguments
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    fn parse_ok(kind: Kind, tokens: TokenStream) -> Args {
        let mut errors = Errors::default();
        let args = parse(kind, tokens, &mut errors);
        if let Err(error) = errors.finish() {
            panic!("unexpected error: {error}");
        }
        args
    }

    fn messages(kind: Kind, tokens: TokenStream) -> Vec<String> {
        let mut errors = Errors::default();
        parse(kind, tokens, &mut errors);
        errors.finish().err().map_or_else(Vec::new, |error| error.into_iter().map(|e| e.to_string()).collect())
    }

    #[test]
    fn no_arguments() {
        let args = parse_ok(Kind::Activity, quote!());
        assert!(args.name.is_none() && args.krate.is_none());
        assert_eq!(args.crate_path().to_string(), quote!(::weft).to_string());
    }

    #[test]
    fn name_and_crate() {
        let args = parse_ok(Kind::Workflow, quote!(name = "YourWorkflow", crate = "::renamed::weft",));
        assert_eq!(args.name.as_ref().map(|name| name.value.as_str()), Some("YourWorkflow"));
        assert_eq!(args.crate_path().to_string(), quote!(::renamed::weft).to_string());
    }

    #[test]
    fn crate_may_start_with_crate() {
        let args = parse_ok(Kind::Activity, quote!(crate = "crate::facade"));
        assert_eq!(args.crate_path().to_string(), quote!(crate::facade).to_string());
    }

    #[test]
    fn duplicate_is_an_error() {
        let errors = messages(Kind::Workflow, quote!(name = "a", name = "b"));
        assert_eq!(errors, ["`name` is given twice in `#[workflow]`; remove one of them"]);
    }

    #[test]
    fn unknown_lists_the_valid_arguments() {
        let errors = messages(Kind::Activity, quote!(retries = 3));
        assert_eq!(errors, ["unknown argument `retries` in `#[activity]`; the valid arguments are `name`, `crate`"]);
        let errors = messages(Kind::Activity, quote!("Charge"));
        assert_eq!(errors, ["expected an argument of `#[activity]`; the valid arguments are `name`, `crate`"]);
    }

    #[test]
    fn values_must_be_string_literals() {
        let errors = messages(Kind::Activity, quote!(name = Charge));
        assert_eq!(errors, ["`name` in `#[activity]` must be a string literal: write `name = \"Charge\"`"]);
        let errors = messages(Kind::Activity, quote!(name));
        assert_eq!(errors, ["`name` in `#[activity]` takes a string: write `name = \"...\"`"]);
        let errors = messages(Kind::Activity, quote!(name =));
        assert_eq!(errors, ["`name` in `#[activity]` takes a string: write `name = \"...\"`"]);
        let errors = messages(Kind::Activity, quote!(crate = "not a path"));
        assert_eq!(
            errors,
            ["`crate` in `#[activity]` must be the path of the weft crate, such as `crate = \"::weft\"`"]
        );
    }

    #[test]
    fn every_bad_argument_is_reported_and_good_ones_kept() {
        let mut errors = Errors::default();
        let args = parse(Kind::Activity, quote!(nmae = "a", , name = "Charge", crate = 1), &mut errors);
        assert_eq!(errors.finish().unwrap_err().into_iter().count(), 3);
        assert_eq!(args.name.map(|name| name.value).as_deref(), Some("Charge"));
    }
}
