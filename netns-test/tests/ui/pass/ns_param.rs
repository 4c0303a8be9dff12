// A non-test build leaves out the generated #[test] fns, the only users of
// `NetNs` here.
#![allow(unused_imports)]

use netns_test::{NetNs, netns_test};

#[netns_test]
fn named(ns: &NetNs) {
    let _ = ns;
}

#[netns_test]
fn ignored(_: &NetNs) {}

#[netns_test]
fn full_path(ns: &netns_test::NetNs) {
    let _ = ns;
}

#[netns_test]
fn anonymous_lifetime(ns: &'_ NetNs) {
    let _ = ns;
}

fn main() {}
