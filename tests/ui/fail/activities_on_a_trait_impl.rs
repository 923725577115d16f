use weft::activities;

struct Payments;

trait Charge {
    fn charge(&self) -> u64;
}

#[activities]
impl Charge for Payments {
    fn charge(&self) -> u64 {
        1
    }
}

fn main() {}
