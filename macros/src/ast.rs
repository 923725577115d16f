//! Our model of an annotated function: what the user wrote, spans kept.
//!
//! Building it never fails: it records what it finds (a missing context, a
//! return type of the wrong shape) so that [`validate`](crate::validate) can
//! report every problem at once and [`fallback`](crate::fallback) can still
//! emit a stub.

use proc_macro2::{Span, TokenStream};
use syn::{FnArg, GenericArgument, ItemFn, PatType, PathArguments, ReturnType, Type};

/// Which attribute is expanding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `#[activity]`
    Activity,
    /// `#[workflow]`
    Workflow,
}

impl Kind {
    /// The attribute as users write it, for messages.
    pub(crate) fn attribute(self) -> &'static str {
        match self {
            Kind::Activity => "#[activity]",
            Kind::Workflow => "#[workflow]",
        }
    }

    /// The type the first parameter must have (its last path segment).
    pub(crate) fn context(self) -> &'static str {
        match self {
            Kind::Activity => "ActivityContext",
            Kind::Workflow => "WorkflowContext",
        }
    }

    /// The return type users must write, for messages.
    pub(crate) fn expected_return(self) -> &'static str {
        match self {
            Kind::Activity => "Result<T, ActivityError>",
            Kind::Workflow => "WorkflowResult<T>",
        }
    }

    /// The arguments the attribute accepts, for messages.
    pub(crate) fn valid_args(self) -> &'static [&'static str] {
        match self {
            Kind::Activity | Kind::Workflow => &["name", "crate"],
        }
    }
}

/// A value from the attribute's arguments and the span to blame for it.
#[derive(Clone, Debug)]
pub(crate) struct Spanned<T> {
    pub(crate) value: T,
    pub(crate) span: Span,
}

/// The attribute's arguments, each set at most once.
#[derive(Clone, Debug, Default)]
pub(crate) struct Args {
    /// `name = "..."`: the registered name (default: the function's name).
    pub(crate) name: Option<Spanned<String>>,
    /// `crate = "path"`: where the runtime crate is (default: `::weft`).
    pub(crate) krate: Option<Spanned<syn::Path>>,
}

impl Args {
    /// The path generated code reaches the runtime through.
    pub(crate) fn crate_path(&self) -> TokenStream {
        match &self.krate {
            Some(krate) => quote::ToTokens::to_token_stream(&krate.value),
            None => quote::quote!(::weft),
        }
    }
}

/// An annotated `fn`, as written.
pub(crate) struct Function<'a> {
    pub(crate) kind: Kind,
    pub(crate) original: &'a ItemFn,
    /// The first parameter, which should be the context.
    pub(crate) context: Option<&'a FnArg>,
    /// The parameters after the context: together, the input.
    pub(crate) inputs: Vec<&'a PatType>,
    pub(crate) output: Output<'a>,
}

/// The shape of the declared return type.
#[derive(Clone, Copy)]
pub(crate) enum Output<'a> {
    /// No `->` at all.
    Missing,
    /// `Result<T, E>`, under any path.
    Result { ok: &'a Type, error: &'a Type },
    /// `WorkflowResult<T>`, under any path.
    WorkflowResult { ok: &'a Type },
    /// Anything else.
    Other(&'a Type),
}

impl<'a> Output<'a> {
    fn from_syn(output: &'a ReturnType) -> Self {
        let ReturnType::Type(_, ty) = output else { return Output::Missing };
        let Some((ident, args)) = last_segment_args(ty) else { return Output::Other(ty) };
        match (ident.to_string().as_str(), args.as_slice()) {
            ("Result", &[ok, error]) => Output::Result { ok, error },
            ("WorkflowResult", &[ok]) => Output::WorkflowResult { ok },
            _ => Output::Other(ty),
        }
    }
}

impl<'a> Function<'a> {
    /// Takes `original` apart; never fails (see the module docs).
    pub(crate) fn from_syn(kind: Kind, original: &'a ItemFn) -> Self {
        let mut params = original.sig.inputs.iter();
        let context = params.next();
        let inputs = params
            .filter_map(|arg| match arg {
                FnArg::Typed(typed) => Some(typed),
                FnArg::Receiver(_) => None,
            })
            .collect();
        Function { kind, original, context, inputs, output: Output::from_syn(&original.sig.output) }
    }

    /// The `ident` the user named the function (and so the stub).
    pub(crate) fn ident(&self) -> &'a syn::Ident {
        &self.original.sig.ident
    }

    /// The `T` of the return type, if it has the shape this attribute wants.
    ///
    /// The error type is checked by [`validate`](crate::validate), not here.
    pub(crate) fn output_type(&self) -> Option<&'a Type> {
        match (self.kind, self.output) {
            (_, Output::Result { ok, .. }) | (Kind::Workflow, Output::WorkflowResult { ok }) => Some(ok),
            _ => None,
        }
    }
}

/// Which attribute's context `ty` names, if any.
pub(crate) fn context_kind(ty: &Type) -> Option<Kind> {
    [Kind::Activity, Kind::Workflow].into_iter().find(|kind| is_named(ty, kind.context()))
}

/// Whether `ty` is a path whose last segment ends with `suffix` (`Result`, `io::Result`, `WorkflowResult`).
pub(crate) fn last_ident_ends_with(ty: &Type, suffix: &str) -> bool {
    last_segment_args(ty).is_some_and(|(ident, _)| ident.to_string().ends_with(suffix))
}

/// Whether `ty` is a path whose last segment is `name`, without generic arguments.
pub(crate) fn is_named(ty: &Type, name: &str) -> bool {
    matches!(last_segment_args(ty), Some((ident, args)) if ident == name && args.is_empty())
}

/// The last segment of a path type and its type arguments (lifetimes and
/// bindings make it unrecognised).
fn last_segment_args(ty: &Type) -> Option<(&syn::Ident, Vec<&Type>)> {
    let Type::Path(path) = ungroup(ty) else { return None };
    if path.qself.is_some() {
        return None;
    }
    let segment = path.path.segments.last()?;
    let args = match &segment.arguments {
        PathArguments::None => Vec::new(),
        PathArguments::AngleBracketed(args) => args
            .args
            .iter()
            .map(|arg| match arg {
                GenericArgument::Type(ty) => Some(ty),
                _ => None,
            })
            .collect::<Option<_>>()?,
        PathArguments::Parenthesized(_) => return None,
    };
    Some((&segment.ident, args))
}

/// Looks through the invisible groups `macro_rules!` wraps `$t:ty` in.
pub(crate) fn ungroup(ty: &Type) -> &Type {
    match ty {
        Type::Group(group) => ungroup(&group.elem),
        Type::Paren(paren) => ungroup(&paren.elem),
        _ => ty,
    }
}

/// Parses the annotated item, which must be a function.
pub(crate) fn parse_item(kind: Kind, item: &TokenStream) -> syn::Result<ItemFn> {
    match syn::parse2::<syn::Item>(item.clone())? {
        syn::Item::Fn(function) => Ok(function),
        other => {
            let message = format!("`{}` goes on an `async fn`; move it to a function", kind.attribute());
            Err(syn::Error::new_spanned(other, message))
        }
    }
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use super::*;

    fn output_of(kind: Kind, item: ItemFn) -> Option<String> {
        let func = Function::from_syn(kind, &item);
        func.output_type().map(|ty| quote::ToTokens::to_token_stream(ty).to_string())
    }

    #[test]
    fn splits_context_and_inputs() {
        let item: ItemFn = parse_quote!(
            async fn f(ctx: ActivityContext, a: u8, (b, c): (u8, u8)) {}
        );
        let func = Function::from_syn(Kind::Activity, &item);
        assert!(func.context.is_some());
        assert_eq!(func.inputs.len(), 2);
        assert!(matches!(func.output, Output::Missing));
    }

    #[test]
    fn recognises_return_shapes() {
        let item = parse_quote!(
            async fn f() -> Result<String, ActivityError> {}
        );
        assert_eq!(output_of(Kind::Activity, item).as_deref(), Some("String"));
        let item = parse_quote!(
            async fn f() -> ::std::result::Result<Vec<u8>, weft::ActivityError> {}
        );
        assert_eq!(output_of(Kind::Activity, item).as_deref(), Some("Vec < u8 >"));
        let item = parse_quote!(
            async fn f() -> weft::WorkflowResult<()> {}
        );
        assert_eq!(output_of(Kind::Workflow, item).as_deref(), Some("()"));
        // `WorkflowResult` is no activity's return type.
        let item = parse_quote!(
            async fn f() -> WorkflowResult<()> {}
        );
        assert_eq!(output_of(Kind::Activity, item), None);
        let item = parse_quote!(
            async fn f() -> Result<String> {}
        );
        assert_eq!(output_of(Kind::Activity, item), None);
        let item = parse_quote!(
            async fn f() -> String {}
        );
        assert_eq!(output_of(Kind::Workflow, item), None);
    }

    #[test]
    fn names_by_last_segment() {
        assert!(is_named(&parse_quote!(ActivityContext), "ActivityContext"));
        assert!(is_named(&parse_quote!(::weft::ActivityContext), "ActivityContext"));
        assert!(!is_named(&parse_quote!(&ActivityContext), "ActivityContext"));
        assert!(!is_named(&parse_quote!(ActivityContext<u8>), "ActivityContext"));
        assert!(!is_named(&parse_quote!(<T as X>::ActivityContext), "ActivityContext"));
        assert_eq!(context_kind(&parse_quote!(weft::WorkflowContext)), Some(Kind::Workflow));
        assert_eq!(context_kind(&parse_quote!(String)), None);
    }

    #[test]
    fn only_functions_parse() {
        let error = parse_item(
            Kind::Activity,
            &quote::quote!(
                struct S;
            ),
        )
        .unwrap_err();
        assert_eq!(error.to_string(), "`#[activity]` goes on an `async fn`; move it to a function");
    }
}
