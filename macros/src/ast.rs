//! The function an attribute sits on, parsed and checked.

use syn::{FnArg, GenericArgument, PatType, PathArguments, ReturnType, Signature, Type};

use crate::args::Site;
use crate::errors::Errors;

impl Site {
    fn is_workflow(self) -> bool {
        self == Site::Workflow
    }

    /// The type the context parameter must have.
    fn context(self) -> &'static str {
        if self.is_workflow() { "WorkflowContext" } else { "ActivityContext" }
    }

    /// The same, with its article, for messages.
    fn a_context(self) -> &'static str {
        if self.is_workflow() { "a `WorkflowContext`" } else { "an `ActivityContext`" }
    }

    /// The return type the function must declare.
    fn result(self) -> &'static str {
        if self.is_workflow() { "WorkflowResult<T>" } else { "Result<T, ActivityError>" }
    }
}

/// How an activity method reaches its shared instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Receiver {
    /// A free function: no instance.
    None,
    /// `&self`.
    Ref,
    /// `self: Arc<Self>`.
    Arc,
}

/// A checked `async fn`: its receiver, context parameter, inputs and output type.
pub(crate) struct Function<'a> {
    pub(crate) receiver: Receiver,
    pub(crate) context: Option<&'a PatType>,
    pub(crate) inputs: Vec<&'a PatType>,
    pub(crate) output: &'a Type,
}

impl<'a> Function<'a> {
    /// Parses and checks `sig`; every problem found goes to `errors`, and
    /// `None` means the signature is too broken to expand.
    pub(crate) fn parse(site: Site, sig: &'a Signature, all_errors: &mut Errors) -> Option<Self> {
        let mut errors = Errors::default();
        let parsed = Self::check(site, sig, &mut errors);
        // Expand only a signature with nothing wrong in it; otherwise the
        // user's item is emitted as it is, beside the errors.
        let ok = errors.is_empty();
        all_errors.append(errors);
        parsed.filter(|_| ok)
    }

    fn check(site: Site, sig: &'a Signature, errors: &mut Errors) -> Option<Self> {
        if sig.asyncness.is_none() {
            errors.push(sig.fn_token.span, format!("`{site}` functions must be `async fn`"));
        }
        if let Some(constness) = &sig.constness {
            errors.push(constness.span, format!("`{site}` functions cannot be `const`"));
        }
        if let Some(unsafety) = &sig.unsafety {
            errors.push(unsafety.span, format!("`{site}` functions cannot be `unsafe`"));
        }
        if let Some(abi) = &sig.abi {
            errors.spanned(abi, format!("`{site}` functions cannot declare an ABI"));
        }
        if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
            errors.spanned(
                &sig.generics,
                format!("`{site}` functions cannot be generic: the engine runs them from recorded, concrete types"),
            );
        }
        if let Some(variadic) = &sig.variadic {
            errors.spanned(variadic, format!("`{site}` functions cannot be variadic"));
        }

        let mut params = sig.inputs.iter().peekable();
        let receiver = if site == Site::Method {
            method_receiver(sig, params.next_if(|p| matches!(p, FnArg::Receiver(_))), errors)
        } else {
            Receiver::None
        };
        let context = match params.next() {
            None => {
                errors.push(
                    sig.paren_token.span.join(),
                    format!("`{site}` functions take {} as their first parameter", site.a_context()),
                );
                None
            }
            Some(FnArg::Receiver(receiver)) => {
                errors.spanned(receiver, free_receiver_message(site));
                None
            }
            Some(FnArg::Typed(ctx)) => {
                if last_segment(&ctx.ty).is_none_or(|s| s.ident != site.context()) {
                    errors.spanned(
                        &ctx.ty,
                        format!("the first parameter of a `{site}` function must be {}", site.a_context()),
                    );
                }
                Some(ctx)
            }
        };
        let mut inputs = Vec::new();
        for param in params {
            match param {
                FnArg::Typed(input) => {
                    check_input(site, input, errors);
                    inputs.push(input);
                }
                FnArg::Receiver(receiver) => errors.spanned(receiver, free_receiver_message(site)),
            }
        }

        let output = match &sig.output {
            ReturnType::Default => {
                errors.push(
                    sig.paren_token.span.close(),
                    format!("`{site}` functions must return `{}`; add a return type", site.result()),
                );
                None
            }
            ReturnType::Type(_, ty) => {
                let output = result_type(site, ty);
                if output.is_none() {
                    errors.spanned(ty, format!("`{site}` functions must return `{}`", site.result()));
                }
                output
            }
        };
        Some(Function { receiver, context, inputs, output: output? })
    }
}

fn free_receiver_message(site: Site) -> String {
    match site {
        Site::Activity => "`#[activity]` on a method needs `#[activities]` on its impl block; \
                           a free activity function cannot take `self`"
            .to_owned(),
        Site::Method => "`self` can only be the first parameter".to_owned(),
        _ => format!("`{site}` functions cannot take `self`"),
    }
}

/// An activity method reaches its instance through `&self` or `self: Arc<Self>`.
fn method_receiver(sig: &Signature, first: Option<&FnArg>, errors: &mut Errors) -> Receiver {
    const SHARED: &str = "one instance serves every concurrent call, so an activity method takes `&self` \
                          or `self: Arc<Self>`";
    let Some(FnArg::Receiver(receiver)) = first else {
        errors.push(
            sig.ident.span(),
            format!(
                "activity method `{}` has no receiver; {SHARED} (an activity without an instance is a free \
                 `#[activity] async fn`)",
                sig.ident
            ),
        );
        return Receiver::None;
    };
    if let Some((_, None)) = &receiver.reference {
        if receiver.mutability.is_some() {
            errors
                .spanned(receiver, format!("`&mut self`: {SHARED}; keep mutable state behind a `Mutex` or an atomic"));
        }
        return Receiver::Ref;
    }
    if receiver.reference.is_some() {
        errors.spanned(receiver, format!("an explicit lifetime on `self` is not supported; {SHARED}"));
        return Receiver::Ref;
    }
    if receiver.colon_token.is_none() {
        errors.spanned(receiver, format!("`self` by value: {SHARED}"));
        return Receiver::None;
    }
    match &*receiver.ty {
        Type::Reference(r) if r.mutability.is_none() && is_self(&r.elem) => Receiver::Ref,
        ty if last_segment(ty).is_some_and(|s| s.ident == "Arc" && single_arg_is_self(&s.arguments)) => Receiver::Arc,
        ty => {
            errors.spanned(ty, format!("this receiver is not supported: {SHARED}"));
            Receiver::None
        }
    }
}

fn is_self(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none() && p.path.is_ident("Self"))
}

fn single_arg_is_self(args: &PathArguments) -> bool {
    let PathArguments::AngleBracketed(args) = args else { return false };
    matches!(args.args.iter().collect::<Vec<_>>().as_slice(), [GenericArgument::Type(t)] if is_self(t))
}

/// Inputs are decoded from history, so they are owned, concrete types.
pub(crate) fn check_input(site: Site, input: &PatType, errors: &mut Errors) {
    match &*input.ty {
        Type::Reference(r) => errors.spanned(
            r,
            format!(
                "`{site}` inputs are decoded from history, so they cannot borrow; take an owned type \
                 (`String` for `&str`, `Vec<T>` for `&[T]`)"
            ),
        ),
        Type::ImplTrait(t) => errors.spanned(
            t,
            format!("`{site}` inputs are decoded from history, so they need a concrete type, not `impl Trait`"),
        ),
        _ => {}
    }
}

/// The `T` of `Result<T, ActivityError>` (activities) or of
/// `WorkflowResult<T>` / `Result<T, WorkflowError>` (workflows).
pub(crate) fn result_type(site: Site, ty: &Type) -> Option<&Type> {
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
    match (site.is_workflow(), segment.ident.to_string().as_str(), types.len()) {
        (false, "Result", 2) if error_is("ActivityError") => Some(types[0]),
        (true, "WorkflowResult", 1) => Some(types[0]),
        (true, "Result", 2) if error_is("WorkflowError") => Some(types[0]),
        _ => None,
    }
}

pub(crate) fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last(),
        Type::Group(g) => last_segment(&g.elem),
        Type::Paren(p) => last_segment(&p.elem),
        _ => None,
    }
}
