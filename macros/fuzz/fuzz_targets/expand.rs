//! The macros' parse, validate and expand on arbitrary token streams: no
//! input may panic, and an item that parses as the attribute's target must
//! expand to tokens that parse as Rust items (the user's code beside
//! `compile_error!`s, or the stubs).
//!
//! Input: bytes up to the first 0xFF are the attribute's arguments, the rest
//! is the item; either part that is not UTF-8 or not a token stream is skipped.
//! The macros' modules are compiled in here from `macros/src` (a proc-macro
//! crate cannot be linked into a fuzz binary); see `docs/decisions.md`.

#![no_main]
#![allow(dead_code, unreachable_pub)]

use std::str::FromStr;

use libfuzzer_sys::fuzz_target;
use proc_macro2::TokenStream;

#[path = "../../src/activities.rs"]
mod activities;
#[path = "../../src/args.rs"]
mod args;
#[path = "../../src/ast.rs"]
mod ast;
#[path = "../../src/determinism.rs"]
mod determinism;
#[path = "../../src/errors.rs"]
mod errors;
#[path = "../../src/expand.rs"]
mod expand;
#[path = "../../src/heartbeat.rs"]
mod heartbeat;
#[path = "../../src/options.rs"]
mod options;

fn tokens(bytes: &[u8]) -> Option<TokenStream> {
    TokenStream::from_str(std::str::from_utf8(bytes).ok()?).ok()
}

fn check_output(what: &str, item: &TokenStream, parses_as_target: bool, output: TokenStream) {
    if parses_as_target && let Err(e) = syn::parse2::<syn::File>(output.clone()) {
        panic!("{what} expanded {item} into tokens that are not Rust items ({e}):\n{output}");
    }
}

fuzz_target!(|data: &[u8]| {
    let (args, item) = match data.iter().position(|&b| b == 0xFF) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&[][..], data),
    };
    let (Some(args), Some(item)) = (tokens(args), tokens(item)) else { return };

    // The macros refuse an item nested too deeply for syn's recursive parser
    // (see `expand::MAX_NESTING`); the oracle below parses with syn too.
    let shallow = expand::too_deep("", &args, &item).is_none();
    let is_fn = shallow && syn::parse2::<syn::ItemFn>(item.clone()).is_ok();
    for site in [args::Site::Activity, args::Site::Workflow] {
        let output = expand::function(site, args.clone(), item.clone());
        check_output(&site.to_string(), &item, is_fn, output);
    }
    let is_impl = shallow && syn::parse2::<syn::ItemImpl>(item.clone()).is_ok();
    let output = activities::impl_block(args, item.clone());
    check_output("#[activities]", &item, is_impl, output);
});
