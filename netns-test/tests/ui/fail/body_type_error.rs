// Outside a test build (a doctest, `cargo check` without `--test`) the
// `#[test]` fn is removed, but the body is still type-checked: an example
// in the docs cannot hide a wrong body.
use netns_test::netns_test;

#[netns_test]
fn wrong_body() {
    let x: u32 = "str";
    let _ = x;
}

fn main() {}
