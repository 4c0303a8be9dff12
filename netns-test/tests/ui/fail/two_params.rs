use netns_test::{NetNs, netns_test};

#[netns_test]
fn two(ns: &NetNs, port: u16) {
    let _ = (ns, port);
}

fn main() {}
