//! The function an attribute sits on, parsed and checked.

use std::fmt;

use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, ItemFn, PatType, PathArguments, ReturnType, Type};

/// Which attribute we are expanding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Activity,
    Workflow,
}

impl Kind {
    /// The type the first parameter must have.
    fn context(self) -> &'static str {
        match self {
            Kind::Activity => "ActivityContext",
            Kind::Workflow => "WorkflowContext",
        }
    }

    /// The same, with its article, for messages.
    fn a_context(self) -> &'static str {
        match self {
            Kind::Activity => "an `ActivityContext`",
            Kind::Workflow => "a `WorkflowContext`",
        }
    }

    /// The return type the function must declare.
    fn result(self) -> &'static str {
        match self {
            Kind::Activity => "Result<T, ActivityError>",
            Kind::Workflow => "WorkflowResult<T>",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Activity => "activity",
            Kind::Workflow => "workflow",
        })
    }
}

/// A checked `async fn`: its context parameter, inputs and output type.
pub(crate) struct Function<'a> {
    pub(crate) original: &'a ItemFn,
    pub(crate) inputs: Vec<&'a PatType>,
    pub(crate) output: &'a Type,
}

impl<'a> Function<'a> {
    /// Parses and checks `item`; every problem found is in the error.
    pub(crate) fn parse(kind: Kind, item: &'a ItemFn) -> syn::Result<Self> {
        let mut errors = Errors::default();
        let sig = &item.sig;
        if sig.asyncness.is_none() {
            errors.push(sig.fn_token.span, format!("`#[{kind}]` functions must be `async fn`"));
        }
        if let Some(constness) = &sig.constness {
            errors.push(constness.span, format!("`#[{kind}]` functions cannot be `const`"));
        }
        if let Some(unsafety) = &sig.unsafety {
            errors.push(unsafety.span, format!("`#[{kind}]` functions cannot be `unsafe`"));
        }
        if let Some(abi) = &sig.abi {
            errors.push(abi.span(), format!("`#[{kind}]` functions cannot declare an ABI"));
        }
        if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
            errors.push(
                sig.generics.span(),
                format!("`#[{kind}]` functions cannot be generic: the engine runs them from recorded, concrete types"),
            );
        }
        if let Some(variadic) = &sig.variadic {
            errors.push(variadic.span(), format!("`#[{kind}]` functions cannot be variadic"));
        }

        let mut params = sig.inputs.iter();
        let mut inputs = Vec::new();
        match params.next() {
            None => errors.push(
                sig.paren_token.span.join(),
                format!("`#[{kind}]` functions take {} as their first parameter", kind.a_context()),
            ),
            Some(FnArg::Receiver(receiver)) => errors.push(
                receiver.span(),
                format!("a free `#[{kind}]` function cannot take `self`; its first parameter is {}", kind.a_context()),
            ),
            Some(FnArg::Typed(ctx)) => {
                if last_segment(&ctx.ty).is_none_or(|s| s.ident != kind.context()) {
                    errors.push(
                        ctx.ty.span(),
                        format!("the first parameter of a `#[{kind}]` function must be {}", kind.a_context()),
                    );
                }
            }
        }
        for param in params {
            match param {
                FnArg::Typed(input) => inputs.push(input),
                FnArg::Receiver(receiver) => {
                    errors.push(receiver.span(), format!("`#[{kind}]` functions cannot take `self`"))
                }
            }
        }

        let output = match &sig.output {
            ReturnType::Default => {
                errors.push(
                    sig.paren_token.span.close(),
                    format!("`#[{kind}]` functions must return `{}`; add a return type", kind.result()),
                );
                None
            }
            ReturnType::Type(_, ty) => {
                let output = result_type(kind, ty);
                if output.is_none() {
                    errors.push(ty.span(), format!("`#[{kind}]` functions must return `{}`", kind.result()));
                }
                output
            }
        };
        errors.finish()?;
        let output = output.expect("checked above: an error was pushed when the output type is missing");
        Ok(Function { original: item, inputs, output })
    }
}

/// The `T` of `Result<T, ActivityError>` (activities) or of
/// `WorkflowResult<T>` / `Result<T, WorkflowError>` (workflows).
fn result_type(kind: Kind, ty: &Type) -> Option<&Type> {
    let segment = last_segment(ty)?;
    let PathArguments::AngleBracketed(args) = &segment.arguments else { return None };
    let types: Vec<&Type> = args
        .args
        .iter()
        .filter_map(|a| match a {
            GenericArgument::Type(t) => Some(t),
            _ => None,
        })
        .collect();
    let error_is = |name: &str| last_segment(types[1]).is_some_and(|s| s.ident == name && s.arguments.is_none());
    match (kind, segment.ident.to_string().as_str(), types.len()) {
        (Kind::Activity, "Result", 2) if error_is("ActivityError") => Some(types[0]),
        (Kind::Workflow, "WorkflowResult", 1) => Some(types[0]),
        (Kind::Workflow, "Result", 2) if error_is("WorkflowError") => Some(types[0]),
        _ => None,
    }
}

fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last(),
        Type::Group(g) => last_segment(&g.elem),
        Type::Paren(p) => last_segment(&p.elem),
        _ => None,
    }
}

/// Collects independent errors so one build shows them all.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, span: proc_macro2::Span, message: String) {
        self.add(syn::Error::new(span, message));
    }

    pub(crate) fn add(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(existing) => existing.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}
