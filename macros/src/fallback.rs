//! What we emit when the input is wrong: the user's item, untouched, beside
//! the errors, so one mistake does not turn into a cascade of "cannot find".

use proc_macro2::TokenStream;
use quote::quote;

pub(crate) fn emit(item: TokenStream, error: syn::Error) -> TokenStream {
    let error = error.into_compile_error();
    quote! {
        #item
        #error
    }
}
