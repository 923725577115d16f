use weft::workflow;

#[workflow]
struct NotAFunction;

fn main() {}
