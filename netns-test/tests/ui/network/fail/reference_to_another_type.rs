// A reference to anything but the test's namespace or network: the
// compiler says which types the parameter may have.
use netns_test::netns_test;

#[netns_test]
fn a_reference_to_something_else(name: &String) {
    let _ = name;
}

fn main() {}
