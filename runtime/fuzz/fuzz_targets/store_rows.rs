//! The store's row decoding: fuzzed cells written into a real (in-memory)
//! weft schema, read back through every read function and claim of the
//! store and the queries of the client and the `weft` command. Any read may
//! fail, with a typed error; none may panic. The input format is `weft::__fuzz::store_rows`'s.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = weft::__fuzz::store_rows(data);
});
