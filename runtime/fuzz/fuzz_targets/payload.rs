//! Payload decoding: a JSON text parsed as a `Payload` (as the store and the
//! history decoder do), then decoded into typed values. Errors are
//! `PayloadError`s; nothing panics.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use weft::PayloadError;
use weft::history::Payload;

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
enum Shape {
    Unit,
    Point { x: f64, y: f64 },
    Tagged(String, Option<i64>),
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Order {
    id: u64,
    name: String,
    price: f32,
    items: Vec<(String, u32)>,
    notes: Option<Box<Order>>,
    shape: Shape,
    extra: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    bytes: Vec<u8>,
    flag: bool,
    ch: char,
    small: i8,
    wide: u128,
}

fn decode_all(payload: &Payload) {
    let _ = format!("{payload:?} {payload} {}", payload.len());
    let value: Result<serde_json::Value, PayloadError> = payload.decode();
    if let Ok(value) = &value {
        // A decoded value encodes again (JSON has no NaN to smuggle in).
        serde_json::to_string(value).expect("a decoded value encodes");
    }
    let _: Result<Order, PayloadError> = payload.decode();
    let _: Result<Shape, PayloadError> = payload.decode();
    let _: Result<(String, u32, Option<f64>), PayloadError> = payload.decode();
    let _: Result<Vec<String>, PayloadError> = payload.decode();
    let _: Result<(), PayloadError> = payload.decode();
    let _: Result<std::time::Duration, PayloadError> = payload.decode();
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match weft::__fuzz::payload_from_json(text.to_owned()) {
        Ok(payload) => decode_all(&payload),
        Err(PayloadError::Decode(_)) => {}
        Err(other) => panic!("an unexpected error parsing a payload: {other:?}"),
    }
    if let Ok(payload) = serde_json::from_str::<Payload>(text) {
        decode_all(&payload);
    }
});
