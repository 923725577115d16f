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

/// Checks `func` and the arguments that parsed.
pub(crate) fn validate<'a>(func: &Function<'a>, args: &Args) -> syn::Result<Checked<'a>> {
    let mut errors = Errors::default();
    signature(func, &mut errors);
    context(func, &mut errors);
    inputs(func, &mut errors);
    arguments(func.kind, args, &mut errors);
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
            let message =
                format!("`{attribute}` functions take `{context}` as their first parameter; add `ctx: {context}`");
            let parens = func.original.sig.paren_token.span.join();
            errors.push(syn::Error::new(parens, message));
        }
        Some(FnArg::Typed(param)) if !ast::is_named(&param.ty, context) => {
            let message = match ast::context_kind(&param.ty) {
                // The other attribute's context.
                Some(other) => format!(
                    "`{attribute}` functions take `{context}`, not `{}`; change the type to `{context}`",
                    other.context()
                ),
                None => {
                    let before = match &*param.pat {
                        syn::Pat::Ident(binding) => format!("`{}`", binding.ident),
                        _ => "the input".to_owned(),
                    };
                    format!(
                        "`{attribute}` functions take `{context}` as their first parameter; \
                         add `ctx: {context}` before {before}"
                    )
                }
            };
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
                    "`{attribute}` inputs are deserialized from history, so they cannot be references; \
                     take the input by value (`String` instead of `&str`, `Vec<T>` instead of `&[T]`)"
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
    // `-> u64` becomes "write `-> Result<u64, ActivityError>`"; a type that is
    // already some `Result` gets the generic `T`.
    let suggest = |ok: &str| match kind {
        Kind::Activity => format!("Result<{ok}, ActivityError>"),
        Kind::Workflow => format!("WorkflowResult<{ok}>"),
    };
    let wrong_shape = |whole: &Type, ok: &Type| {
        let ok = if ast::last_ident_ends_with(ok, "Result") { "T".to_owned() } else { pretty(ok) };
        let message = format!("`{attribute}` functions must return `{expected}`; write `-> {}`", suggest(&ok));
        syn::Error::new_spanned(whole, message)
    };
    match (kind, func.output) {
        (_, Output::Missing) => {
            let message = format!(
                "`{attribute}` functions must return `{expected}`; add `-> {}` and end with `Ok(())`",
                suggest("()")
            );
            Err(syn::Error::new(func.original.sig.paren_token.span.close(), message))
        }
        (_, Output::Other(ty)) => Err(wrong_shape(ty, ty)),
        (Kind::Activity, Output::WorkflowResult { ok }) => match &func.original.sig.output {
            syn::ReturnType::Type(_, whole) => Err(wrong_shape(whole, ok)),
            syn::ReturnType::Default => Err(wrong_shape(ok, ok)),
        },
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
                    "`{attribute}` functions must return `{expected}`; use `WorkflowError` as the error type \
                     (any `std::error::Error` converts into it with `?`)"
                );
                Err(syn::Error::new_spanned(error, message))
            }
        }
    }
}

/// `ty` as users write it, for messages: `Vec<u8>`, not `Vec < u8 >`.
fn pretty(ty: &Type) -> String {
    let mut text = ty.to_token_stream().to_string();
    for (from, to) in [(" :: ", "::"), (":: ", "::"), (" <", "<"), ("< ", "<"), (" >", ">"), (" ,", ","), ("& ", "&")] {
        text = text.replace(from, to);
    }
    text
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

#[cfg(test)]
mod tests {
    use syn::{ItemFn, parse_quote};

    use super::*;

    fn messages(kind: Kind, item: ItemFn) -> Vec<String> {
        let func = Function::from_syn(kind, &item);
        match validate(&func, &Args::default()) {
            Ok(_) => Vec::new(),
            Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn accepts_the_design_examples() {
        let item = parse_quote! {
            pub async fn your_activity(_ctx: ActivityContext, input: YourParams) -> Result<String, ActivityError> {
                Ok(format!("{}, {}!", input.greeting, input.name))
            }
        };
        assert!(messages(Kind::Activity, item).is_empty());
        let item = parse_quote! {
            pub async fn your_workflow(ctx: WorkflowContext, name: String) -> WorkflowResult<String> { todo!() }
        };
        assert!(messages(Kind::Workflow, item).is_empty());
    }

    #[test]
    fn reports_every_problem_of_the_signature() {
        let item = parse_quote!(
            const unsafe extern "C" fn f<T>(x: &T) -> u8 {}
        );
        let errors = messages(Kind::Activity, item);
        assert_eq!(errors.len(), 7, "{errors:#?}");
        assert!(errors.contains(&"`#[activity]` functions must be `async fn`".to_owned()));
        assert!(errors.contains(&"`#[activity]` functions cannot be `const`; remove `const`".to_owned()));
        assert!(errors.iter().any(|e| e.starts_with("`#[activity]` functions cannot be generic")));
        assert!(
            errors.iter().any(|e| e.starts_with("`#[activity]` functions cannot be `extern`; remove `extern \"C\"`"))
        );
        assert!(errors.iter().any(|e| e.contains("add `ctx: ActivityContext` before `x`")));
        assert!(errors.iter().any(|e| e
            == "`#[activity]` functions must return `Result<T, ActivityError>`; write `-> Result<u8, ActivityError>`"));
    }

    #[test]
    fn names_the_input_the_context_goes_before() {
        let item = parse_quote!(
            async fn f((a, b): (u8, u8)) -> Result<(), ActivityError> {}
        );
        assert_eq!(
            messages(Kind::Activity, item),
            ["`#[activity]` functions take `ActivityContext` as their first parameter; \
              add `ctx: ActivityContext` before the input"]
        );
        let item = parse_quote!(
            async fn f(ctx: ActivityContext) -> WorkflowResult<()> {}
        );
        assert_eq!(
            messages(Kind::Workflow, item),
            [
                "`#[workflow]` functions take `WorkflowContext`, not `ActivityContext`; change the type to `WorkflowContext`"
            ]
        );
    }

    #[test]
    fn checks_the_error_type() {
        let item = parse_quote!(
            async fn f(ctx: WorkflowContext) -> Result<(), ActivityError> {}
        );
        let errors = messages(Kind::Workflow, item);
        assert!(errors[0].starts_with("`#[workflow]` functions must return `WorkflowResult<T>`; use `WorkflowError`"));
        let item = parse_quote!(
            async fn f(ctx: WorkflowContext) -> Result<(), WorkflowError> {}
        );
        assert!(messages(Kind::Workflow, item).is_empty());
    }

    #[test]
    fn suggests_the_return_type() {
        let item = parse_quote!(
            async fn f(ctx: WorkflowContext) -> Vec<::std::string::String> {}
        );
        let errors = messages(Kind::Workflow, item);
        assert_eq!(
            errors,
            [
                "`#[workflow]` functions must return `WorkflowResult<T>`; write `-> WorkflowResult<Vec<::std::string::String>>`"
            ]
        );
        let item = parse_quote!(
            async fn f(ctx: ActivityContext) -> anyhow::Result<u8> {}
        );
        let errors = messages(Kind::Activity, item);
        assert_eq!(
            errors,
            ["`#[activity]` functions must return `Result<T, ActivityError>`; write `-> Result<T, ActivityError>`"]
        );
        let item = parse_quote!(
            async fn f(ctx: ActivityContext) -> WorkflowResult<u8> {}
        );
        let errors = messages(Kind::Activity, item);
        assert_eq!(
            errors,
            ["`#[activity]` functions must return `Result<T, ActivityError>`; write `-> Result<u8, ActivityError>`"]
        );
    }

    #[test]
    fn rejects_an_empty_name() {
        let item: ItemFn = parse_quote!(
            async fn f(ctx: ActivityContext) -> Result<(), ActivityError> {}
        );
        let func = Function::from_syn(Kind::Activity, &item);
        let args = Args {
            name: Some(crate::ast::Spanned { value: " ".to_owned(), span: proc_macro2::Span::call_site() }),
            krate: None,
        };
        let error = validate(&func, &args).err().map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some(
                "`name` in `#[activity]` cannot be empty; give a name, or remove `name` to register the function's name"
            )
        );
    }
}
