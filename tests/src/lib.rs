//! Integration tests live in `tests/`; compile-fail cases in `ui/`.
