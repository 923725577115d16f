use weft::activities;

struct Payments;

#[activities]
impl Payments {
    fn helper(&self) -> u64 {
        1
    }
}

fn main() {}
