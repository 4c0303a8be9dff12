use netns_test::netns_test;

/// Doc comments stay on the test.
#[netns_test]
#[should_panic(expected = "boom")]
fn panics() {
    panic!("boom");
}

#[netns_test]
#[ignore = "slow"]
fn ignored() {}

#[netns_test]
#[allow(unused_variables)]
fn allowed() {
    let unused = 1;
}

#[netns_test]
#[cfg(any())]
fn configured_out() {
    this_does_not_exist();
}

fn main() {}
