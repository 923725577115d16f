//! Generates the typed stub: a unit struct named after the function and the
//! trait impls that make it an activity or a workflow.
//!
//! For `#[activity] pub async fn charge(ctx: ActivityContext, cents: u64) -> Result<String, ActivityError>`:
//!
//! ```text
//! #[allow(non_camel_case_types)]
//! #[derive(Clone, Copy, Debug)]
//! pub struct charge;
//!
//! const _: () = {
//!     async fn __weft_charge(ctx: ActivityContext, cents: u64) -> Result<String, ActivityError> { /* body */ }
//!
//!     #[automatically_derived]
//!     impl ::weft::__private::Activity for charge {
//!         type Input = u64;
//!         type Output = String;
//!         const NAME: &'static str = "charge";
//!     }
//!
//!     #[automatically_derived]
//!     impl ::weft::__private::ActivityFn for charge {
//!         fn run(__weft_ctx: ActivityContext, __weft_input: Self::Input) -> impl Future<..> + Send + 'static {
//!             let __weft_input_0 = __weft_input;
//!             __weft_charge(__weft_ctx, __weft_input_0)
//!         }
//!     }
//! };
//! ```

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::ext::IdentExt as _;
use syn::{Attribute, Ident, ItemFn, PatType, Visibility};

use crate::args;
use crate::ast::{self, Args, Function, Kind};
use crate::errors::{self, Errors};
use crate::validate::{self, Checked};

/// Parses, validates and expands one attribute; any error goes to [`fallback`](crate::fallback).
pub(crate) fn expand(kind: Kind, args: &TokenStream, item: &TokenStream) -> syn::Result<TokenStream> {
    let original = ast::parse_item(kind, item)?;
    let func = Function::from_syn(kind, &original);
    let mut errors = Errors::default();
    let args = args::parse(kind, args.clone(), &mut errors);
    let ((), checked) = errors::join(errors.finish(), validate::validate(&func, &args))?;
    Ok(generate(&func, &args, &checked))
}

fn generate(func: &Function<'_>, args: &Args, checked: &Checked<'_>) -> TokenStream {
    let krate = args.crate_path();
    let private = quote!(#krate::__private);
    let hidden = hidden_fn(func);
    let hidden_ident = &hidden.sig.ident;

    // `run` hands the input to the user's function, spread over its parameters.
    let bindings: Vec<Ident> = (0..func.inputs.len()).map(|i| format_ident!("__weft_input_{}", i)).collect();
    let spread = match bindings.as_slice() {
        [] => quote!(let () = __weft_input;),
        [one] => quote!(let #one = __weft_input;),
        many => quote!(let (#(#many),*) = __weft_input;),
    };
    let body = quote!(#spread #hidden_ident(__weft_ctx, #(#bindings),*));

    let input = input_type(func, &func.inputs);
    let impls = trait_impls(func, &private, &registered_name(func, args), &input, checked.output, &body);
    let stub = stub_struct(func);
    let cfgs = cfg_attrs(&func.original.attrs);
    quote! {
        #stub

        #(#cfgs)*
        const _: () = {
            #hidden
            #impls
        };
    }
}

/// The unit struct users pass around: the function's name, visibility and docs.
pub(crate) fn stub_struct(func: &Function<'_>) -> TokenStream {
    let ItemFn { attrs, vis, .. } = func.original;
    let ident = func.ident();
    let attrs = attrs.iter().filter(|attr| stub_attr(attr));
    // rustc shows the struct's definition in notes ("the trait `Activity` is
    // not implemented for `refund`"): let that be the name in `fn refund`.
    quote_spanned! {ident.span()=>
        #(#attrs)*
        #[allow(non_camel_case_types)]
        #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug)]
        #vis struct #ident;
    }
}

/// The user's function, renamed `__weft_<name>` and private to the `const _` block.
pub(crate) fn hidden_fn(func: &Function<'_>) -> ItemFn {
    let mut hidden = func.original.clone();
    hidden.attrs.retain(|attr| !stub_only_attr(attr));
    // The attribute requires `async`, even for a body that never awaits.
    hidden.attrs.push(syn::parse_quote!(#[allow(clippy::unused_async)]));
    hidden.vis = Visibility::Inherited;
    hidden.sig.ident = format_ident!("__weft_{}", func.ident());
    hidden
}

/// `impl Activity` + `impl ActivityFn`, or `impl Workflow`, with `body` as `run`'s body.
///
/// `run` binds the context to `__weft_ctx` and the input to `__weft_input`.
/// The impls name the stub, which may be `#[deprecated]`: that warning is
/// for the user's call sites, not for ours.
pub(crate) fn trait_impls(
    func: &Function<'_>,
    private: &TokenStream,
    name: &str,
    input: &TokenStream,
    output: &dyn ToTokens,
    body: &TokenStream,
) -> TokenStream {
    let ident = func.ident();
    // The engine moves the future between threads. A body that is not `Send`
    // fails the bound on `run`'s return type, which carries the function's
    // name as its span so that rustc points there (with a note on the value
    // held across an `.await`). A separate `assert_send(..)` call would report
    // the same failure twice.
    let future = |output: TokenStream| {
        quote_spanned! {ident.span()=>
            impl ::core::future::Future<Output = #output> + ::core::marker::Send + 'static
        }
    };
    match func.kind {
        Kind::Activity => {
            let future = future(quote! {
                ::core::result::Result<<Self as #private::Activity>::Output, #private::ActivityError>
            });
            quote! {
                #[automatically_derived]
                #[allow(deprecated)]
                impl #private::Activity for #ident {
                    type Input = #input;
                    type Output = #output;
                    const NAME: &'static str = #name;
                }

                #[automatically_derived]
                #[allow(deprecated)]
                impl #private::ActivityFn for #ident {
                    fn run(
                        __weft_ctx: #private::ActivityContext,
                        __weft_input: <Self as #private::Activity>::Input,
                    ) -> #future {
                        #body
                    }
                }
            }
        }
        Kind::Workflow => {
            let future = future(quote!(#private::WorkflowResult<<Self as #private::Workflow>::Output>));
            quote! {
                #[automatically_derived]
                #[allow(deprecated)]
                impl #private::Workflow for #ident {
                    type Input = #input;
                    type Output = #output;
                    const NAME: &'static str = #name;

                    fn run(
                        __weft_ctx: #private::WorkflowContext,
                        __weft_input: <Self as #private::Workflow>::Input,
                    ) -> #future {
                        #body
                    }
                }
            }
        }
    }
}

/// The `Input` type: `()`, the one input's type, or the tuple of several.
///
/// Input and output types keep the user's spans: the bounds of `Activity` and
/// `Workflow` (`Serialize + DeserializeOwned + Send + 'static`) are then
/// reported at the parameter (for a tuple, at the parameter list) or at the
/// `T` of the return type. A separate `assert_payload::<T>()` would report
/// the same failure a second time.
pub(crate) fn input_type(func: &Function<'_>, inputs: &[&PatType]) -> TokenStream {
    match inputs {
        [] => quote!(()),
        [one] => one.ty.to_token_stream(),
        many => {
            let types = many.iter().map(|input| &input.ty);
            let parens = func.original.sig.paren_token.span.join();
            quote_spanned!(parens=> (#(#types),*))
        }
    }
}

/// The registered name: `name = "..."`, else the function's name.
pub(crate) fn registered_name(func: &Function<'_>, args: &Args) -> String {
    match &args.name {
        Some(name) => name.value.clone(),
        None => func.ident().unraw().to_string(),
    }
}

/// `#[cfg(..)]` attributes, which apply to everything generated.
pub(crate) fn cfg_attrs(attrs: &[Attribute]) -> impl Iterator<Item = &Attribute> {
    attrs.iter().filter(|attr| attr.path().is_ident("cfg"))
}

/// Attributes that describe the stub: docs, `cfg`, `deprecated`.
fn stub_attr(attr: &Attribute) -> bool {
    stub_only_attr(attr) || attr.path().is_ident("cfg")
}

/// Attributes that belong on the stub and not on the hidden function.
fn stub_only_attr(attr: &Attribute) -> bool {
    attr.path().is_ident("doc") || attr.path().is_ident("deprecated")
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use super::*;

    fn expand_str(kind: Kind, args: TokenStream, item: TokenStream) -> String {
        match expand(kind, &args, &item) {
            Ok(tokens) => tokens.to_string(),
            Err(error) => panic!("unexpected error: {error}"),
        }
    }

    #[test]
    fn input_is_unit_single_or_tuple() {
        let item: ItemFn = parse_quote!(
            async fn f(ctx: C) {}
        );
        let func = Function::from_syn(Kind::Activity, &item);
        assert_eq!(input_type(&func, &func.inputs).to_string(), "()");
        let item: ItemFn = parse_quote!(
            async fn f(ctx: C, a: A) {}
        );
        let func = Function::from_syn(Kind::Activity, &item);
        assert_eq!(input_type(&func, &func.inputs).to_string(), "A");
        let item: ItemFn = parse_quote!(
            async fn f(ctx: C, a: A, (b, c): (B, C), d: Vec<D>) {}
        );
        let func = Function::from_syn(Kind::Activity, &item);
        assert_eq!(input_type(&func, &func.inputs).to_string(), "(A , (B , C) , Vec < D >)");
    }

    #[test]
    fn generates_a_stub_and_impls() {
        let out = expand_str(
            Kind::Activity,
            quote!(name = "Charge"),
            quote! {
                /// Charges.
                pub async fn r#charge(_ctx: ActivityContext, cents: u64) -> Result<String, ActivityError> { todo!() }
            },
        );
        assert!(out.contains("pub struct r#charge ;"), "{out}");
        assert!(out.contains("async fn __weft_charge"), "{out}");
        assert!(out.contains("impl :: weft :: __private :: Activity for r#charge"), "{out}");
        assert!(out.contains("impl :: weft :: __private :: ActivityFn for r#charge"), "{out}");
        assert!(out.contains("type Input = u64 ;") && out.contains("type Output = String ;"), "{out}");
        assert!(out.contains("const NAME : & 'static str = \"Charge\" ;"), "{out}");
        assert!(out.contains("const _ : () ="), "{out}");
    }

    #[test]
    fn uses_the_given_crate_path() {
        let out = expand_str(
            Kind::Workflow,
            quote!(crate = "renamed"),
            quote!(
                async fn checkout(ctx: WorkflowContext) -> WorkflowResult<()> {
                    Ok(())
                }
            ),
        );
        assert!(out.contains("impl renamed :: __private :: Workflow for checkout"), "{out}");
        assert!(!out.contains(":: weft ::"), "{out}");
        assert!(out.contains("const NAME : & 'static str = \"checkout\" ;"), "{out}");
    }
}
