//! What to emit when expansion failed: the error, plus a stub as close to the
//! real expansion as can be built, so one mistake does not cascade into
//! "cannot find value `your_activity`" errors at every call site.
//!
//! The stub keeps the function's name, its trait impls when their types are
//! known (with a `run` that never completes), and the user's body, renamed
//! and unused, so that errors inside it still show in the same build.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::{FnArg, PatType, Type};

use crate::args;
use crate::ast::{self, Function, Kind, Output};
use crate::errors::Errors;
use crate::expand;

/// The `compile_error!` for `error`, next to a best-effort stub for `item`.
pub(crate) fn expand(kind: Kind, args: &TokenStream, item: &TokenStream, error: syn::Error) -> TokenStream {
    let error = error.into_compile_error();
    // Not a function, or a method (`self`: we are inside an `impl` block, where
    // a struct cannot go): give the item back untouched.
    let original = match ast::parse_item(kind, item) {
        Ok(original) if original.sig.receiver().is_none() => original,
        _ => return quote!(#error #item),
    };
    let func = Function::from_syn(kind, &original);
    let args = args::parse(kind, args.clone(), &mut Errors::default());
    let krate = args.crate_path();
    let private = quote!(#krate::__private);

    let stub = expand::stub_struct(&func);
    let impls = match (stub_output(&func), stub_inputs(&func)) {
        (Some(output), Some(inputs)) => {
            let input = expand::input_type(&func, &inputs);
            let name = expand::registered_name(&func, &args);
            let body = quote! {
                let _ = (__weft_ctx, __weft_input);
                ::core::future::pending()
            };
            expand::trait_impls(&func, &private, &name, &input, &output, &body)
        }
        _ => TokenStream::new(),
    };
    // `...` outside an `extern` block would only add an error about our renaming.
    let hidden = if original.sig.variadic.is_some() {
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
/// The first parameter is skipped if it is a context (of either attribute);
/// if it is not, the user most likely forgot the context, so every parameter
/// counts as input.
fn stub_inputs<'a>(func: &Function<'a>) -> Option<Vec<&'a PatType>> {
    if !func.original.sig.generics.params.is_empty() {
        return None;
    }
    let mut inputs: Vec<&PatType> = func
        .original
        .sig
        .inputs
        .iter()
        .filter_map(|arg| match arg {
            FnArg::Typed(typed) => Some(typed),
            FnArg::Receiver(_) => None,
        })
        .collect();
    if inputs.first().is_some_and(|first| ast::context_kind(&first.ty).is_some()) {
        inputs.remove(0);
    }
    let writable =
        inputs.iter().all(|input| !matches!(ast::ungroup(&input.ty), Type::Reference(_) | Type::ImplTrait(_)));
    writable.then_some(inputs)
}

/// The stub's `Output`: the declared `T`, or what the user most likely meant
/// (`-> u64` for `Result<u64, _>`, no return type for `()`).
fn stub_output(func: &Function<'_>) -> Option<TokenStream> {
    if let Some(ok) = func.output_type() {
        return Some(ok.to_token_stream());
    }
    match func.output {
        Output::Missing => Some(quote!(())),
        Output::WorkflowResult { ok } => Some(ok.to_token_stream()),
        Output::Other(ty)
            if !ast::last_ident_ends_with(ty, "Result")
                && !matches!(ast::ungroup(ty), Type::Reference(_) | Type::ImplTrait(_)) =>
        {
            Some(ty.to_token_stream())
        }
        Output::Other(_) | Output::Result { .. } => None,
    }
}
