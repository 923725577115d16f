// Independent mistakes are all reported by one build.
use weft::activity;

#[activity(name = "", retries = 3)]
fn charge(cents: u64) -> u64 {
    cents
}

fn main() {}
