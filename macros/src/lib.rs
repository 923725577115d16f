//! weft's attribute macros (skeleton).
use proc_macro::TokenStream;

/// `#[activity]`
#[proc_macro_attribute]
pub fn activity(_args: TokenStream, item: TokenStream) -> TokenStream {
    item
}

/// `#[workflow]`
#[proc_macro_attribute]
pub fn workflow(_args: TokenStream, item: TokenStream) -> TokenStream {
    item
}
