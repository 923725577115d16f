//! Checks a [`Function`] and its [`Args`] against what the engine can run.
//!
//! Every check is independent and feeds one [`Errors`], so a build shows all
//! the problems of a function at once.

use quote::{ToTokens, quote};
use syn::{FnArg, Type};

use crate::ast::{self, Args, Function, Kind, Output};
use crate::errors::{self, Errors};

/// What expansion may rely on once validation passed.
pub(crate) struct Checked<'a> {
    /// The `T` of `Result<T, ActivityError>` or `WorkflowResult<T>`.
    pub(crate) output: &'a Type,
}

/// Checks `func` and, if they parsed, its arguments.
pub(crate) fn validate<'a>(func: &Function<'a>, args: Option<&Args>) -> syn::Result<Checked<'a>> {
    let mut errors = Errors::default();
    signature(func, &mut errors);
    context(func, &mut errors);
    inputs(func, &mut errors);
    if let Some(args) = args {
        arguments(func.kind, args, &mut errors);
    }
    let ((), output) = errors::join(errors.finish(), output(func))?;
    Ok(Checked { output })
}

/// The qualifiers and generics of the signature.
fn signature(func: &Function<'_>, errors: &mut Errors) {
    let attribute = func.kind.attribute();
    let sig = &func.original.sig;
    if let Some(constness) = &sig.constness {
        errors.spanned(constness, format!("`{attribute}` functions cannot be `const`; remove `const`"));
    }
    if sig.asyncness.is_none() {
        errors.spanned(sig.fn_token, format!("`{attribute}` functions must be `async fn`"));
    }
    if let Some(unsafety) = &sig.unsafety {
        let message =
            format!("`{attribute}` functions cannot be `unsafe`; remove `unsafe` and use an `unsafe` block inside");
        errors.spanned(unsafety, message);
    }
    if let Some(abi) = &sig.abi {
        let message = format!("`{attribute}` functions cannot be `extern`; remove `{}`", abi.to_token_stream());
        errors.spanned(abi, message);
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        let message = format!(
            "`{attribute}` functions cannot be generic: the engine runs them by name, with concrete types; \
             remove the generic parameters"
        );
        let generics = &sig.generics;
        let where_clause = &generics.where_clause;
        errors.spanned(quote!(#generics #where_clause), message);
    }
    if let Some(variadic) = &sig.variadic {
        errors.spanned(variadic, format!("`{attribute}` functions cannot be variadic; remove `...`"));
    }
    if let Some(receiver) = sig.receiver() {
        let message = format!(
            "`{attribute}` functions cannot take `self`; make it a free `async fn` whose first parameter is `{}`",
            func.kind.context()
        );
        errors.spanned(receiver, message);
    }
}

/// The first parameter: the context, by value.
fn context(func: &Function<'_>, errors: &mut Errors) {
    let (attribute, context) = (func.kind.attribute(), func.kind.context());
    match func.context {
        None => {
            let message = format!(
                "`{attribute}` functions take a `{context}` as their first parameter; add `ctx: {context}`"
            );
            let parens = func.original.sig.paren_token.span.join();
            errors.push(syn::Error::new(parens, message));
        }
        Some(FnArg::Typed(param)) if !ast::is_named(&param.ty, context) => {
            let message = format!(
                "the first parameter of an `{attribute}` function must be the `{context}`; \
                 add `ctx: {context}` before the input"
            );
            errors.spanned(&param.ty, message);
        }
        // A receiver is reported by `signature`.
        Some(_) => {}
    }
}

/// The parameters after the context, which become the input.
fn inputs(func: &Function<'_>, errors: &mut Errors) {
    let attribute = func.kind.attribute();
    for input in &func.inputs {
        match ast::ungroup(&input.ty) {
            Type::Reference(reference) => {
                let message = format!(
                    "`{attribute}` inputs are deserialized from history, so they cannot borrow; \
                     take an owned type instead of `{}`",
                    reference.to_token_stream()
                );
                errors.spanned(reference, message);
            }
            Type::ImplTrait(impl_trait) => {
                let message = format!("`{attribute}` inputs cannot be `impl Trait`; use a concrete type");
                errors.spanned(impl_trait, message);
            }
            _ => {}
        }
    }
}

/// The declared return type; gives its `T` back.
fn output<'a>(func: &Function<'a>) -> syn::Result<&'a Type> {
    let (kind, attribute, expected) = (func.kind, func.kind.attribute(), func.kind.expected_return());
    let wrong_shape = |tokens: &dyn ToTokens| {
        let message = format!("`{attribute}` functions must return `{expected}`");
        syn::Error::new_spanned(tokens.to_token_stream(), message)
    };
    match (kind, func.output) {
        (_, Output::Missing) => {
            let message = format!("`{attribute}` functions must return `{expected}`; add `-> {expected}`");
            Err(syn::Error::new(func.original.sig.paren_token.span.close(), message))
        }
        (_, Output::Other(ty)) | (Kind::Activity, Output::WorkflowResult { ok: ty }) => {
            let ty = match func.original.sig.output {
                syn::ReturnType::Type(_, ref whole) => whole.as_ref(),
                syn::ReturnType::Default => ty,
            };
            Err(wrong_shape(ty))
        }
        (Kind::Activity, Output::Result { ok, error }) => {
            if ast::is_named(error, "ActivityError") {
                Ok(ok)
            } else {
                let message = format!(
                    "`{attribute}` functions must return `{expected}`; use `ActivityError` as the error type \
                     (any `std::error::Error` converts into it with `?`)"
                );
                Err(syn::Error::new_spanned(error, message))
            }
        }
        (Kind::Workflow, Output::WorkflowResult { ok }) => Ok(ok),
        (Kind::Workflow, Output::Result { ok, error }) => {
            if ast::is_named(error, "WorkflowError") {
                Ok(ok)
            } else {
                let message = format!(
                    "`{attribute}` functions must return `{expected}`, that is `Result<T, WorkflowError>`; \
                     use `WorkflowError` as the error type (any `std::error::Error` converts into it with `?`)"
                );
                Err(syn::Error::new_spanned(error, message))
            }
        }
    }
}

/// The values of the attribute's arguments.
fn arguments(kind: Kind, args: &Args, errors: &mut Errors) {
    if let Some(name) = &args.name
        && name.value.trim().is_empty()
    {
        let message = format!(
            "`name` in `{}` cannot be empty; give a name, or remove `name` to register the function's name",
            kind.attribute()
        );
        errors.push(syn::Error::new(name.span, message));
    }
}
