//! The macros' compile-time contract: `ui/pass` must build (and run), each
//! `ui/fail` case must fail with the `.stderr` beside it.
//!
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite` after a rustc
//! upgrade, and read the diff: only the rustc type-error cases should change.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/fail/*.rs");
    t.pass("ui/pass/*.rs");
}
