// `ActivityOptions` has no constructor without a required timeout: use
// `ActivityOptions::start_to_close(d)` or `ActivityOptions::schedule_to_close(d)`.
use weft::ActivityOptions;

fn main() {
    let _ = ActivityOptions::default();
}
