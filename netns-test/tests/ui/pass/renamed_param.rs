// The parameter is recognised by its type, however it is spelled.
#![allow(unused_imports, dead_code)]

use netns_test::NetNs as Ns;
use netns_test::netns_test;

mod alias {
    pub type Namespace = netns_test::NetNs;
}

#[netns_test]
fn renamed(ns: &Ns) {
    let _ = ns.cookie();
}

#[netns_test]
fn aliased(ns: &alias::Namespace) -> Result<(), netns_test::Error> {
    ns.cookie().map(drop)
}

fn main() {}
