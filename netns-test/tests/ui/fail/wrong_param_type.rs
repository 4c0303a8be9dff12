use netns_test::{NetNs, netns_test};

#[netns_test]
fn by_value(ns: NetNs) {
    let _ = ns;
}

#[netns_test]
fn by_mut_ref(ns: &mut NetNs) {
    let _ = ns;
}

#[netns_test]
fn static_ref(ns: &'static NetNs) {
    let _ = ns;
}

#[netns_test]
fn not_a_netns(port: u16) {
    let _ = port;
}

fn main() {}
