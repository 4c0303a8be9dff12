use netns_test::{NetNs, netns_test};

#[netns_test]
fn destructured(&ns: &NetNs) {
    let _ = ns;
}

fn main() {}
