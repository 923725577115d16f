use weft::ActivityOptions;

fn main() {
    // Options cannot be written without a start-to-close or schedule-to-close timeout.
    let _options = ActivityOptions::default();
}
