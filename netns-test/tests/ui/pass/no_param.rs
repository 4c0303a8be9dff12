use netns_test::netns_test;

#[netns_test]
fn plain() {
    assert_eq!(1 + 1, 2);
}

#[netns_test]
fn unit_return() -> () {}

#[netns_test]
pub fn public() {}

fn main() {}
