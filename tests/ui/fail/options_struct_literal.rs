// Nor can `ActivityOptions` be written as a struct literal: its fields are private.
use weft::ActivityOptions;

fn main() {
    let _ = ActivityOptions { task_queue: None };
}
