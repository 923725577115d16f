use weft::ActivityOptions;

fn main() {
    let _options = ActivityOptions { task_queue: None };
}
