// A non-test build leaves out the generated #[test] fns, the only users of
// `NetNs` here.
#![allow(unused_imports)]

use netns_test::{NetNs, netns_test};

#[netns_test]
fn string_error() -> Result<(), String> {
    let n: u32 = "42".parse().map_err(|e| format!("{e}"))?;
    assert_eq!(n, 42);
    Ok(())
}

#[netns_test]
fn boxed_error(ns: &NetNs) -> Result<(), Box<dyn std::error::Error>> {
    let _ = ns;
    if false {
        return Err("early".into());
    }
    Ok(())
}

fn main() {}
