//! What to emit when expansion failed: the error, plus a stub as close to the
//! real expansion as can be built, so one mistake does not cascade into
//! "cannot find value `your_activity`" errors at every call site.
//!
//! The stub keeps the function's name, its trait impls when their types are
//! known (with a `run` that never completes), and the user's body, renamed
//! and unused, so that errors inside it still show in the same build.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{FnArg, PatType, Type};

use crate::args;
use crate::ast::{self, Function};
use crate::ast::Kind;
use crate::expand;

/// The `compile_error!` for `error`, next to a best-effort stub for `item`.
pub(crate) fn expand(kind: Kind, args: &TokenStream, item: &TokenStream, error: syn::Error) -> TokenStream {
    let error = error.into_compile_error();
    // Not a function (or not Rust): give the item back untouched.
    let Ok(original) = ast::parse_item(kind, item) else {
        return quote!(#error #item);
    };
    let func = Function::from_syn(kind, &original);
    let args = args::parse(kind, args.clone()).unwrap_or_default();
    let krate = args.crate_path();
    let private = quote!(#krate::__private);

    let stub = expand::stub_struct(&func);
    let impls = match (func.output_type(), stub_inputs(&func)) {
        (Some(output), Some(inputs)) => {
            let input = expand::input_type(kind, &inputs);
            let name = expand::registered_name(&func, &args);
            let body = quote! {
                let _ = (__weft_ctx, __weft_input);
                ::core::future::pending()
            };
            expand::trait_impls(&func, &private, &name, &input, output, &body)
        }
        _ => TokenStream::new(),
    };
    // `self` or `...` outside a method would only add errors about our renaming.
    let hidden = if func.has_receiver() || original.sig.variadic.is_some() {
        TokenStream::new()
    } else {
        let hidden = expand::hidden_fn(&func);
        quote!(#[allow(dead_code)] #hidden)
    };
    let cfgs = expand::cfg_attrs(&original.attrs);
    quote! {
        #error
        #stub

        #(#cfgs)*
        const _: () = {
            #hidden
            #impls
        };
    }
}

/// The input parameters, if the stub's `Input` can be written without new errors.
///
/// When the first parameter is not a context the user most likely forgot the
/// context, so every parameter counts as input.
fn stub_inputs<'a>(func: &Function<'a>) -> Option<Vec<&'a PatType>> {
    let sig = &func.original.sig;
    if !sig.generics.params.is_empty() || func.has_receiver() {
        return None;
    }
    let inputs = match func.context {
        Some(FnArg::Typed(context)) if !ast::is_named(&context.ty, func.kind.context()) => {
            let mut all = vec![context];
            all.extend(&func.inputs);
            all
        }
        _ => func.inputs.clone(),
    };
    let writable = inputs.iter().all(|input| !matches!(ast::ungroup(&input.ty), Type::Reference(_) | Type::ImplTrait(_)));
    writable.then_some(inputs)
}
