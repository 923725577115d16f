use weft::workflow;

#[derive(Default)]
struct Counter {
    count: u32,
}

#[workflow]
impl Counter {
    #[query]
    fn count(&self) -> u32 {
        self.count
    }
}

fn main() {}
