//! The macros' compile-time errors, each pinned by a `.stderr` file, and the
//! accepted forms. Regenerate after a rustc upgrade with `TRYBUILD=overwrite`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/fail/*.rs");
    t.pass("ui/pass/*.rs");
}
