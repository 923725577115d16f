use weft::activity;

#[activity]
struct Charge;

fn main() {
    let _ = Charge;
}
