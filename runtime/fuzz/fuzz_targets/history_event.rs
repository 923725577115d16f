//! The history JSON decoder: one event, and a whole history (an array).
//! A decoded event encodes again, and that encoding decodes to the same
//! encoding (no event is accepted that the writer could not write back).
#![no_main]

use libfuzzer_sys::fuzz_target;
use weft::history::HistoryEvent;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(event) = serde_json::from_str::<HistoryEvent>(text) {
        let _ = format!("{event} {event:?}");
        let json = serde_json::to_string(&event).expect("a decoded event encodes");
        let again: HistoryEvent = serde_json::from_str(&json).expect("an encoded event decodes");
        assert_eq!(serde_json::to_string(&again).expect("it encodes"), json);
    }
    if let Ok(events) = serde_json::from_str::<Vec<HistoryEvent>>(text) {
        for event in &events {
            let _ = event.to_string();
        }
    }
});
