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
//!     impl ::weft::__private::Activity for charge {
//!         type Input = u64;
//!         type Output = String;
//!         const NAME: &'static str = "charge";
//!     }
//!
//!     impl ::weft::__private::ActivityFn for charge {
//!         fn run(__weft_ctx: ActivityContext, __weft_input: Self::Input) -> impl Future<..> + Send + 'static {
//!             let __weft_input_0 = __weft_input;
//!             ::weft::__private::assert_send(__weft_charge(__weft_ctx, __weft_input_0))
//!         }
//!     }
//! };
//! ```

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::ext::IdentExt as _;
use syn::spanned::Spanned as _;
use syn::{Attribute, Ident, ItemFn, PatType, Visibility};

use crate::args;
use crate::ast::{self, Args, Function, Kind};
use crate::errors;
use crate::validate::{self, Checked};

/// Parses, validates and expands one attribute; any error goes to [`fallback`](crate::fallback).
pub(crate) fn expand(kind: Kind, args: &TokenStream, item: &TokenStream) -> syn::Result<TokenStream> {
    let original = ast::parse_item(kind, item)?;
    let func = Function::from_syn(kind, &original);
    let args = args::parse(kind, args.clone());
    let checked = validate::validate(&func, args.as_ref().ok());
    let (args, checked) = errors::join(args, checked)?;
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
    // The engine moves the future between threads: a `!Send` body fails here,
    // and the error points at the function's name.
    let send_check = quote_spanned! {func.ident().span()=>
        #private::assert_send(#hidden_ident(__weft_ctx, #(#bindings),*))
    };
    let body = quote!(#spread #send_check);

    let payload_checks = payload_checks(func, &private, checked.output);
    let impls = trait_impls(func, &private, &registered_name(func, args), &input_type(func.kind, &func.inputs), checked.output, &body);
    let stub = stub_struct(func);
    let cfgs = cfg_attrs(&func.original.attrs);
    quote! {
        #stub

        #(#cfgs)*
        const _: () = {
            #hidden
            #payload_checks
            #impls
        };
    }
}

/// The unit struct users pass around: the function's name, visibility and docs.
pub(crate) fn stub_struct(func: &Function<'_>) -> TokenStream {
    let ItemFn { attrs, vis, .. } = func.original;
    let ident = func.ident();
    let attrs = attrs.iter().filter(|attr| stub_attr(attr));
    quote! {
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
    hidden.vis = Visibility::Inherited;
    hidden.sig.ident = format_ident!("__weft_{}", func.ident());
    hidden
}

/// `impl Activity` + `impl ActivityFn`, or `impl Workflow`, with `body` as `run`'s body.
///
/// `run` binds the context to `__weft_ctx` and the input to `__weft_input`.
pub(crate) fn trait_impls(
    func: &Function<'_>,
    private: &TokenStream,
    name: &str,
    input: &TokenStream,
    output: &dyn ToTokens,
    body: &TokenStream,
) -> TokenStream {
    let ident = func.ident();
    match func.kind {
        Kind::Activity => quote! {
            #[automatically_derived]
            impl #private::Activity for #ident {
                type Input = #input;
                type Output = #output;
                const NAME: &'static str = #name;
            }

            #[automatically_derived]
            impl #private::ActivityFn for #ident {
                fn run(
                    __weft_ctx: #private::ActivityContext,
                    __weft_input: <Self as #private::Activity>::Input,
                ) -> impl ::core::future::Future<
                    Output = ::core::result::Result<<Self as #private::Activity>::Output, #private::ActivityError>,
                > + ::core::marker::Send + 'static {
                    #body
                }
            }
        },
        Kind::Workflow => quote! {
            #[automatically_derived]
            impl #private::Workflow for #ident {
                type Input = #input;
                type Output = #output;
                const NAME: &'static str = #name;

                fn run(
                    __weft_ctx: #private::WorkflowContext,
                    __weft_input: <Self as #private::Workflow>::Input,
                ) -> impl ::core::future::Future<
                    Output = #private::WorkflowResult<<Self as #private::Workflow>::Output>,
                > + ::core::marker::Send + 'static {
                    #body
                }
            }
        },
    }
}

/// Checks, at the user's types, that inputs and output can travel through history.
fn payload_checks(func: &Function<'_>, private: &TokenStream, output: &syn::Type) -> TokenStream {
    let _ = (func, private, output);
    TokenStream::new()
}

/// The `Input` type: `()`, the one input's type, or the tuple of several.
pub(crate) fn input_type(kind: Kind, inputs: &[&PatType]) -> TokenStream {
    let _ = kind;
    match inputs {
        [] => quote!(()),
        [one] => one.ty.to_token_stream(),
        many => {
            let types = many.iter().map(|input| &input.ty);
            let span = many.iter().map(|input| input.span()).reduce(|a, b| a.join(b).unwrap_or(a)).unwrap_or_else(Span::call_site);
            quote_spanned!(span=> (#(#types),*))
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
